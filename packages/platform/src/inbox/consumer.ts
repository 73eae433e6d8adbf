import { tracingOff } from '../telemetry/tracing.ts';
import { InBatches } from './batches.ts';
import type { IdempotentConsumerOptions } from './consumer-options.ts';
import { DEAD_LETTER_ID_HEADER } from './dead-letter-message.ts';
import { createTypeLabels } from './event-labels.ts';
import { OneAtATime } from './one-at-a-time.ts';

export { DEAD_LETTER_ID_HEADER };
export { REPLAY_FOR_HEADER, REPLAY_OF_HEADER } from './delivery-checks.ts';
export type { HandlingOutcome } from './event-spans.ts';
export type { ConsumerTables, EventEffect, IdempotentConsumerOptions } from './consumer-options.ts';

/**
 * Idempotent consumer with retries and a dead-letter destination: at-least-once delivery from
 * the transport becomes exactly-once effect in the service's database. Two paths share the
 * inbox: the transport's batches go through `handleBatch` (batches.ts: runs of plain events, a
 * transaction per run), and what a run cannot take goes one at a time (one-at-a-time.ts: replays,
 * invalid events, retries, dead letters). The consumer itself is that one-at-a-time handler.
 */
export function createIdempotentConsumer<Tx>(options: IdempotentConsumerOptions<Tx>) {
  const naming = { tracer: (options.tracing ?? tracingOff()).tracer, serviceName: options.serviceName, ...(options.messagingSystem ? { messagingSystem: options.messagingSystem } : {}) };
  // One labeller for both paths: it remembers the foreign type names it has given a label.
  const typeLabel = createTypeLabels();
  const { handle } = new OneAtATime(options, naming, typeLabel);
  const { handleBatch, resumeFrom } = new InBatches(options, naming, typeLabel, handle);
  return Object.assign(handle, { handleBatch, resumeFrom });
}
