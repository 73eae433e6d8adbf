import { Buffer, isUtf8 } from 'node:buffer';
import type { Delivery, UndecodablePart } from './transport.ts';

/**
 * How a transport turns the bytes it reads into a delivery's strings. Both transports hold
 * bytes that no producer of ours could have written (another client on the Kafka topic, a
 * hand-edited log file), and a consumer must still get through them: it dead-letters such a
 * message and goes on (inbox/consumer.ts).
 *
 * Bytes that are not UTF-8 are decoded the lenient way (U+FFFD in place of each bad sequence),
 * so every string stays usable, and are listed in `undecodable` with their original bytes: the
 * consumer then knows the message is not the one its producer sent as text, and the dead letter
 * keeps those bytes (inbox/dead-letter-message.ts). Decoding itself never throws: a transport that
 * failed on a message would meet it again at the same offset forever.
 */

/** Decodes the parts of one message, collecting those that are not UTF-8. */
export class Utf8Decoding {
  readonly undecodable: UndecodablePart[] = [];

  text(bytes: Uint8Array | null | undefined, part: UndecodablePart['part'], name?: string): string {
    if (!bytes || bytes.length === 0) return '';
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const text = buffer.toString('utf8');
    if (!isUtf8(buffer)) {
      this.undecodable.push({ part, ...(name === undefined ? {} : { name }), problem: part === 'headers' ? 'are not UTF-8' : 'is not UTF-8', bytes: Uint8Array.from(buffer) });
    }
    return text;
  }

  /** Records a part that decoded as text but is not what the transport stores there. */
  malformed(part: UndecodablePart['part'], problem: string, bytes: Uint8Array): void {
    this.undecodable.push({ part, problem, bytes: Uint8Array.from(bytes) });
  }

  /** The delivery with `undecodable` set only when something was. */
  deliver(delivery: Delivery): Delivery {
    return this.undecodable.length > 0 ? { ...delivery, undecodable: this.undecodable } : delivery;
  }
}

/** What a dead-letter reason says about the parts that were not text: `value is not UTF-8; header "ce_id" is not UTF-8`. */
export function describeUndecodable(parts: readonly UndecodablePart[]): string {
  return parts.map((p) => `${p.part}${p.name === undefined ? '' : ` ${JSON.stringify(p.name)}`} ${p.problem}`).join('; ');
}
