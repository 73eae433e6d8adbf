import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  type BaseOptions,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { Utf8Decoding } from './delivery-decoding.ts';
import { watchTlsFailures } from './kafka-tls.ts';
import { batchesOf, type BatchHandler, type Delivery, type SubscribeOptions } from './transport.ts';

/**
 * One member of a Kafka consumer group: the consuming half of the Kafka adapter.
 *
 * Each partition is a lane of its own: what the stream fetched for a partition is handed over
 * as one batch (consecutive messages, at most `maxBatch`), and the next batch of that partition
 * only once the handler resolved; for a batch handler the partitions' lanes run side by side, so
 * a slow or failing partition holds up no other (a per-message handler gets one message at a
 * time, whatever its partition). The stream of @platformatic/kafka is read with autocommit off
 * into per-partition queues, and paused while enough is waiting.
 *
 * - Where a partition starts: with `resumeFrom`, where the subscriber's own database says (the
 *   service commits each batch's position with its effects), else the group's committed offset,
 *   else the topic's beginning, so nothing published before the service first started is
 *   missed. The committed offset is then a mark of progress for lag and alerts, committed for
 *   every partition in one request at most every 250 ms; without `resumeFrom` it is what a
 *   restart resumes from, committed as soon as the member has caught up.
 * - A handler that rejects gets the same batch again after a backoff, in place: its partition's
 *   lane waits, the others go on. Before each new attempt the member checks it still owns the
 *   partition; if a rebalance took it away, the batch is dropped and the new owner resumes it.
 * - A rebalance (the library rejoins by itself when a heartbeat says so) bumps `joinEpoch`. The
 *   stream opened in the previous epoch may hold messages fetched for partitions this member no
 *   longer owns, and the library's offset bookkeeping of such a stream is not reliable for
 *   partitions that come back later. So the member never reads an old stream across a
 *   rebalance: it lets the batches in hand finish, waits until the group is stable, opens a
 *   fresh stream for the new assignment and closes the old one. Opening the new stream before
 *   closing the old keeps the topic tracked, so the swap itself does not trigger yet another
 *   rebalance.
 * - A failing stream or client (broker gone, a rejoin that failed) closes the whole consumer
 *   and starts a new one after a backoff, again from the same starting points.
 *
 * The result is at-least-once delivery: a batch can be handled twice (the one in hand while a
 * rebalance moves its partition, or one handled whose position was not kept), never skipped, and
 * a member commits only offsets of messages it handled itself, so a commit never moves a group
 * past an unhandled message. The service's inbox and stored positions make the effect exactly once.
 */
export type KafkaSubscriptionSettings = {
  /** Connection options shared by every client of the transport (brokers, timeouts, retries, TLS). */
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

/** Messages buffered in the partitions' queues before the stream is paused, and resumed again. */
const QUEUE_HIGH = 512;
const QUEUE_LOW = 128;
/**
 * The longest a handled batch waits for its offset to be committed: while messages keep coming,
 * and, when the subscriber keeps its own positions, also when caught up (the commit is a mark of
 * progress then, not worth a request per batch).
 */
const COMMIT_INTERVAL_MS = 100;
const PROGRESS_COMMIT_INTERVAL_MS = 250;
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

/** Pulls messages off a stream into one queue per partition, pausing the stream while enough are buffered. */
class StreamReader {
  readonly stream: RawStream;
  /** The consumer's join epoch when the stream was opened; a later rebalance retires the stream. */
  readonly epoch: number;
  failure: Error | undefined;
  ended = false;
  private readonly queues = new Map<number, RawMessage[]>();
  private queued = 0;

  constructor(stream: RawStream, epoch: number, wakeup: Wakeup) {
    this.stream = stream;
    this.epoch = epoch;
    stream.on('data', (message) => {
      let queue = this.queues.get(message.partition);
      if (!queue) this.queues.set(message.partition, (queue = []));
      queue.push(message);
      this.queued += 1;
      if (this.queued >= QUEUE_HIGH && !stream.isPaused()) stream.pause();
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

  get empty(): boolean {
    return this.queued === 0;
  }

  /** The partitions with messages waiting. */
  waiting(): number[] {
    return [...this.queues].filter(([, queue]) => queue.length > 0).map(([partition]) => partition);
  }

  /** Up to `max` of a partition's messages, in order. */
  take(partition: number, max: number): RawMessage[] {
    const messages = this.queues.get(partition)?.splice(0, max) ?? [];
    this.queued -= messages.length;
    if (this.queued <= QUEUE_LOW && this.stream.isPaused() && !this.ended && !this.failure) this.stream.resume();
    return messages;
  }

  async close(logger: Logger): Promise<void> {
    this.queues.clear();
    this.queued = 0;
    if (this.stream.destroyed || this.stream.closed) return;
    try {
      await withTimeout(this.stream.close(), CLOSE_TIMEOUT_MS, 'closing the message stream');
    } catch (error) {
      logger.warn({ err: error }, 'message stream did not close cleanly; destroying it');
      this.stream.destroy();
    }
  }
}

/** What a partition's lane did with its batch. */
type LaneOutcome = 'done' | 'abandoned' | 'stopped';

/** The lanes running, by partition. */
type Lanes = Map<number, Promise<LaneOutcome>>;

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
  /** Told when the consumer fails, so a commit waiting on it gives up at once. */
  private readonly faultListeners = new Set<(error: Error) => void>();
  /** Set by a lane that found its partition gone: the stream is replaced once every lane is done. */
  private abandoned = false;
  private readonly handleBatch: BatchHandler;
  private readonly maxBatch: number;
  private readonly commitIntervalMs: number;
  private phase: 'starting' | 'consuming' | 'closing' = 'starting';
  private stopping = false;
  private running: Promise<void> | undefined;
  private readonly firstJoin: Promise<void>;
  private joined: () => void = () => {};
  private instance = 0;

  constructor(options: SubscribeOptions, settings: KafkaSubscriptionSettings) {
    this.options = options;
    this.settings = settings;
    this.logger = settings.logger.child({ group: options.group, topic: options.topic });
    ({ handleBatch: this.handleBatch, maxBatch: this.maxBatch } = batchesOf(options));
    this.commitIntervalMs = options.resumeFrom ? PROGRESS_COMMIT_INTERVAL_MS : COMMIT_INTERVAL_MS;
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
      for (const listener of this.faultListeners) listener(this.fault);
      this.wakeup.notify();
    });
    // Seen only on the connection (the failed request says "Connection closed"): worth a line.
    if (settings.client.tls) watchTlsFailures(consumer, (explanation, error) => this.logger.warn({ err: error }, `Kafka TLS: ${explanation}`));
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
    // A member that has joined knows its partitions, and so where the subscriber resumes them.
    const offsets = this.options.resumeFrom && consumer.memberId ? await this.startingOffsets(consumer) : undefined;
    const stream = await consumer.consume({
      topics: [this.options.topic],
      ...(offsets ? { mode: MessagesStreamModes.MANUAL, offsets } : { mode: MessagesStreamModes.COMMITTED }),
      // A partition with no position and no committed offset starts at the beginning: nothing
      // published before the service's first start is missed.
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    // The epoch is read after the join that consume() may have run: the stream was created, and
    // reads its offsets, under that assignment.
    const reader = new StreamReader(stream, this.joinEpoch, this.wakeup);
    if (offsets || !this.options.resumeFrom) return reader;
    // The first join happened inside consume(): now that the partitions are known, start them
    // again where the subscriber's database says (the new stream first, so the topic stays tracked).
    const resumed = await this.openReader(consumer);
    await reader.close(this.logger);
    return resumed;
  }

  /**
   * Where each partition of this member's assignment starts: the subscriber's stored position,
   * else the group's committed offset (a service upgraded from a version that kept no positions),
   * else nowhere named, which the stream's fallback turns into the beginning.
   */
  private async startingOffsets(consumer: RawConsumer): Promise<Array<{ topic: string; partition: number; offset: bigint }>> {
    const { topic } = this.options;
    const partitions = consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? [];
    const stored = await this.options.resumeFrom!(partitions);
    const missing = partitions.filter((p) => !stored.has(p));
    const committed = new Map<number, bigint>();
    if (missing.length > 0) {
      const listed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: missing }] });
      for (const partition of missing) {
        const offset = listed.get(topic)?.[partition];
        if (offset !== undefined && offset >= 0n) committed.set(partition, offset);
      }
    }
    return partitions.flatMap((partition) => {
      const offset = stored.get(partition) ?? committed.get(partition);
      return offset === undefined ? [] : [{ topic, partition, offset }];
    });
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

  /**
   * One consumer's life: hands each partition's fetched messages to a lane of its own, replaces
   * the stream after a rebalance, commits what was handled. Returns only by throwing (stopped,
   * a fault, the stream failed or ended); run() then starts a new consumer.
   */
  private async consumeOnce(onJoined: () => void): Promise<void> {
    const { consumer, reader: firstReader } = await this.startConsumer(onJoined);
    let reader = firstReader;
    const lanes: Lanes = new Map();
    try {
      for (;;) {
        this.checkInterrupts();
        if (this.abandoned || !this.isCurrent(consumer, reader)) {
          reader = await this.replaceStream(consumer, reader, lanes);
          continue;
        }
        this.startLanes(consumer, reader, lanes);
        if (this.abandoned) continue;
        await this.commitOrWait(reader, lanes);
      }
    } finally {
      await this.finishConsuming(reader, lanes);
    }
  }

  /** Creates the consumer and opens its first stream, which joins the group: the member is then ready. */
  private async startConsumer(onJoined: () => void): Promise<{ consumer: RawConsumer; reader: StreamReader }> {
    this.phase = 'starting';
    const consumer = this.createConsumer();
    this.checkInterrupts();
    const reader = await this.openReader(consumer);
    onJoined();
    this.joined();
    this.phase = 'consuming';
    this.logger.info({ assignments: consumer.assignments }, 'consuming');
    return { consumer, reader };
  }

  /** The batches in hand finish (or see the rebalance between attempts) before the stream is swapped. */
  private async replaceStream(consumer: RawConsumer, reader: StreamReader, lanes: Lanes): Promise<StreamReader> {
    await Promise.allSettled(lanes.values());
    this.checkInterrupts();
    this.abandoned = false;
    return this.reopen(consumer, reader);
  }

  /**
   * Starts a lane for each partition with messages waiting and no lane running. Stops at a
   * partition this member no longer owns, and sets `abandoned`: the stream is then replaced.
   */
  private startLanes(consumer: RawConsumer, reader: StreamReader, lanes: Lanes): void {
    for (const partition of reader.waiting()) {
      // A per-message handler is handed one message at a time, as it was written for; a
      // batch handler gets its partitions side by side.
      if (lanes.has(partition) || (!this.options.handleBatch && lanes.size > 0)) continue;
      if (!this.owns(consumer, partition)) {
        // Fetched for a partition this member no longer owns: its new owner delivers it.
        this.abandoned = true;
        return;
      }
      const position = this.position.get(partition);
      const batch = reader.take(partition, this.maxBatch).filter((m) => position === undefined || m.offset >= position);
      if (batch.length > 0) lanes.set(partition, this.trackedLane(consumer, reader, partition, batch, lanes));
    }
  }

  /**
   * The lane, which leaves `lanes` and wakes the loop when it ends. A lane that throws (its own
   * failure, not the handler's) faults the whole consumer, which is then restarted.
   */
  private trackedLane(consumer: RawConsumer, reader: StreamReader, partition: number, batch: RawMessage[], lanes: Lanes): Promise<LaneOutcome> {
    return this.lane(consumer, reader, partition, batch)
      .catch((error: unknown): LaneOutcome => {
        this.fault ??= error instanceof Error ? error : new Error(String(error));
        return 'stopped';
      })
      .finally(() => {
        lanes.delete(partition);
        this.wakeup.notify();
      });
  }

  /**
   * Between rounds of handing out batches: commits the handled offsets when due, else waits for
   * news (messages, a lane done, a rebalance). Throws when the stream has failed or ended, once
   * all it fetched has been handled.
   */
  private async commitOrWait(reader: StreamReader, lanes: Lanes): Promise<void> {
    const sinceCommit = Date.now() - this.committedAt;
    if (lanes.size === 0 && reader.empty) {
      if (reader.failure) throw reader.failure;
      if (reader.ended) throw new Error('the message stream ended');
      // Caught up. Without positions of the subscriber's own, the committed offset is where
      // a restart resumes: commit now. With them it is a mark of progress (lag, alerts, the
      // bench's readings), which a quarter of a second behind still tells the truth.
      if (this.uncommitted.size > 0 && (!this.options.resumeFrom || sinceCommit >= this.commitIntervalMs)) {
        // Then look at the queues again before waiting: committing may have taken the wake-up.
        await this.commitHandled();
        return;
      }
      await this.wakeup.wait(this.uncommitted.size > 0 ? this.commitIntervalMs - sinceCommit : 1_000);
      return;
    }
    if (this.uncommitted.size > 0 && sinceCommit >= this.commitIntervalMs) await this.commitHandled();
    await this.wakeup.wait(this.commitIntervalMs);
  }

  /** The batches in hand finish and their offsets are committed before the stream closes. */
  private async finishConsuming(reader: StreamReader, lanes: Lanes): Promise<void> {
    this.phase = 'closing';
    await Promise.allSettled(lanes.values());
    // Keep what was handled; if the commit fails those messages are delivered again (and deduplicated).
    await this.commitHandled().catch((error: unknown) => {
      this.uncommitted.clear();
      this.logger.warn({ err: error }, 'could not commit the last handled offsets; they will be delivered again');
    });
    await reader.close(this.logger);
  }

  /**
   * One partition's batch, handed to the handler until it resolves. Returns 'abandoned' when a
   * rebalance took the partition away between attempts, and 'stopped' when the subscription stops
   * (or the consumer fails) before the handler succeeded; the batch stays unhandled either way.
   */
  private async lane(consumer: RawConsumer, reader: StreamReader, partition: number, batch: RawMessage[]): Promise<LaneOutcome> {
    const deliveries = batch.map(deliveryOf);
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        await sleep(backoffDelay(attempt - 1, this.settings.retryBaseDelayMs), this.abort.signal);
        if (this.stopping || this.fault) return 'stopped';
        if (!this.isCurrent(consumer, reader) || !this.owns(consumer, partition)) {
          this.logger.info({ partition, offset: deliveries[0]!.offset }, 'partition reassigned while retrying a batch');
          this.abandoned = true;
          return 'abandoned';
        }
      }
      try {
        await this.handleBatch(deliveries);
        break;
      } catch (error) {
        // The handler owns retries and dead-lettering; reaching here means its own store failed.
        // Leave the offset where it is and hand the same batch over again after a pause.
        this.logger.error({ err: error, partition, offset: deliveries[0]!.offset, messages: deliveries.length, attempt }, 'event handling failed; will redeliver');
      }
    }
    const last = batch.at(-1)!;
    this.uncommitted.set(partition, last);
    this.position.set(partition, last.offset + 1n);
    return 'done';
  }

  /** Commits, for every partition at once, the offset after the last message handled. */
  private async commitHandled(): Promise<void> {
    this.committedAt = Date.now();
    const handled = [...this.uncommitted];
    if (handled.length === 0) return;
    // Asked for together, the library sends them in one request.
    await Promise.all(handled.map(([, message]) => this.commit(message)));
    for (const [partition, message] of handled) {
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
    if (this.fault) throw this.fault;
    const limit = this.settings.rebalanceTimeoutMs + this.settings.sessionTimeoutMs;
    let onFault: ((error: Error) => void) | undefined;
    const failed = new Promise<never>((_, reject) => {
      onFault = reject;
      this.faultListeners.add(reject);
    });
    failed.catch(() => {});
    try {
      await Promise.race([withTimeout(Promise.resolve(message.commit()), limit, `committing offset ${message.offset}`), failed]);
    } finally {
      this.faultListeners.delete(onFault!);
    }
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
