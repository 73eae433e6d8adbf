import { Hl7Message } from '@medplum/core';
import net from 'node:net';
import { unescapeText } from './escaping.ts';
import { frameOf, frameReader } from './mllp-framing.ts';

/**
 * The two adapters of the HL7 feed, its only I/O: sending one message to the interface engine
 * and waiting for its ACK, and the listener that laboratory and radiology systems send results to.
 */

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** The receiver's answer: its code (MSA-1), its reason when it gave one (ERR-8, else MSA-3), and the ACK itself. */
export type Acknowledged = { code: AckCode; text?: string; ack: string };

/** Why a message was not acknowledged: the caller retries all three. */
export class MllpError extends Error {
  override name = 'MllpError';
  readonly kind: 'timeout' | 'connection' | 'protocol';
  constructor(kind: 'timeout' | 'connection' | 'protocol', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/**
 * Sends one message and resolves with the ACK whose MSA-2 is its control id; an ACK of another
 * message (node-hl7-server answers every earlier message of a connection again) is passed over. A NAK (AE, AR)
 * resolves too: what to do with it is the caller's. Rejects with an MllpError when the connection
 * fails or closes first, or nothing answers within `timeoutMs`. Each message has a connection of
 * its own, closed once answered: the deliveries are one at a time anyway, and no connection
 * outlives a failure or carries a stale answer into the next delivery.
 */
export function sendOverMllp(options: { host: string; port: number; timeoutMs: number }, message: string): Promise<Acknowledged> {
  const controlId = message.startsWith('MSH') ? (Hl7Message.parse(message).getSegment('MSH')?.getField(10)?.toString() ?? '') : '';
  if (controlId === '') return Promise.reject(new MllpError('protocol', 'the message has no control id (MSH-10) to match its ACK with'));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    const reader = frameReader();
    const settle = (outcome: { ack: Acknowledged } | { error: MllpError }) => {
      clearTimeout(timer);
      socket.destroy();
      if ('ack' in outcome) resolve(outcome.ack);
      else reject(outcome.error);
    };
    const timer = setTimeout(() => settle({ error: new MllpError('timeout', `no ACK within ${options.timeoutMs} ms`) }), options.timeoutMs);
    socket.on('connect', () => socket.write(frameOf(message)));
    socket.on('data', (chunk) => {
      try {
        for (const frame of reader.push(chunk)) {
          const ack = acknowledgedOf(frame, controlId);
          if (ack !== undefined) return settle({ ack });
        }
      } catch (error) {
        settle({ error: new MllpError('protocol', 'the answer could not be read as an ACK', { cause: error }) });
      }
    });
    socket.on('error', (error) => settle({ error: new MllpError('connection', `connection to ${options.host}:${options.port} failed: ${error.message}`, { cause: error }) }));
    socket.on('close', () => settle({ error: new MllpError('connection', 'the connection closed before the ACK came') }));
  });
}

/** The ACK in a frame if it answers `controlId`; undefined for another message's. Throws when the frame is no ACK at all. */
function acknowledgedOf(frame: string, controlId: string): Acknowledged | undefined {
  const ack = Hl7Message.parse(frame.replace(/^[\r\n]+/, ''));
  const msa = ack.getSegment('MSA');
  const code = ack.getAckType();
  if (msa === undefined || code === undefined) throw new Error('no MSA segment with a known acknowledgement code');
  if (msa.getField(2)?.toString() !== controlId) return undefined;
  const text = ack.getSegment('ERR')?.getField(8)?.toString() || msa.getField(3)?.toString() || '';
  return text === '' ? { code, ack: frame } : { code, text: unescapeText(text, ack.context), ack: frame };
}
