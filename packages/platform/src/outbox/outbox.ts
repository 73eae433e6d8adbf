import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { assertEventData, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { contextFrom, traceparentOf, tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { encodeCloudEvent, toCloudEvent } from '../transport/envelope.ts';
import { MessageRefusedError, type EventTransport, type TransportMessage } from '../transport/transport.ts';
import type { OutboxTables } from './tables.ts';

/**
 * Transactional outbox: events are written in the same local transaction as the state change
 * that caused them, and a relay publishes them afterwards. A crash between the two publishes
 * again (harmless: consumers deduplicate by event id); a crash before the commit publishes nothing.
 */
export async function appendToOutbox(
  trx: Transaction<OutboxTables>,
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
  trx: Transaction<OutboxTables>,
  message: TransportMessage,
  eventType: string,
  eventId: string,
): Promise<void> {
  await trx
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
  database: Pick<Database<OutboxTables>, 'kind' | 'db' | 'transaction' | 'relaxedTransaction'>;
  transport: EventTransport;
  logger: Logger;
  metrics: ServiceMetrics;
  /** A PRODUCER span per published event, in the trace the event was emitted in (off by default). */
  tracing?: Tracing;
  pollIntervalMs: number;
  /**
   * How long an idle relay waits before it looks at the outbox unasked (default 8 polls). The
   * commits of this process wake it (notify), so the poll only finds what another replica left
   * when it crashed between its commit and its publish.
   */
  idlePollMs?: number;
  retryBaseDelayMs: number;
  /** Attempts at a row the transport refuses for good before it is set aside in `outbox_refused`. */
  refusalBudget?: number;
};

/** What one drain did: how many rows it published, and whether more may be waiting right now. */
type Drained = { published: number; more: boolean };

/** Publishes outbox rows in insertion order, so events of one visit keep their order. */
export class OutboxRelay {
  private readonly options: OutboxRelayOptions;
  private readonly db: Kysely<OutboxTables>;
  private readonly tracing: Tracing;
  private readonly abort = new AbortController();
  private wake: (() => void) | undefined;
  private pendingWake = false;
  private running: Promise<void> | undefined;
  /** Attempts at rows the transport refused, by outbox id, in this process. */
  private readonly refusals = new Map<string, number>();

  constructor(options: OutboxRelayOptions) {
    this.options = options;
    this.db = options.database.db;
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
      while ((await this.drainOnce()).published > 0);
    } catch (error) {
      // Left in the outbox: the next start publishes it.
      this.options.logger.warn({ err: error }, 'outbox not fully drained at shutdown');
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        const { more } = await this.drainOnce();
        failures = 0;
        // A short batch took everything there was: the next commit with events wakes the relay
        // (notify), so it does not look again for nothing. `more` is a full batch, or rows held
        // back for another replica's relay to finish the same visit's older rows first.
        if (more) continue;
      } catch (error) {
        failures += 1;
        if (error instanceof MessageRefusedError) {
          await this.setAsideRefused().catch((isolating: unknown) => this.options.logger.warn({ err: isolating }, 'could not isolate the refused outbox row; retrying'));
        } else {
          this.options.logger.warn({ err: error }, 'outbox relay could not publish; retrying');
        }
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
      const timer = setTimeout(finish, this.options.idlePollMs ?? this.options.pollIntervalMs * 8);
      this.wake = finish;
    });
  }

  private async drainOnce(): Promise<Drained> {
    const { database } = this.options;
    // Published rows are deleted without waiting for the disk: a deletion lost in a power cut
    // publishes those rows again, which consumers absorb (they deduplicate by event id), and it
    // spares a disk flush per batch on the path of every event.
    if (database.kind === 'sqlite') {
      // One process owns the file: read, publish, then delete what was published.
      const rows = await this.db.selectFrom('outbox').selectAll().orderBy('id').limit(BATCH).execute();
      if (rows.length === 0) return { published: 0, more: false };
      await this.publish(rows);
      await database.relaxedTransaction((trx) => trx.deleteFrom('outbox').where('id', 'in', rows.map((r) => r.id)).execute());
      return { published: rows.length, more: rows.length === BATCH };
    }
    // Several replicas relay one outbox. A batch is claimed and deleted in one statement and
    // published before the transaction commits: should publishing fail, the rollback puts the
    // rows back. The row locks taken by SKIP LOCKED keep two relays from taking the same rows.
    const { claimed, rows } = await database.relaxedTransaction(async (trx) => {
      const { rows: [claim] } = await claimWithoutOvertaking.execute(trx);
      const taken = claim!.rows.map((row) => ({ ...row, id: String(row.id) }));
      if (taken.length > 0) await this.publish(taken);
      return { claimed: Number(claim!.claimed), rows: taken };
    });
    const heldBack = claimed > rows.length;
    // Held back: another relay is publishing older rows of those visits; they are free in a moment.
    if (heldBack && rows.length === 0) await sleep(this.options.pollIntervalMs, this.abort.signal);
    return { published: rows.length, more: claimed === BATCH || heldBack };
  }

  /**
   * After a refusal: the rows of the next batch one at a time, in order, up to the one refused.
   * The ones before it are published and deleted; the refused one counts an attempt and, past
   * the budget, moves to `outbox_refused` whole, in the same transaction, so the events after it
   * go on. The rows stay locked meanwhile on PostgreSQL (no other relay takes them), and a
   * visit's row whose older rows another relay holds is left to that relay as in the fast path.
   */
  private async setAsideRefused(): Promise<void> {
    const budget = this.options.refusalBudget ?? 5;
    const setAside = await this.options.database.transaction(async (trx): Promise<OutboxRow | undefined> => {
      const rows: OutboxRow[] =
        this.options.database.kind === 'postgres'
          ? (await lockWithoutOvertaking.execute(trx)).rows
          : await trx.selectFrom('outbox').selectAll().orderBy('id').limit(BATCH).execute();
      const published: Array<OutboxRow['id']> = [];
      let refused: { row: OutboxRow; reason: string } | undefined;
      for (const row of rows) {
        try {
          await this.publish([row]);
          published.push(row.id);
        } catch (error) {
          // An outage meanwhile rolls all of it back: what was published goes again (deduplicated).
          if (!(error instanceof MessageRefusedError)) throw error;
          refused = { row, reason: error.message };
          break;
        }
      }
      if (published.length > 0) await trx.deleteFrom('outbox').where('id', 'in', published).execute();
      if (!refused) return undefined;
      const { row, reason } = refused;
      const attempts = (this.refusals.get(String(row.id)) ?? 0) + 1;
      this.refusals.set(String(row.id), attempts);
      // Ids only, here and below: the event's data stays in the database.
      this.options.logger.warn({ eventId: row.event_id, eventType: row.event_type, attempts, reason }, 'the transport refused an outbox event');
      if (attempts < budget) return undefined;
      await trx
        .insertInto('outbox_refused')
        .values({ ...row, id: row.id as number | string, reason: reason.slice(0, 2000), refused_at: new Date().toISOString() })
        .execute();
      await trx.deleteFrom('outbox').where('id', '=', row.id).execute();
      this.options.logger.error(
        { eventId: row.event_id, eventType: row.event_type, receptionId: row.message_key, attempts, reason },
        'outbox event refused by the transport for good; set aside in outbox_refused',
      );
      return row;
    });
    if (setAside) {
      this.refusals.delete(String(setAside.id));
      this.options.metrics.eventsRefused.inc({ type: setAside.event_type });
    }
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
    // A row refused before and taken now (the broker's limit was raised) is no longer counted.
    if (this.refusals.size > 0) for (const r of rows) this.refusals.delete(String(r.id));
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

type OutboxRow = Selectable<OutboxTables['outbox']>;

/**
 * The oldest rows no other relay holds, up to BATCH, without the rows of a visit whose older
 * rows another relay holds (publishing those first would break the visit's order; they wait for
 * that relay to finish). The message_key index finds each visit's oldest row.
 */
const claimable = sql`
  claimed as (
    select id, message_key from outbox order by id limit ${sql.lit(BATCH)} for update skip locked
  ), overtaking as (
    select c.message_key from claimed as c group by c.message_key
    having min(c.id) > (select min(o.id) from outbox as o where o.message_key = c.message_key)
  )`;

/**
 * The PostgreSQL relay's claim, in one statement: the claimable rows deleted and returned in
 * order, with how many were claimed, so the relay knows whether any were held back for another
 * relay (claimed but not taken) and whether the batch was full.
 */
const claimWithoutOvertaking = sql<{ claimed: number | string; rows: OutboxRow[] }>`
  with ${claimable}, taken as (
    delete from outbox
    where id in (select id from claimed where message_key not in (select message_key from overtaking))
    returning *
  )
  select (select count(*) from claimed) as claimed, coalesce((select json_agg(taken order by taken.id) from taken), '[]'::json) as rows`;

/** The claimable rows, locked for this transaction and not deleted: the refusal path (setAsideRefused). */
const lockWithoutOvertaking = sql<OutboxRow>`
  with ${claimable}
  select * from outbox where id in (select id from claimed where message_key not in (select message_key from overtaking)) order by id`;
