import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { assertEventData, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { PlatformTables } from '../db/platform-migrations.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { contextFrom, traceparentOf, tracingOff, type Tracing } from '../telemetry/tracing.ts';
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
  /** A PRODUCER span per published event, in the trace the event was emitted in (off by default). */
  tracing?: Tracing;
  pollIntervalMs: number;
  retryBaseDelayMs: number;
};

/** Publishes outbox rows in insertion order, so events of one visit keep their order. */
export class OutboxRelay {
  private readonly options: OutboxRelayOptions;
  private readonly db: Kysely<PlatformTables>;
  private readonly tracing: Tracing;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private pendingWake = false;
  private running: Promise<void> | undefined;

  constructor(options: OutboxRelayOptions) {
    this.options = options;
    this.db = options.database.db as Kysely<PlatformTables>;
    this.tracing = options.tracing ?? tracingOff();
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
    if (database.kind === 'sqlite') {
      // One process owns the file: read, publish, then delete what was published.
      return (async () => {
        const rows = await this.db.selectFrom('outbox').selectAll().orderBy('id').limit(BATCH).execute();
        if (rows.length === 0) return 0;
        await this.publish(rows);
        await database.relaxedTransaction((trx) => (trx as unknown as Transaction<PlatformTables>).deleteFrom('outbox').where('id', 'in', rows.map((r) => r.id)).execute());
        return rows.length;
      })();
    }
    // Several replicas relay one outbox. A batch is claimed and deleted in one statement and
    // published before the transaction commits: should publishing fail, the rollback puts the
    // rows back. The row locks taken by SKIP LOCKED keep two relays from taking the same rows.
    return database.relaxedTransaction(async (trx) => {
      const { rows } = await claimWithoutOvertaking.execute(trx);
      if (rows.length === 0) return 0;
      // DELETE ... RETURNING does not keep an order; the visit's order is the ids'.
      rows.sort((a, b) => Number(a.id) - Number(b.id));
      await this.publish(rows);
      return rows.length;
    });
  }

  private async publish(rows: OutboxRow[]): Promise<void> {
    const messages = rows.map((r) => ({
      id: r.event_id,
      topic: r.topic,
      key: r.message_key,
      headers: JSON.parse(r.headers) as Record<string, string>,
      value: r.payload,
    }));
    const spans = this.tracing.recording ? messages.map((m, i) => this.startPublishSpan(m, rows[i]!.event_type)) : [];
    try {
      await this.options.transport.publish(messages);
    } catch (error) {
      for (const span of spans) {
        span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        span?.end();
      }
      throw error;
    }
    for (const span of spans) span?.end();
    for (const r of rows) this.options.metrics.eventsPublished.inc({ type: r.event_type });
  }

  /**
   * The publish span is a child of the span that emitted the event, and the message's
   * `traceparent` is replaced by the publish span's own: consumers continue from the publish.
   * An event emitted with no trace context (tracing was off) starts no trace here.
   */
  private startPublishSpan(message: TransportMessage, eventType: string): Span | undefined {
    if (!message.headers.traceparent) return undefined;
    const parent = contextFrom(message.headers, ROOT_CONTEXT);
    const span = this.tracing.tracer.startSpan(
      `publish ${eventType}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': this.options.transport.kind,
          'messaging.operation.type': 'send',
          'messaging.destination.name': message.topic,
          'messaging.message.id': message.headers.ce_id ?? message.id ?? '',
          'medical.reception_id': message.key,
        },
      },
      parent,
    );
    const traceparent = traceparentOf(trace.setSpan(parent, span));
    if (traceparent) message.headers.traceparent = traceparent;
    return span;
  }
}

const BATCH = 500;

type OutboxRow = Selectable<PlatformTables['outbox']>;

/**
 * The PostgreSQL relay's claim, in one statement: up to BATCH of the oldest rows no other relay
 * holds, without the rows of a visit whose older rows another relay holds (publishing those
 * first would break the visit's order; they wait for the next round), deleted and returned.
 */
const claimWithoutOvertaking = sql<OutboxRow>`
  with claimed as (
    select id, message_key from outbox order by id limit ${sql.lit(BATCH)} for update skip locked
  ), overtaking as (
    select c.message_key from claimed as c group by c.message_key
    having min(c.id) > (select min(o.id) from outbox as o where o.message_key = c.message_key)
  )
  delete from outbox
  where id in (select id from claimed where message_key not in (select message_key from overtaking))
  returning *`;
