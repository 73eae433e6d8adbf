import { isEventType } from '@medical/contracts';
import type { Delivery } from '../transport/transport.ts';

/**
 * The names a consumer gives an event in its own records (inbox and outbox rows, metric labels,
 * span names, logs), taken from headers anyone can write. Each is bounded and printable, so that
 * no header can make those writes fail (a NUL in a PostgreSQL text column, an id too long for the
 * inbox's primary key index) or grow a metric without end.
 */

const PRINTABLE_ID = /^[\x21-\x7e]{1,200}$/;
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9._:/-]{0,99}$/;
/** Distinct type names outside the contract that one consumer labels by name; the rest are '(other)'. */
const MAX_FOREIGN_TYPES = 100;

/**
 * The key of the event in the inbox: its `ce_id` when that is printable ASCII of a sane length
 * (a valid event's is a UUID), else its position `topic/partition/offset`, which identifies the
 * message in its log. An event without an id, or with one that is not a sane string, is not a
 * valid event: the inbox only has to remember that this message was dead-lettered.
 */
export function inboxIdOf(delivery: Delivery): string {
  const id = delivery.headers.ce_id;
  return id !== undefined && PRINTABLE_ID.test(id) ? id : `${delivery.topic}/${delivery.partition}/${delivery.offset}`;
}

/**
 * The label of an event type: a type of the contract as it is; another name that looks like a
 * type name as it is, for the first MAX_FOREIGN_TYPES of them, then '(other)'; no `ce_type` is
 * '(none)', and one that is not a type name '(invalid)'.
 */
export function createTypeLabels(): (type: string | undefined) => string {
  const foreign = new Set<string>();
  return (type) => {
    if (type === undefined) return '(none)';
    if (isEventType(type)) return type;
    if (!TYPE_NAME.test(type)) return '(invalid)';
    if (foreign.has(type)) return type;
    if (foreign.size >= MAX_FOREIGN_TYPES) return '(other)';
    foreign.add(type);
    return type;
  };
}
