import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { validateCloudEvent, type CloudEvent, type EventType } from '@medical/contracts';
import type { PlatformTables } from '../db/platform-migrations.ts';
import type { ServiceMetrics } from '../metrics.ts';
import { contextFrom, tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { isUnavailable } from '../unavailable.ts';
import { decodeCloudEvent } from './envelope.ts';
import { appendMessage } from './outbox.ts';
import { backoffDelay, sleep } from './sleep.ts';
import type { Delivery } from './transport.ts';

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
  /** The event types this service reacts to; others are acknowledged and skipped. */
  handles: 'all' | readonly EventType[];
  effect: EventEffect;
  /** Called after a transaction that may have written outbox rows, to publish them promptly. */
  afterCommit: () => void;
  signal: AbortSignal;
};

/** The header carrying a dead letter's own id (a UUID), set when the letter is written. */
export const DEAD_LETTER_ID_HEADER = 'dlq_id';

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
 * Idempotent consumer with retries and a dead-letter destination: at-least-once delivery from
 * the transport becomes exactly-once effect in the service's database.
 */
export function createIdempotentConsumer(options: IdempotentConsumerOptions) {
  const db = options.db as Kysely<PlatformTables>;
  const tracer = (options.tracing ?? tracingOff()).tracer;

  async function inboxOutcome(
    executor: Kysely<PlatformTables> | Transaction<PlatformTables>,
    eventId: string,
  ): Promise<PlatformTables['inbox']['outcome'] | undefined> {
    const row = await executor.selectFrom('inbox').select('outcome').where('event_id', '=', eventId).executeTakeFirst();
    return row?.outcome;
  }

  async function deadLetter(delivery: Delivery, eventId: string, eventType: string, reason: string): Promise<HandlingOutcome> {
    const replay = isReplay(delivery);
    const written = await options.transaction(async (trx) => {
      const typed = trx as unknown as Transaction<PlatformTables>;
      const recorded = await inboxOutcome(typed, eventId);
      // A replay that fails again gets a letter of its own (with its new reason), so the operator
      // sees that the fix did not take; any other delivery of a recorded event is a duplicate.
      if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return false;
      const deadLetterId = randomUUID();
      await appendMessage(
        trx,
        {
          id: deadLetterId,
          topic: options.deadLetterTopic,
          key: delivery.key,
          headers: {
            ...delivery.headers,
            // The letter's own id, the same on both transports: what `npm run dead-letters` lists and replays.
            [DEAD_LETTER_ID_HEADER]: deadLetterId,
            dlq_reason: reason.slice(0, 2000),
            dlq_original_topic: delivery.topic,
            dlq_original_partition: String(delivery.partition),
            dlq_original_offset: delivery.offset,
            dlq_consumer_group: options.serviceName,
            dlq_failed_at: new Date().toISOString(),
          },
          value: delivery.value,
        },
        eventType,
        // One poison event may be dead-lettered by several services: each letter has its own id.
        deadLetterId,
      );
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
    if (!written) return 'duplicate';
    options.afterCommit();
    options.metrics.eventsDeadLettered.inc({ type: eventType });
    options.logger.error({ eventId, eventType, reason, offset: delivery.offset, replayOf: delivery.headers[REPLAY_OF_HEADER] }, 'event dead-lettered');
    return 'dead-lettered';
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

    let lastReason = '';
    for (let attempt = 0; attempt <= options.retryBudget; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, options.retryBaseDelayMs), options.signal);
      if (options.signal.aborted) throw new Error('consumer stopping; event left for redelivery');
      const decoded = decodeCloudEvent(delivery);
      const validation = decoded.ok ? validateCloudEvent(decoded.candidate) : decoded;
      if (!validation.ok) {
        // A valid event's redelivery is caught inside its transaction (applyOnce); an invalid one
        // never gets there, so look it up before spending the retry budget on it again.
        if (attempt === 0) {
          const recorded = await inboxOutcome(db, eventId);
          if (recorded !== undefined && !(replay && recorded === 'DEAD_LETTERED')) return 'duplicate';
        }
        lastReason = validation.reason;
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
    const type = delivery.headers.ce_type ?? '(none)';
    if (options.handles !== 'all' && !options.handles.includes(type as EventType)) return 'skipped';
    // Without an id the event cannot be deduplicated; its position in the log identifies it instead.
    const eventId = delivery.headers.ce_id || `${delivery.topic}/${delivery.partition}/${delivery.offset}`;
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
