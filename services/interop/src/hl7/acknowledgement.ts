import type { Hl7Segment } from '@medplum/core';
import { hl7ErrorCodes, parseHeader, type ErrorLocation, type Hl7ErrorCode, type InboundHeader } from './inbound-header.ts';
import { headerOf, messageText, segmentOf, type Hl7Parties } from './segments.ts';

/**
 * The ACK the listener answers an inbound message with (original acknowledgement mode): MSA-1
 * the code, MSA-2 the control id it answers, and for a refusal an ERR saying why. Built here
 * rather than with @medplum/core's `buildAck`, which stamps the time and its own control id
 * from the clock and needs an MSH to copy: this one is the caller's to stamp, and a text with no
 * MSH at all still gets its AR.
 */

/** The caller's part of an ACK: who answers (MSH-3, MSH-4), its control id and timestamp (ISO 8601). */
export type AckMeta = {
  sender: Pick<Hl7Parties, 'sendingApplication' | 'sendingFacility'>;
  controlId: string;
  timestamp: string;
};

/** Why a message is refused: a reason in plain words, the HL7 error code (207, an application error, when not given) and where. */
export type AckProblem = { reason: string; error?: Hl7ErrorCode; location?: ErrorLocation };

/**
 * The ACK of `inbound` (the text received): AA, or AE/AR with the problem in an ERR (and in MSA-3,
 * for engines of before ERR-8). It is addressed back to the inbound's sender and names its trigger
 * event; an inbound whose MSH cannot be read is answered all the same, its MSA-2 empty.
 */
export function acknowledgement(inbound: string, code: 'AA' | 'AE' | 'AR', problem: string | AckProblem | undefined, meta: AckMeta): string {
  const parsed = parseHeader(inbound);
  const header: InboundHeader | undefined = parsed.ok ? parsed.header : undefined;
  const said = typeof problem === 'string' ? { reason: problem } : problem;
  const parties: Hl7Parties = {
    ...meta.sender,
    receivingApplication: header?.sendingApplication ?? '',
    receivingFacility: header?.sendingFacility ?? '',
  };
  const trigger = header?.triggerEvent ?? '';
  const segments = [
    headerOf({ parties, controlId: meta.controlId, timestamp: meta.timestamp }, trigger === '' ? ['ACK'] : ['ACK', trigger, 'ACK']),
    segmentOf('MSA', { 1: code, 2: header?.controlId ?? '', 3: code === 'AA' ? undefined : said?.reason }),
  ];
  if (code !== 'AA') segments.push(errorSegmentOf(said ?? { reason: code === 'AR' ? 'the message was rejected' : 'the message could not be applied' }));
  return messageText(segments);
}

/** ERR: where (ERR-2), the table 0357 code (ERR-3), severity error (ERR-4), the reason for people (ERR-8). */
function errorSegmentOf(problem: AckProblem): Hl7Segment {
  const error = problem.error ?? '207';
  const { location } = problem;
  return segmentOf('ERR', {
    2: location === undefined ? undefined : [location.segment, String(location.sequence ?? 1), location.field === undefined ? undefined : String(location.field)],
    3: [error, hl7ErrorCodes[error], 'HL70357'],
    4: 'E',
    8: problem.reason,
  });
}
