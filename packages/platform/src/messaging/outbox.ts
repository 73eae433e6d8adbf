import type { Kysely, Transaction } from 'kysely';
import { assertEventData, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { PlatformTables } from '../db/platform-migrations.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { encodeCloudEvent, toCloudEvent } from './envelope.ts';
import { backoffDelay, sleep } from './sleep.ts';
import type { EventTransport, TransportMessage } from './transport.ts';

/**
 * Transactional outbox: events are written in the same local transaction as the state change
 * that caused them, and a relay publishes them afterwards. A crash between the two publishes
 * again (harmless: consumers deduplicate by event id); a crash before the commit publishes nothing.
 */
export async function appendToOutbox(
  trx: Transaction<any>,
  topic: string,
  events: MedicalEvent[],
  context: { subject: string; traceparent?: string },
): Promise<CloudEvent[]> {
  const envelopes: CloudEvent[] = [];
  for (const event of events) {
    assertEventData(event.type, event.data);
    const envelope = toCloudEvent(event, context.subject, context.traceparent);
    envelopes.push(envelope);
    await appendMessage(trx, encodeCloudEvent(topic, envelope), envelope.type, envelope.id);
  }
  return envelopes;
}

/** Appends a ready-made message (a dead letter, for instance) to the outbox. */
export async function appendMessage(
  trx: Transaction<any>,
  message: TransportMessage,
  eventType: string,
  eventId: string,
): Promise<void> {
  const db = trx as unknown as Transaction<PlatformTables>;
  await db
    .insertInto('outbox')
    .values({
      event_id: eventId,
      topic: message.topic,
      message_key: message.key,
      event_type: eventType,
      headers: JSON.stringify(message.headers),
      payload: message.value,
      created_at: new Date().toISOString(),
    })
    .execute();
}

export type OutboxRelayOptions = {
  /**
   * On PostgreSQL each batch is claimed with FOR UPDATE SKIP LOCKED inside a transaction, so
   * several replicas relay the same outbox without publishing a row twice. On SQLite one process
   * owns the file, so it simply reads.
   */
  database: Pick<Database<any>, 'kind' | 'db' | 'relaxedTransaction'>;
  transport: EventTransport;
  logger: Logger;
  metrics: ServiceMetrics;
  pollIntervalMs: number;
  retryBaseDelayMs: number;
};

/** Publishes outbox rows in insertion order, so events of one visit keep their order. */
export class OutboxRelay {
  private readonly options: OutboxRelayOptions;
  private readonly db: Kysely<PlatformTables>;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private pendingWake = false;
  private running: Promise<void> | undefined;

  constructor(options: OutboxRelayOptions) {
    this.options = options;
    this.db = options.database.db as Kysely<PlatformTables>;
  }

  start(): void {
    this.running = this.loop();
  }

  /** Called after a commit that wrote outbox rows: publish now rather than at the next poll. */
  notify(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  async pending(): Promise<number> {
    const row = await this.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Publishes what is left, then stops: used on shutdown so committed events leave promptly. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.running;
    try {
      while ((await this.drainOnce()) > 0);
    } catch (error) {
      // Left in the outbox: the next start publishes it.
      this.options.logger.warn({ err: error }, 'outbox not fully drained at shutdown');
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const published = await this.drainOnce();
        failures = 0;
        if (published > 0) continue;
      } catch (error) {
        failures += 1;
        this.options.logger.warn({ err: error }, 'outbox relay could not publish; retrying');
        await sleep(backoffDelay(failures, this.options.retryBaseDelayMs, 10_000), this.abort.signal);
        continue;
      }
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.pendingWake = false;
        resolve();
      };
      const timer = setTimeout(finish, this.options.pollIntervalMs * 8);
      this.wake = finish;
    });
  }

  private drainOnce(): Promise<number> {
    const { database } = this.options;
    // Published rows are deleted without waiting for the disk: a deletion lost in a power cut
    // publishes those rows again, which consumers absorb (they deduplicate by event id), and it
    // spares a disk flush per batch on the path of every event.
    const deleteRelaxed = (ids: Array<number | string>) =>
      database.relaxedTransaction((trx) => (trx as unknown as Transaction<PlatformTables>).deleteFrom('outbox').where('id', 'in', ids).execute());
    if (database.kind === 'sqlite') return this.publishBatch(this.db, false, deleteRelaxed);
    // The row locks taken by SKIP LOCKED do the isolating between relays; the claim and the
    // deletion are one transaction, committed relaxed for the same reason.
    return database.relaxedTransaction((trx) =>
      this.publishBatch(trx as unknown as Transaction<PlatformTables>, true, (ids) => trx.deleteFrom('outbox').where('id', 'in', ids).execute()),
    );
  }

  private async publishBatch(
    db: Kysely<PlatformTables>,
    claim: boolean,
    deletePublished: (ids: Array<number | string>) => Promise<unknown>,
  ): Promise<number> {
    let query = db.selectFrom('outbox').selectAll().orderBy('id').limit(500);
    if (claim) query = query.forUpdate().skipLocked();
    let rows = await query.execute();
    if (claim) rows = await withoutOvertaking(db, rows);
    if (rows.length === 0) return 0;
    await this.options.transport.publish(
      rows.map((r) => ({
        id: r.event_id,
        topic: r.topic,
        key: r.message_key,
        headers: JSON.parse(r.headers) as Record<string, string>,
        value: r.payload,
      })),
    );
    await deletePublished(rows.map((r) => r.id));
    for (const r of rows) this.options.metrics.eventsPublished.inc({ type: r.event_type });
    return rows.length;
  }
}

/**
 * With several relays, one may hold the older rows of a visit while another claims its newer
 * ones; publishing those first would break the visit's order. Keep only the rows of keys whose
 * oldest pending row is ours; the rest wait for the next round.
 */
async function withoutOvertaking<T extends { id: number | string; message_key: string }>(db: Kysely<PlatformTables>, rows: T[]): Promise<T[]> {
  if (rows.length === 0) return rows;
  const ourOldest = new Map<string, number>();
  for (const r of rows) if (!ourOldest.has(r.message_key)) ourOldest.set(r.message_key, Number(r.id));
  const oldest = await db
    .selectFrom('outbox')
    .select((eb) => ['message_key', eb.fn.min('id').as('first')])
    .where('message_key', 'in', [...ourOldest.keys()])
    .groupBy('message_key')
    .execute();
  const blocked = new Set(oldest.filter((o) => Number(o.first) < ourOldest.get(o.message_key)!).map((o) => o.message_key));
  return blocked.size === 0 ? rows : rows.filter((r) => !blocked.has(r.message_key));
}
