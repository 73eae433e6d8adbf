import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { backoffDelay } from '@medical/platform';
import { dueHeads, lease, markDelivered, markFailed, pendingCounts, setAside, type Delivery } from '../db/deliveries.ts';
import type { InteropDatabase } from '../db/schema.ts';
import type { Kysely } from 'kysely';

/** What a destination made of one message. */
export type DeliveryOutcome =
  | { kind: 'delivered' }
  /** Not taken this time (down, a timeout, an error answer): sent again after a backoff. */
  | { kind: 'retry'; error: string }
  /** Refused as it is (an HL7 AR): sent again a few times, then set aside so the line goes on. */
  | { kind: 'refused'; error: string };

/** A kind of destination: which deliveries are its (by their destination's prefix), how one is sent, and what follows an outcome. */
export type Channel = {
  name: string;
  owns(destination: string): boolean;
  send(delivery: Delivery): Promise<DeliveryOutcome>;
  after?(delivery: Delivery, outcome: DeliveryOutcome): Promise<void>;
};

export type DeliveryWorkerOptions = {
  db: Kysely<InteropDatabase>;
  channels: readonly Channel[];
  logger: Logger;
  registry: Registry;
  /** How often the queue is read when nothing woke the worker. */
  pollMs: number;
  retryBaseMs: number;
  /** The longest wait between two tries of one message (DELIVERY_RETRY_MAX_MS). */
  retryMaxMs: number;
  /** Tries of a refused message before it is set aside. */
  maxRefusals: number;
  /** How long a replica holds a message it is sending. */
  leaseMs: number;
};

/**
 * Sends the delivery queue (db/deliveries.ts): the head of each destination's line, the lines in
 * parallel, each message until its destination takes it. Woken after each commit that queued
 * something, and on a timer for the retries and for what another replica queued. A message is
 * sent at least once: one sent whose answer was lost is sent again, and the receiver's id for it
 * (the notification's resource version, the HL7 control id) lets it tell.
 */
export class DeliveryWorker {
  private readonly options: DeliveryWorkerOptions;
  private readonly holder = randomUUID();
  private readonly outcomes: Counter<'channel' | 'outcome'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(options: DeliveryWorkerOptions) {
    this.options = options;
    this.outcomes = new Counter({ name: 'medical_interop_deliveries_total', help: 'Tries to send a message to another system, by channel and outcome: delivered, retry, refused (sent again), set_aside (refused the last time)', labelNames: ['channel', 'outcome'], registers: [options.registry] });
    const db = options.db;
    new Gauge({
      name: 'medical_interop_deliveries_pending',
      help: 'Messages waiting to be taken by another system, by channel',
      labelNames: ['channel'],
      registers: [options.registry],
      async collect() {
        this.reset();
        for (const { channel, pending } of await pendingCounts(db)) this.set({ channel }, pending);
      },
    });
  }

  start(): void {
    this.schedule(0);
  }

  /** Sends what is due now (after a commit that queued something). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'the delivery queue could not be read'))
        .finally(() => {
          this.running = undefined;
          if (this.stopped) return;
          const next = this.again ? 0 : this.options.pollMs;
          this.again = false;
          this.schedule(next);
        });
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const now = new Date();
    const heads = await dueHeads(this.options.db, now.toISOString());
    await Promise.all(heads.map((head) => this.sendHead(head, now)));
  }

  private async sendHead(delivery: Delivery, now: Date): Promise<void> {
    const { db, leaseMs } = this.options;
    const channel = this.options.channels.find((c) => c.owns(delivery.destination));
    if (channel === undefined) return;
    if (!(await lease(db, delivery.id, this.holder, now.toISOString(), new Date(now.getTime() + leaseMs).toISOString()))) return;
    let outcome: DeliveryOutcome;
    try {
      outcome = await channel.send(delivery);
    } catch (error) {
      outcome = { kind: 'retry', error: (error as Error).message };
    }
    await this.record(channel, delivery, outcome);
    // The next of this line at once: a line that took one message is likely to take the next.
    if (outcome.kind === 'delivered') this.again = true;
  }

  private async record(channel: Channel, delivery: Delivery, outcome: DeliveryOutcome): Promise<void> {
    const { db, logger } = this.options;
    const at = new Date();
    const log = { deliveryId: delivery.id, destination: delivery.destination, about: delivery.about, attempts: delivery.attempts + 1 };
    // The counter's outcome: the try's, or `set_aside` for the last refusal, which the alert watches.
    let counted: DeliveryOutcome['kind'] | 'set_aside' = outcome.kind;
    if (outcome.kind === 'delivered') {
      await markDelivered(db, delivery.id, at.toISOString());
    } else if (outcome.kind === 'refused' && delivery.attempts + 1 >= this.options.maxRefusals) {
      await setAside(db, delivery.id, outcome.error, at.toISOString());
      counted = 'set_aside';
      logger.error({ ...log, error: outcome.error }, 'a message was refused every time it was sent, and is set aside; the line goes on');
    } else {
      const wait = backoffDelay(delivery.attempts, this.options.retryBaseMs, this.options.retryMaxMs);
      await markFailed(db, delivery.id, outcome.error, new Date(at.getTime() + wait).toISOString());
      logger.warn({ ...log, error: outcome.error, retryInMs: wait }, 'a message was not taken; it will be sent again');
    }
    this.outcomes.inc({ channel: channel.name, outcome: counted });
    await channel.after?.(delivery, outcome);
  }
}
