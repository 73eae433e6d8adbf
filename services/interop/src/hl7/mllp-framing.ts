/**
 * MLLP framing (HL7 v2 Minimal Lower Layer Protocol): a message is sent as a start block (0x0B),
 * its bytes, an end block (0x1C) and a carriage return. Written here on node:net rather than
 * taken from @medplum/hl7, whose only release pins an older @medplum/core (a second copy whose
 * Hl7Message the type checker rightly refuses to mix with ours) and whose connection keeps no
 * limit on a frame's size, drops a frame it cannot parse without a word, and binds to every
 * interface; the little there is to MLLP is this file.
 */

const START_BLOCK = 0x0b;
const END_BLOCK = 0x1c;
const CARRIAGE_RETURN = 0x0d;

/** The largest frame a peer may send before the connection is closed: far above any ORU with a 10,000-character result. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/** One message as its frame, UTF-8 encoded (MSH-18 says so). */
export function frameOf(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.of(START_BLOCK), body, Buffer.of(END_BLOCK, CARRIAGE_RETURN)]);
}

export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
}

/**
 * Reads frames out of a stream's chunks, however the chunks cut them. Bytes between frames are
 * ignored (MLLP lets a receiver skip them); a frame growing past `maxFrameBytes` throws
 * FrameTooLargeError, after which the connection is to be closed.
 */
export function frameReader(maxFrameBytes = MAX_FRAME_BYTES): { push(chunk: Buffer): string[] } {
  let frame: Buffer | undefined; // the bytes after a start block, while its end has not come
  return {
    push(chunk: Buffer): string[] {
      const messages: string[] = [];
      let rest = chunk;
      while (rest.length > 0) {
        if (frame === undefined) {
          const start = rest.indexOf(START_BLOCK);
          if (start === -1) break;
          frame = Buffer.alloc(0);
          rest = rest.subarray(start + 1);
        }
        // Search from the last byte already held: its end block may have come in the chunk before.
        const from = Math.max(0, frame.length - 1);
        frame = Buffer.concat([frame, rest]);
        const end = endOf(frame, from);
        if (end === -1) {
          if (frame.length > maxFrameBytes) throw new FrameTooLargeError(`an MLLP frame grew past ${maxFrameBytes} bytes`);
          break;
        }
        if (end > maxFrameBytes) throw new FrameTooLargeError(`an MLLP frame grew past ${maxFrameBytes} bytes`);
        messages.push(frame.subarray(0, end).toString('utf8'));
        rest = frame.subarray(end + 2);
        frame = undefined;
      }
      return messages;
    },
  };
}

/** Where the end block followed by its carriage return starts, from `from` on; -1 when not yet there. */
function endOf(bytes: Buffer, from: number): number {
  for (let at = bytes.indexOf(END_BLOCK, from); at !== -1; at = bytes.indexOf(END_BLOCK, at + 1)) {
    if (at + 1 >= bytes.length) return -1;
    if (bytes[at + 1] === CARRIAGE_RETURN) return at;
  }
  return -1;
}
