import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { validateCloudEvent, type CloudEvent, type EventType, type EventValidation } from '@medical/contracts';
import type { PlatformTables } from '../db/platform-migrations.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { contextFrom, tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { isUnavailable } from '../unavailable.ts';
import { DEAD_LETTER_ID_HEADER, deadLetterMessage } from './dead-letter-message.ts';
import { describeUndecodable } from './delivery-decoding.ts';
import { decodeCloudEvent } from './envelope.ts';
import { createTypeLabels, inboxIdOf } from './event-labels.ts';
import { appendMessage } from './outbox.ts';
import { backoffDelay, sleep } from './sleep.ts';
import type { Delivery } from './transport.ts';

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
  /** Called after a transaction that may have written outbox rows, to publish them promptly. */
  afterCommit: () => void;
  signal: AbortSignal;
};

/**
 * The header of an event re-published from a dead letter (`npm run dead-letters -- replay`):
 * the letter's id. Such a delivery is applied again by a service that dead-lettered the event.
 */
export const REPLAY_OF_HEADER = 'dlq_replay_of';

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
  const db = options.db as Kysely<PlatformTables>;
  const tracer = (options.tracing ?? tracingOff()).tracer;
  const typeLabel = createTypeLabels();
  /** The unreadable types already logged (with their reason): once each, not once per event. */
  const reported = new Set<string>();

  async function inboxOutcome(
    executor: Kysely<PlatformTables> | Transaction<PlatformTables>,
    eventId: string,
  ): Promise<PlatformTables['inbox']['outcome'] | undefined> {
    const row = await executor.selectFrom('inbox').select('outcome').where('event_id', '=', eventId).executeTakeFirst();
    return row?.outcome;
  }

  async function writeDeadLetter(delivery: Delivery, eventId: string, eventType: string, reason: string): Promise<boolean> {
    const replay = isReplay(delivery);
    return options.transaction(async (trx) => {
      const typed = trx as unknown as Transaction<PlatformTables>;
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
      const typed = trx as unknown as Transaction<PlatformTables>;
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
    options.afterCommit();
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

  return async function handle(delivery: Delivery): Promise<HandlingOutcome> {
    const typeHeader = delivery.headers.ce_type;
    if (options.handles !== 'all' && !options.handles.includes(typeHeader as EventType)) return 'skipped';
    // Both name the event in rows, metrics and spans: bounded and printable whatever the headers hold.
    const type = typeLabel(typeHeader);
    const eventId = inboxIdOf(delivery);
    const parent = contextFrom(delivery.headers, ROOT_CONTEXT);
    const span = tracer.startSpan(
      `process ${type}`,
      {
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
      },
      parent,
    );
    try {
      const outcome = await context.with(trace.setSpan(parent, span), () => handleInSpan(delivery, type, eventId));
      span.setAttribute('medical.outcome', outcome);
      if (outcome === 'dead-lettered') span.setStatus({ code: SpanStatusCode.ERROR, message: 'dead-lettered' });
      return outcome;
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  };
}
