import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { validateCloudEvent, type CloudEvent, type EventType, type EventValidation } from '@medical/contracts';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { isUnavailable } from '../lib/unavailable.ts';
import { appendMessage } from '../outbox/outbox.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { contextFrom, tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { describeUndecodable } from '../transport/delivery-decoding.ts';
import { decodeCloudEvent } from '../transport/envelope.ts';
import type { Delivery } from '../transport/transport.ts';
import { DEAD_LETTER_ID_HEADER, deadLetterMessage } from './dead-letter-message.ts';
import { createTypeLabels, inboxIdOf } from './event-labels.ts';
import type { InboxTables } from './tables.ts';

export { DEAD_LETTER_ID_HEADER };

/**
 * The effect of one event, run inside the transaction that also records the event id in the
 * inbox. Returning normally commits both; throwing rolls both back and the event is retried.
 */
export type EventEffect = (trx: Transaction<any>, event: CloudEvent) => Promise<void>;

export type IdempotentConsumerOptions = {
  serviceName: string;
  db: Kysely<any>;
  /** The database port's transaction (on PostgreSQL re-run on a deadlock). */
  transaction: <T>(work: (trx: Transaction<any>) => Promise<T>) => Promise<T>;
  logger: Logger;
  metrics: ServiceMetrics;
  /** A CONSUMER span per handled event, continuing the trace its `traceparent` header names (off by default). */
  tracing?: Tracing;
  /** The transport's kind, for the spans' `messaging.system`. */
  messagingSystem?: 'kafka' | 'embedded';
  deadLetterTopic: string;
  retryBudget: number;
  retryBaseDelayMs: number;
  /**
   * The event types this service reacts to; others are acknowledged and skipped. 'all' is every
   * event on the topic, also of types this version does not know: those are skipped and counted
   * (medical_events_skipped_total), never dead-lettered.
   */
  handles: 'all' | readonly EventType[];
  effect: EventEffect;
  /**
   * Called after a transaction that wrote a dead letter to the outbox, to publish it promptly.
   * (An effect's own events wake the relay through the service's emit, only when there are some.)
   */
  afterCommit: () => void;
  signal: AbortSignal;
  /**
   * The consumer group whose positions `handleBatch` keeps in the service's database, with each
   * batch's effects, and `resumeFrom` reads back (consumer_positions).
   */
  group?: string;
};

/** A gap of skipped events this long moves a partition's stored position even with nothing to apply. */
const POSITION_GAP = 500n;

/**
 * The header of an event re-published from a dead letter (`npm run dead-letters -- replay`):
 * the letter's id. Such a delivery is applied again by a service that dead-lettered the event.
 */
export const REPLAY_OF_HEADER = 'dlq_replay_of';

/**
 * The header of a replay naming the consumer groups that dead-lettered its event, comma-separated:
 * only they may apply it. Replays without it (written before it existed) reach every group,
 * which tell by their inbox.
 */
export const REPLAY_FOR_HEADER = 'dlq_replay_for';

function isReplay(delivery: Delivery): boolean {
  return Boolean(delivery.headers[REPLAY_OF_HEADER]);
}

export type HandlingOutcome = 'applied' | 'duplicate' | 'skipped' | 'dead-lettered';

/**
 * Tries at writing one dead letter before the delivery fails to the transport. A letter's write
 * fails when the database does (a constraint, a trigger, a full disk): it is tried again here
 * with backoff, without repeating the attempts at the event that led to it, then the transport
 * backs off and delivers the event again, which makes new attempts and a new letter. Either way
 * the consumer stays on the event until it is recorded, and nothing crashes; an outage goes to
 * the transport at once, as everywhere.
 */
const DEAD_LETTER_WRITE_ATTEMPTS = 4;

/**
 * The first string in `value` (a key or a value) holding U+0000, as a JSON pointer. JSON carries
 * a NUL escaped, so it passes the schemas; but PostgreSQL refuses it in text, so its effect would
 * fail there (and be dead-lettered after the retries) and be applied on SQLite. Refused here on
 * both, as the API refuses it in every body (http/app.ts): no producer of ours writes it.
 */
function pointerToNul(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer || '(root)' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = pointerToNul(key, pointer) ?? pointerToNul(item, `${pointer}/${key}`);
    if (found) return found;
  }
  return undefined;
}

/** Decodes and validates a delivery; bytes that were not text make it invalid whatever they decode to. */
function validateDelivery(delivery: Delivery): EventValidation {
  if (delivery.undecodable && delivery.undecodable.length > 0) {
    return { ok: false, reason: `undecodable message: ${describeUndecodable(delivery.undecodable)}` };
  }
  const decoded = decodeCloudEvent(delivery);
  const validation = decoded.ok ? validateCloudEvent(decoded.candidate) : decoded;
  if (!validation.ok) return validation;
  const nul = pointerToNul(validation.event.data);
  return nul ? { ok: false, reason: `invalid ${validation.event.type} data: ${nul} must not contain the NUL character (U+0000)` } : validation;
}

/**
 * Idempotent consumer with retries and a dead-letter destination: at-least-once delivery from
 * the transport becomes exactly-once effect in the service's database.
 */
export function createIdempotentConsumer(options: IdempotentConsumerOptions) {
  const db = options.db as Kysely<InboxTables>;
  const tracer = (options.tracing ?? tracingOff()).tracer;
  const typeLabel = createTypeLabels();
  /** The unreadable types already logged (with their reason): once each, not once per event. */
  const reported = new Set<string>();

  async function inboxOutcome(
    executor: Kysely<InboxTables> | Transaction<InboxTables>,
    eventId: string,
  ): Promise<InboxTables['inbox']['outcome'] | undefined> {
    const row = await executor.selectFrom('inbox').select('outcome').where('event_id', '=', eventId).executeTakeFirst();
    return row?.outcome;
  }

  async function writeDeadLetter(delivery: Delivery, eventId: string, eventType: string, reason: string): Promise<boolean> {
    const replay = isReplay(delivery);
    return options.transaction(async (trx) => {
      const typed = trx as unknown as Transaction<InboxTables>;
      const recorded = await inboxOutcome(typed, eventId);
      // A replay that fails again gets a letter of its own (with its new reason), so the operator
      // sees that the fix did not take; any other delivery of a recorded event is a duplicate.
      if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return false;
      const deadLetterId = randomUUID();
      const letter = deadLetterMessage(delivery, {
        id: deadLetterId,
        topic: options.deadLetterTopic,
        reason,
        consumerGroup: options.serviceName,
        failedAt: new Date().toISOString(),
      });
      // One poison event may be dead-lettered by several services: each letter has its own id.
      await appendMessage(trx, letter, eventType, deadLetterId);
      const processedAt = new Date().toISOString();
      if (recorded === undefined) {
        await typed
          .insertInto('inbox')
          .values({ event_id: eventId, event_type: eventType, outcome: 'DEAD_LETTERED', processed_at: processedAt })
          .execute();
      } else {
        await typed.updateTable('inbox').set({ processed_at: processedAt }).where('event_id', '=', eventId).execute();
      }
      return true;
    });
  }

  async function deadLetter(delivery: Delivery, eventId: string, eventType: string, reason: string): Promise<HandlingOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await writeDeadLetter(delivery, eventId, eventType, reason))) return 'duplicate';
        break;
      } catch (error) {
        options.metrics.eventsFailed.inc({ type: eventType, reason: 'dead-letter' });
        if (isUnavailable(error) || attempt >= DEAD_LETTER_WRITE_ATTEMPTS) throw error;
        options.logger.warn({ err: error, eventId, eventType, attempt }, 'could not write the dead letter; trying again');
        await sleep(backoffDelay(attempt - 1, options.retryBaseDelayMs), options.signal);
        if (options.signal.aborted) throw new Error('consumer stopping; event left for redelivery');
      }
    }
    options.afterCommit();
    options.metrics.eventsDeadLettered.inc({ type: eventType });
    options.logger.error({ eventId, eventType, reason, offset: delivery.offset, replayOf: delivery.headers[REPLAY_OF_HEADER] }, 'event dead-lettered');
    return 'dead-lettered';
  }

  /**
   * A well-formed event of a type or version this version does not read: a newer producer's,
   * during a rolling upgrade. Not this event's fault, and no retry would help: skipped, counted,
   * and logged once per type (a busy topic would otherwise log every such event).
   */
  function skipUnreadable(eventId: string, eventType: string, unknown: 'type' | 'version', reason: string): HandlingOutcome {
    const skipReason = unknown === 'type' ? 'unknown-type' : 'unknown-version';
    options.metrics.eventsSkipped.inc({ type: eventType, reason: skipReason });
    const key = `${skipReason} ${eventType}`;
    if (!reported.has(key)) {
      reported.add(key);
      options.logger.warn({ eventId, eventType, reason }, 'skipping events this version cannot read (from a newer producer?); logged once per type');
    }
    return 'skipped';
  }

  async function applyOnce(event: CloudEvent, replay: boolean): Promise<HandlingOutcome> {
    const outcome = await options.transaction(async (trx) => {
      const typed = trx as unknown as Transaction<InboxTables>;
      // Claimed in the inbox first, in one statement: a row already there means the effect is
      // already committed. Should the effect fail, the rollback takes the claim back with it.
      const claimed = await typed
        .insertInto('inbox')
        .values({ event_id: event.id, event_type: event.type, outcome: 'APPLIED', processed_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .returning('event_id')
        .executeTakeFirst();
      if (!claimed) {
        // An operator's replay of a dead letter gives the event another chance here only if this
        // service gave up on it: the row moves from DEAD_LETTERED to APPLIED in the effect's
        // transaction. A service that applied it, and any plain redelivery, see a duplicate.
        if (!replay) return 'duplicate' as const;
        const reclaimed = await typed
          .updateTable('inbox')
          .set({ outcome: 'APPLIED', processed_at: new Date().toISOString() })
          .where('event_id', '=', event.id)
          .where('outcome', '=', 'DEAD_LETTERED')
          .returning('event_id')
          .executeTakeFirst();
        if (!reclaimed) return 'duplicate' as const;
      }
      await options.effect(trx, event);
      return 'applied' as const;
    });
    return outcome;
  }

  async function handleInSpan(delivery: Delivery, type: string, eventId: string): Promise<HandlingOutcome> {
    const replay = isReplay(delivery);
    // Decoding and validation give the same answer every time: done once, before the attempts.
    const validation = validateDelivery(delivery);
    if (!validation.ok && validation.unknown) return skipUnreadable(eventId, type, validation.unknown, validation.reason);
    if (!validation.ok) {
      // A valid event's redelivery is caught inside its transaction (applyOnce); an invalid one
      // never gets there, so look it up before spending the retry budget on it again.
      const recorded = await inboxOutcome(db, eventId);
      if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return 'duplicate';
    }

    let lastReason = validation.ok ? '' : validation.reason;
    for (let attempt = 0; attempt <= options.retryBudget; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, options.retryBaseDelayMs), options.signal);
      if (options.signal.aborted) throw new Error('consumer stopping; event left for redelivery');
      if (!validation.ok) {
        options.metrics.eventsFailed.inc({ type, reason: 'invalid' });
        continue;
      }
      try {
        const outcome = await applyOnce(validation.event, replay);
        if (outcome === 'applied') {
          options.metrics.eventsConsumed.inc({ type });
          // One line per clinical event this service acted on: ids only, never the event's data.
          options.logger.info({ eventId, eventType: type, receptionId: delivery.key }, 'event applied');
        } else {
          options.logger.debug({ eventId, eventType: type, receptionId: delivery.key }, 'event already applied');
        }
        return outcome;
      } catch (error) {
        // An outage is not the event's fault: leave it to the transport to redeliver later.
        if (isUnavailable(error)) throw error;
        lastReason = error instanceof Error ? error.message : String(error);
        options.metrics.eventsFailed.inc({ type, reason: 'handler' });
        options.logger.warn({ err: error, eventId, eventType: type, attempt }, 'event handler failed');
      }
    }
    return deadLetter(delivery, eventId, type, lastReason);
  }

  async function handle(delivery: Delivery): Promise<HandlingOutcome> {
    const typeHeader = delivery.headers.ce_type;
    if (options.handles !== 'all' && !options.handles.includes(typeHeader as EventType)) return 'skipped';
    const replayFor = delivery.headers[REPLAY_FOR_HEADER];
    if (isReplay(delivery) && replayFor !== undefined && !replayFor.split(',').includes(options.serviceName)) return 'duplicate';
    // Both name the event in rows, metrics and spans: bounded and printable whatever the headers hold.
    const type = typeLabel(typeHeader);
    const eventId = inboxIdOf(delivery);
    return (await inEventSpan(delivery, eventId, type, () => handleInSpan(delivery, type, eventId))).outcome;
  }

  /**
   * Runs `work` in a CONSUMER span of the event, continuing the trace its `traceparent` names;
   * the span says the outcome, and a dead letter or an error marks it failed.
   */
  async function inEventSpan(delivery: Delivery, eventId: string, type: string, work: () => Promise<HandlingOutcome>): Promise<{ outcome: HandlingOutcome; span: Span }> {
    const parent = contextFrom(delivery.headers, ROOT_CONTEXT);
    const span = tracer.startSpan(`process ${type}`, spanOptions(delivery, eventId), parent);
    try {
      const outcome = await context.with(trace.setSpan(parent, span), work);
      span.setAttribute('medical.outcome', outcome);
      if (outcome === 'dead-lettered') span.setStatus({ code: SpanStatusCode.ERROR, message: 'dead-lettered' });
      return { outcome, span };
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  }

  const spanOptions = (delivery: Delivery, eventId: string) => ({
    kind: SpanKind.CONSUMER,
    attributes: {
      'messaging.system': options.messagingSystem ?? 'unknown',
      'messaging.operation.type': 'process',
      'messaging.destination.name': delivery.topic,
      'messaging.destination.partition.id': String(delivery.partition),
      'messaging.consumer.group.name': options.serviceName,
      'messaging.message.id': eventId,
      'medical.reception_id': delivery.key,
    },
  });

  /** A delivery the batch path applies itself: a valid, readable event of a type this service handles, not a replay. */
  type Plain = { delivery: Delivery; event: CloudEvent; eventId: string; type: string };

  /**
   * What a delivery needs: nothing (a type this service does not handle), the batch path (a
   * plain event), or the one-at-a-time path of `handle`, which knows replays, invalid and
   * unreadable events, retries and dead letters.
   */
  function classify(delivery: Delivery): 'pass' | 'alone' | Plain {
    const typeHeader = delivery.headers.ce_type;
    if (options.handles !== 'all' && !options.handles.includes(typeHeader as EventType)) return 'pass';
    if (isReplay(delivery)) return 'alone';
    const validation = validateDelivery(delivery);
    if (!validation.ok) return 'alone';
    return { delivery, event: validation.event, eventId: inboxIdOf(delivery), type: typeLabel(typeHeader) };
  }

  const positions = new Map<string, bigint>();
  const positionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

  async function savePosition(trx: Transaction<InboxTables>, topic: string, partition: number, next: bigint): Promise<void> {
    await trx
      .insertInto('consumer_positions')
      .values({ group_id: options.group!, topic, partition, next_offset: next.toString(), updated_at: new Date().toISOString() })
      .onConflict((oc) =>
        oc
          .columns(['group_id', 'topic', 'partition'])
          .doUpdateSet((eb) => ({ next_offset: eb.ref('excluded.next_offset'), updated_at: eb.ref('excluded.updated_at') }))
          // Only forward: a member that lost the partition in a rebalance may finish a batch late.
          .where(sql<boolean>`excluded.next_offset > consumer_positions.next_offset`),
      )
      .execute();
  }

  /**
   * Applies a run of plain events of one partition in one transaction: one multi-row inbox claim,
   * the effects in order, and the partition's position (`next`), which commit together. Should
   * an effect throw, the run is rolled back and its events go one at a time through `handle`,
   * where the poison one is retried and dead-lettered alone. An outage goes to the transport.
   */
  async function applyRun(run: Plain[], topic: string, partition: number, next: bigint): Promise<void> {
    const key = positionKey(topic, partition);
    const stored = positions.get(key);
    if (run.length === 0) {
      // Nothing to apply: the position moves only past a long gap (skipped types), so a restart
      // does not read far back; reading a few events again costs nothing but the fetch.
      if (!options.group || (stored !== undefined && next - stored < POSITION_GAP)) return;
      await options.transaction((trx) => savePosition(trx as unknown as Transaction<InboxTables>, topic, partition, next));
      positions.set(key, next);
      return;
    }
    let applied: Array<Plain & { span: Span }>;
    try {
      applied = await options.transaction(async (trx) => {
        const typed = trx as unknown as Transaction<InboxTables>;
        const processedAt = new Date().toISOString();
        const claimed = await typed
          .insertInto('inbox')
          .values(run.map((p) => ({ event_id: p.eventId, event_type: p.type, outcome: 'APPLIED' as const, processed_at: processedAt })))
          .onConflict((oc) => oc.column('event_id').doNothing())
          .returning('event_id')
          .execute();
        const fresh = new Set(claimed.map((row) => row.event_id));
        const done: Array<Plain & { span: Span }> = [];
        for (const p of run) {
          // A second copy in the same run (republished by a relay) is claimed once, applied once.
          if (!fresh.delete(p.eventId)) continue;
          const { span } = await inEventSpan(p.delivery, p.eventId, p.type, async () => {
            await options.effect(trx, p.event);
            return 'applied';
          });
          done.push({ ...p, span });
        }
        if (options.group) await savePosition(typed, topic, partition, next);
        return done;
      });
    } catch (error) {
      if (isUnavailable(error) || options.signal.aborted) throw error;
      options.logger.warn({ err: error, partition, events: run.length }, 'a batch of events failed; handling them one at a time');
      for (const p of run) await handle(p.delivery);
      return;
    }
    if (options.group) positions.set(key, next);
    for (const p of applied) {
      options.metrics.eventsConsumed.inc({ type: p.type });
      // One line per clinical event this service acted on, in its trace: ids only, never the event's data.
      context.with(trace.setSpan(ROOT_CONTEXT, p.span), () =>
        options.logger.info({ eventId: p.eventId, eventType: p.type, receptionId: p.delivery.key }, 'event applied'),
      );
    }
  }

  /**
   * The transport's batch of one partition (BatchHandler): runs of plain events applied a run per
   * transaction with the partition's position, the others one at a time in order between them.
   */
  async function handleBatch(deliveries: Delivery[]): Promise<void> {
    let run: Plain[] = [];
    for (const delivery of deliveries) {
      const kind = classify(delivery);
      if (kind === 'pass') continue;
      if (kind !== 'alone') {
        run.push(kind);
        continue;
      }
      await applyRun(run, delivery.topic, delivery.partition, BigInt(delivery.offset));
      run = [];
      await handle(delivery);
    }
    const last = deliveries.at(-1);
    if (last) await applyRun(run, last.topic, last.partition, BigInt(last.offset) + 1n);
  }

  /** Where the database says each partition resumes (ResumePositions). */
  async function resumeFrom(topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
    const resumed = new Map<number, bigint>();
    if (!options.group || partitions.length === 0) return resumed;
    const rows = await db
      .selectFrom('consumer_positions')
      .select(['partition', 'next_offset'])
      .where('group_id', '=', options.group)
      .where('topic', '=', topic)
      .where('partition', 'in', [...partitions])
      .execute();
    for (const row of rows) {
      const next = BigInt(row.next_offset);
      resumed.set(Number(row.partition), next);
      positions.set(positionKey(topic, Number(row.partition)), next);
    }
    return resumed;
  }

  return Object.assign(handle, { handleBatch, resumeFrom });
}
