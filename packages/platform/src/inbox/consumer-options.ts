import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { CloudEvent, EventType } from '@medical/contracts';
import type { OutboxTables } from '../outbox/tables.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import type { Tracing } from '../telemetry/tracing.ts';
import type { InboxTables } from './tables.ts';

/** The tables the consumer writes itself: the inbox and the positions, and the outbox (dead letters). */
export type ConsumerTables = InboxTables & OutboxTables;

/**
 * The effect of one event, run inside the transaction that also records the event id in the
 * inbox. Returning normally commits both; throwing rolls both back and the event is retried.
 */
export type EventEffect<Tx> = (trx: Tx, event: CloudEvent) => Promise<void>;

/** `Tx` is the service's transaction, which the consumer hands to the effect unopened. */
export type IdempotentConsumerOptions<Tx> = {
  serviceName: string;
  db: Kysely<InboxTables>;
  /** The database port's transaction (on PostgreSQL re-run on a deadlock). */
  transaction: <T>(work: (trx: Tx) => Promise<T>) => Promise<T>;
  /** The same transaction, seen with the consumer's own tables (the service kit's platformTables). */
  ownTables: (trx: Tx) => Transaction<ConsumerTables>;
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
  effect: EventEffect<Tx>;
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
