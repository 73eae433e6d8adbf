import { Buffer } from 'node:buffer';
import type { Delivery, TransportMessage, UndecodablePart } from '../transport/transport.ts';

/** The header carrying a dead letter's own id (a UUID), set when the letter is written. */
export const DEAD_LETTER_ID_HEADER = 'dlq_id';

export type DeadLetterFacts = {
  id: string;
  topic: string;
  reason: string;
  consumerGroup: string;
  failedAt: string;
};

/**
 * The dead letter of a delivery: the original message (key, value, headers) plus the `dlq_*`
 * headers. It goes through the outbox's text columns and then onto a topic, so each part is kept
 * in a form every database stores, whatever the message held:
 *
 * - The key and the value as they came when they are text without U+0000. Otherwise (a NUL,
 *   which PostgreSQL refuses in text with error 22021, or bytes that were not UTF-8) as base64 of
 *   the original bytes, said by `dlq_key_encoding: base64` / `dlq_value_encoding: base64`. Such a
 *   value was never a valid event (JSON carries a NUL only escaped), so nothing is lost for a
 *   replay: it could only be dead-lettered again.
 * - The headers as they came: the outbox keeps them as JSON, which escapes any character (a NUL
 *   is stored as \u0000, and is a NUL again on the dead-letter topic). What was not UTF-8 in them
 *   (a header's name or value, the embedded log's whole header column) is delivered decoded the
 *   lenient way, and its original bytes are in `dlq_undecodable`: a JSON array of
 *   `{ part, name?, problem, base64 }`.
 */
export function deadLetterMessage(delivery: Delivery, facts: DeadLetterFacts): TransportMessage {
  const undecodable = delivery.undecodable ?? [];
  const key = storedText(delivery.key, undecodable.find((p) => p.part === 'key'));
  const value = storedText(delivery.value, undecodable.find((p) => p.part === 'value'));
  const headerParts = undecodable.filter((p) => p.part !== 'key' && p.part !== 'value');
  const headers: Record<string, string> = {
    ...delivery.headers,
    // The letter's own id, the same on both transports: what `npm run dead-letters` lists and replays.
    [DEAD_LETTER_ID_HEADER]: facts.id,
    dlq_reason: facts.reason.slice(0, 2000),
    dlq_original_topic: delivery.topic,
    dlq_original_partition: String(delivery.partition),
    dlq_original_offset: delivery.offset,
    dlq_consumer_group: facts.consumerGroup,
    dlq_failed_at: facts.failedAt,
  };
  if (key.base64) headers.dlq_key_encoding = 'base64';
  if (value.base64) headers.dlq_value_encoding = 'base64';
  if (headerParts.length > 0) {
    headers.dlq_undecodable = JSON.stringify(
      headerParts.map((p) => ({ part: p.part, ...(p.name === undefined ? {} : { name: p.name }), problem: p.problem, base64: base64(p.bytes) })),
    );
  }
  return { topic: facts.topic, key: key.text, headers, value: value.text };
}

function storedText(text: string, undecodable: UndecodablePart | undefined): { text: string; base64: boolean } {
  if (undecodable) return { text: base64(undecodable.bytes), base64: true };
  if (text.includes('\u0000')) return { text: Buffer.from(text, 'utf8').toString('base64'), base64: true };
  return { text, base64: false };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
