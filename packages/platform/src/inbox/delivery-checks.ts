import { sourceOf, validateCloudEvent, type EventValidation, type MedicalEvent } from '@medical/contracts';
import { describeUndecodable } from '../transport/delivery-decoding.ts';
import { decodeCloudEvent } from '../transport/envelope.ts';
import type { Delivery } from '../transport/transport.ts';

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

export function isReplay(delivery: Delivery): boolean {
  return Boolean(delivery.headers[REPLAY_OF_HEADER]);
}

/** A replay addressed to other consumer groups than `group`: not this service's to apply. */
export function isReplayForOthers(delivery: Delivery, group: string): boolean {
  const replayFor = delivery.headers[REPLAY_FOR_HEADER];
  return isReplay(delivery) && replayFor !== undefined && !replayFor.split(',').includes(group);
}

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
export function validateDelivery(delivery: Delivery): EventValidation {
  if (delivery.undecodable && delivery.undecodable.length > 0) {
    return { ok: false, reason: `undecodable message: ${describeUndecodable(delivery.undecodable)}` };
  }
  const decoded = decodeCloudEvent(delivery);
  const validation = decoded.ok ? validateCloudEvent(decoded.candidate) : decoded;
  if (!validation.ok) return validation;
  const { type, source, data } = validation.event;
  // Only the producer of an event may send it (the contracts' eventProducers and sourceOf): an
  // event of the doctor's from the reception's side is a forgery or a bug, never applied. Kafka's
  // ACLs keep other writers off the topic; this holds even where they are missing.
  const producer = sourceOf({ type, data } as MedicalEvent);
  if (source !== producer) return { ok: false, reason: `${type} must come from ${producer}, not from ${source}` };
  const nul = pointerToNul(data);
  return nul ? { ok: false, reason: `invalid ${type} data: ${nul} must not contain the NUL character (U+0000)` } : validation;
}
