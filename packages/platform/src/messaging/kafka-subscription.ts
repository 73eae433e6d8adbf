import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type BaseOptions,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { Logger } from 'pino';
import { Utf8Decoding } from './delivery-decoding.ts';
import { backoffDelay, sleep } from './sleep.ts';
import type { Delivery, SubscribeOptions } from './transport.ts';

/**
 * One member of a Kafka consumer group: the consuming half of the Kafka adapter.
 *
 * Messages are handled one at a time, in partition order, and a message's offset is committed
 * only after its handler resolved. Offsets are committed in batches: when nothing more is
 * waiting, every COMMIT_INTERVAL_MS while messages keep coming, and before a stream is replaced
 * or closed. A round trip to the broker per message capped a member at a few hundred messages a
 * second; a crash now replays at most the uncommitted batch, which the inbox absorbs. The stream of @platformatic/kafka is used with autocommit off
 * and read through a small pull queue, so nothing is taken from the stream before the previous
 * message is done:
 *
 * - A handler that rejects gets the same message again after a backoff, in place: the message
 *   stays in hand, nothing after it (of any partition) is handed over, nothing is committed.
 *   Before each new attempt the member checks it still owns the partition; if a rebalance took
 *   it away, the message is dropped uncommitted and the new owner reads it from the committed
 *   offset.
 * - A rebalance (the library rejoins by itself when a heartbeat says so) bumps `joinEpoch`. The
 *   stream opened in the previous epoch may hold messages fetched for partitions this member no
 *   longer owns, and the library's offset bookkeeping of such a stream is not reliable for
 *   partitions that come back later. So the member never reads an old stream across a
 *   rebalance: it finishes the message in hand, waits until the group is stable, opens a fresh
 *   stream (mode COMMITTED: it starts from the group's committed offsets of the new assignment)
 *   and closes the old one. Opening the new stream before closing the old keeps the topic
 *   tracked, so the swap itself does not trigger yet another rebalance.
 * - A failing stream or client (broker gone, a rejoin that failed) closes the whole consumer
 *   and starts a new one after a backoff, again from the committed offsets.
 *
 * The result is at-least-once delivery: a message can be handled twice (the one in hand while
 * a rebalance moves its partition, or one handled whose commit was lost), never skipped, and a
 * member commits only offsets of messages it handled itself, so a commit never moves a group
 * past an unhandled message. The service's inbox turns this into exactly-once effect.
 */
export type KafkaSubscriptionSettings = {
  /** Connection options shared by every client of the transport (brokers, timeouts, retries). */
  client: BaseOptions;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** Base of the backoff between attempts at one message whose handler rejected. */
  retryBaseDelayMs: number;
  /** Base of the backoff between attempts to (re)start the consumer after a failure. */
  restartBaseDelayMs: number;
  /** How long a fetch may wait on the broker for new data; bounds how long closing a stream takes. */
  maxWaitTimeMs: number;
  logger: Logger;
};

/**
 * Messages are read as bytes (no deserializers) and decoded in `deliveryOf`: the library's string
 * deserializers would replace bytes that are not UTF-8 without a word, and a deserializer that
 * threw would fail the stream on the same message again after every restart.
 */
type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type RawStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type RawConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;

/** Messages buffered in the pull queue before the stream is paused. */
const QUEUE_HIGH = 64;
/** The longest a handled message waits for its offset to be committed while messages keep coming. */
const COMMIT_INTERVAL_MS = 100;
const QUEUE_LOW = 16;
const CLOSE_TIMEOUT_MS = 10_000;

/** A level-triggered wake-up: `wait` returns at once if something happened since the last wait. */
class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.waiter === done) self.waiter = undefined;
        self.pending = false;
        resolve();
      }
      this.waiter = done;
    });
  }
}

/** Pulls messages off a stream one at a time, pausing the stream while enough are buffered. */
class StreamReader {
  readonly stream: RawStream;
  /** The consumer's join epoch when the stream was opened; a later rebalance retires the stream. */
  readonly epoch: number;
  failure: Error | undefined;
  ended = false;
  private readonly queue: RawMessage[] = [];

  constructor(stream: RawStream, epoch: number, wakeup: Wakeup) {
    this.stream = stream;
    this.epoch = epoch;
    stream.on('data', (message) => {
      this.queue.push(message);
      if (this.queue.length >= QUEUE_HIGH && !stream.isPaused()) stream.pause();
      wakeup.notify();
    });
    stream.on('error', (error) => {
      this.failure ??= error;
      wakeup.notify();
    });
    const end = () => {
      this.ended = true;
      wakeup.notify();
    };
    stream.on('end', end);
    stream.on('close', end);
  }

  take(): RawMessage | undefined {
    const message = this.queue.shift();
    if (this.queue.length <= QUEUE_LOW && this.stream.isPaused() && !this.ended && !this.failure) this.stream.resume();
    return message;
  }

  async close(logger: Logger): Promise<void> {
    this.queue.length = 0;
    if (this.stream.destroyed || this.stream.closed) return;
    try {
      await withTimeout(this.stream.close(), CLOSE_TIMEOUT_MS, 'closing the message stream');
    } catch (error) {
      logger.warn({ err: error }, 'message stream did not close cleanly; destroying it');
      this.stream.destroy();
    }
  }
}

class Stopped extends Error {}

export class KafkaSubscription {
  private readonly options: SubscribeOptions;
  private readonly settings: KafkaSubscriptionSettings;
  private readonly logger: Logger;
  private readonly abort = new AbortController();
  private readonly wakeup = new Wakeup();
  /** Per partition, the offset after the last message this member handled (never handled twice by one member). */
  private readonly position = new Map<number, bigint>();
  /** Per partition, the last message handled whose offset is not committed yet. */
  private readonly uncommitted = new Map<number, RawMessage>();
  private committedAt = Date.now();
  private consumer: RawConsumer | undefined;
  private joinEpoch = 0;
  private fault: Error | undefined;
  private phase: 'starting' | 'consuming' | 'handling' | 'closing' = 'starting';
  private stopping = false;
  private running: Promise<void> | undefined;
  private readonly firstJoin: Promise<void>;
  private joined: () => void = () => {};
  private instance = 0;

  constructor(options: SubscribeOptions, settings: KafkaSubscriptionSettings) {
    this.options = options;
    this.settings = settings;
    this.logger = settings.logger.child({ group: options.group, topic: options.topic });
    this.firstJoin = new Promise((resolve) => {
      this.joined = resolve;
    });
  }

  start(): void {
    this.running = this.run();
  }

  /** Resolves once the member joined its group for the first time, or after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    const giveUp = new AbortController();
    const onStop = () => giveUp.abort();
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    try {
      await Promise.race([this.firstJoin, sleep(timeoutMs, giveUp.signal)]);
    } finally {
      giveUp.abort();
      this.abort.signal.removeEventListener('abort', onStop);
    }
  }

  /** Stops fetching, waits for the message in hand (and its commit), then leaves the group. */
  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.abort.abort();
      this.wakeup.notify();
      // A member still joining (perhaps retrying against an unreachable broker) has nothing in
      // hand: closing its consumer now makes the join give up instead of running out its retries.
      if (this.phase === 'starting') void this.closeConsumer();
    }
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.consumeOnce(() => {
          failures = 0;
        });
      } catch (error) {
        if (error instanceof Stopped) {
          // Asked to stop: nothing to report.
        } else if (this.stopping) {
          this.logger.warn({ err: error }, 'Kafka consumer failed while stopping; the last message may be delivered again');
        } else {
          failures += 1;
          this.logger.warn({ err: error, failures }, 'Kafka consumer failed; restarting it from the committed offsets');
        }
      } finally {
        await this.closeConsumer();
      }
      if (!this.stopping) await sleep(backoffDelay(failures, this.settings.restartBaseDelayMs, 10_000), this.abort.signal);
    }
  }

  private createConsumer(): RawConsumer {
    const { settings, options } = this;
    this.instance += 1;
    const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...settings.client,
      clientId: `${settings.client.clientId}-${this.instance}`,
      groupId: options.group,
      autocommit: false,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: settings.heartbeatIntervalMs,
      rebalanceTimeout: settings.rebalanceTimeoutMs,
      maxWaitTime: settings.maxWaitTimeMs,
      highWaterMark: 256,
    });
    this.fault = undefined;
    // An 'error' event without a listener would crash the process (a rejoin that failed emits one).
    consumer.on('error', (error: Error) => {
      if (this.consumer !== consumer || consumer.closed) return;
      this.fault ??= error;
      this.wakeup.notify();
    });
    consumer.on('consumer:group:join', (payload) => {
      if (this.consumer !== consumer) return;
      this.joinEpoch += 1;
      this.logger.debug({ generation: payload.generationId, assignments: payload.assignments }, 'joined the consumer group');
      this.wakeup.notify();
    });
    consumer.on('consumer:group:rebalance', () => this.wakeup.notify());
    consumer.on('consumer:heartbeat:error', () => this.wakeup.notify());
    this.consumer = consumer;
    return consumer;
  }

  private async closeConsumer(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || consumer.closed) return;
    try {
      // Leaves the group, so the other members take over its partitions at once.
      await withTimeout(consumer.close(true), CLOSE_TIMEOUT_MS, 'closing the Kafka consumer');
    } catch (error) {
      this.logger.warn({ err: error }, 'Kafka consumer did not close cleanly');
    }
  }

  private async openReader(consumer: RawConsumer): Promise<StreamReader> {
    const stream = await consumer.consume({
      topics: [this.options.topic],
      mode: MessagesStreamModes.COMMITTED,
      // A group that never committed starts at the beginning: nothing published before the
      // service's first start is missed.
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    // The epoch is read after the join that consume() may have run: the stream was created, and
    // reads its offsets, under that assignment.
    return new StreamReader(stream, this.joinEpoch, this.wakeup);
  }

  private checkInterrupts(): void {
    if (this.stopping) throw new Stopped();
    if (this.fault) throw this.fault;
  }

  /** Whether the reader's stream belongs to the current, settled assignment of this member. */
  private isCurrent(consumer: RawConsumer, reader: StreamReader): boolean {
    return consumer.isActive() && reader.epoch === this.joinEpoch;
  }

  private owns(consumer: RawConsumer, partition: number): boolean {
    const assignment = consumer.assignments?.find((a) => a.topic === this.options.topic);
    return assignment?.partitions.includes(partition) ?? false;
  }

  /** Waits for the group to settle after a rebalance, then replaces the stream with a fresh one. */
  private async reopen(consumer: RawConsumer, old: StreamReader): Promise<StreamReader> {
    await this.commitHandled();
    const deadline = Date.now() + this.settings.rebalanceTimeoutMs + this.settings.sessionTimeoutMs;
    while (!consumer.isActive()) {
      this.checkInterrupts();
      if (Date.now() > deadline) throw new Error('the consumer group did not settle after a rebalance');
      await this.wakeup.wait(100);
    }
    this.checkInterrupts();
    const reader = await this.openReader(consumer);
    await old.close(this.logger);
    this.logger.debug({ assignments: consumer.assignments }, 'consuming the new assignment');
    return reader;
  }

  private async consumeOnce(onJoined: () => void): Promise<void> {
    this.phase = 'starting';
    const consumer = this.createConsumer();
    this.checkInterrupts();
    let reader = await this.openReader(consumer);
    onJoined();
    this.joined();
    this.phase = 'consuming';
    this.logger.info({ assignments: consumer.assignments }, 'consuming');
    try {
      for (;;) {
        this.checkInterrupts();
        if (!this.isCurrent(consumer, reader)) {
          reader = await this.reopen(consumer, reader);
          continue;
        }
        const message = reader.take();
        if (!message) {
          if (reader.failure) throw reader.failure;
          if (reader.ended) throw new Error('the message stream ended');
          if (this.uncommitted.size > 0) {
            // Caught up: commit what was handled, then look at the queue again before waiting.
            // Committing waits on the same wake-up as new messages do and may take theirs, so
            // waiting right after it could sleep out the whole second with messages queued.
            await this.commitHandled();
            continue;
          }
          await this.wakeup.wait(1_000);
          continue;
        }
        if (!this.owns(consumer, message.partition)) {
          // Fetched for a partition this member no longer owns: its new owner delivers it.
          reader = await this.reopen(consumer, reader);
          continue;
        }
        const position = this.position.get(message.partition);
        if (position !== undefined && message.offset < position) continue;
        this.phase = 'handling';
        const outcome = await this.deliver(consumer, reader, message);
        this.phase = 'consuming';
        if (outcome === 'abandoned') reader = await this.reopen(consumer, reader);
        else if (outcome === 'stopped') return;
      }
    } finally {
      this.phase = 'closing';
      // Keep what was handled; if the commit fails those messages are delivered again (and deduplicated).
      await this.commitHandled().catch((error: unknown) => {
        this.uncommitted.clear();
        this.logger.warn({ err: error }, 'could not commit the last handled offsets; they will be delivered again');
      });
      await reader.close(this.logger);
    }
  }

  /**
   * Hands one message to the handler until it resolves, then commits its offset. Returns
   * 'abandoned' when a rebalance took the partition away between attempts, and 'stopped' when
   * the subscription stops before the handler succeeded (the message stays uncommitted).
   */
  private async deliver(
    consumer: RawConsumer,
    reader: StreamReader,
    message: RawMessage,
  ): Promise<'done' | 'abandoned' | 'stopped'> {
    const delivery = deliveryOf(message);
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        // The messages before this one are done: commit them before pausing on this one.
        if (attempt === 1) await this.commitHandled();
        await sleep(backoffDelay(attempt - 1, this.settings.retryBaseDelayMs), this.abort.signal);
        if (this.stopping) return 'stopped';
        if (this.fault) throw this.fault;
        if (!this.isCurrent(consumer, reader) || !this.owns(consumer, message.partition)) {
          this.logger.info({ partition: message.partition, offset: delivery.offset }, 'partition reassigned while retrying a message');
          return 'abandoned';
        }
      }
      try {
        await this.options.handle(delivery);
        break;
      } catch (error) {
        // The handler owns retries and dead-lettering; reaching here means its own store failed.
        // Leave the offset where it is and hand the same message over again after a pause.
        this.logger.error(
          { err: error, partition: message.partition, offset: delivery.offset, attempt },
          'event handling failed; will redeliver',
        );
      }
    }
    this.uncommitted.set(message.partition, message);
    this.position.set(message.partition, message.offset + 1n);
    if (Date.now() - this.committedAt >= COMMIT_INTERVAL_MS) await this.commitHandled();
    return this.stopping ? 'stopped' : 'done';
  }

  /** Commits, per partition, the offset after the last message handled. */
  private async commitHandled(): Promise<void> {
    this.committedAt = Date.now();
    for (const [partition, message] of [...this.uncommitted]) {
      await this.commit(message);
      // A later message of the partition may have been handled meanwhile: keep that one.
      if (this.uncommitted.get(partition) === message) this.uncommitted.delete(partition);
    }
  }

  /**
   * Commits the offset after `message`. The library queues the commit while the member rejoins
   * its group and sends it once the join completed, so the wait is bounded here: a consumer that
   * fails meanwhile leaves the message uncommitted (it is delivered again, and deduplicated).
   */
  private async commit(message: RawMessage): Promise<void> {
    const committed = Promise.resolve(message.commit());
    committed.catch(() => {});
    const limit = this.settings.rebalanceTimeoutMs + this.settings.sessionTimeoutMs;
    const deadline = Date.now() + limit;
    let done = false;
    let failure: unknown;
    committed.then(
      () => {
        done = true;
        this.wakeup.notify();
      },
      (error: unknown) => {
        done = true;
        failure = error ?? new Error('commit failed');
        this.wakeup.notify();
      },
    );
    while (!done) {
      if (this.fault) throw this.fault;
      if (Date.now() > deadline) throw new Error(`committing offset ${message.offset} timed out after ${limit} ms`);
      await this.wakeup.wait(250);
    }
    if (failure) throw failure;
  }
}

/**
 * The message as the handler gets it, its bytes decoded as UTF-8 (delivery-decoding.ts). A header
 * or key without a value (possible in Kafka) becomes ''.
 */
function deliveryOf(message: RawMessage): Delivery {
  const decoding = new Utf8Decoding();
  const headers: Record<string, string> = {};
  for (const [nameBytes, valueBytes] of message.headers) {
    if (nameBytes === undefined) continue;
    const name = decoding.text(nameBytes, 'header name');
    headers[name] = decoding.text(valueBytes, 'header', name);
  }
  return decoding.deliver({
    topic: message.topic,
    key: decoding.text(message.key, 'key'),
    headers,
    value: decoding.text(message.value, 'value'),
    partition: message.partition,
    offset: message.offset.toString(),
  });
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
