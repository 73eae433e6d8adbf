import type { Hl7Message, Hl7Segment } from '@medplum/core';
import { checkHeader, clip, parseHeader, refusal, textOf, type Refusal } from './inbound-header.ts';
import { readObservations } from './observations.ts';
import { instantOfHl7 } from './time.ts';

/**
 * An ORU^R01 from a laboratory or radiology system, read as the examination result it reports:
 * which examination (OBR-3, the filler order number this service sent in its ORM), the result
 * (the OBX values), and when it was observed. Pure: what to do with it is the lead's.
 */

export type InboundResult = {
  /** MSH-10: what the ACK's MSA-2 answers, and what tells a message sent again from a new one. */
  controlId: string;
  /** OBR-3, the filler order number: the examination id. */
  examinationId: number;
  /** OBR-2, the placer order number: the prescription, when the sender echoes it. */
  prescriptionId?: string;
  /** PID-3, the patient number, when given: the lead checks it is the examination's patient. */
  patientId?: string;
  /** The OBX values in order, one line each. */
  result: string;
  /** OBX-14, else OBR-7, as an ISO 8601 instant. */
  performedAt?: string;
};

export type ReadOptions = {
  /** The zone of a time sent without an offset (an IANA zone: the hospital's); UTC when not given. */
  timeZone?: string;
};

/**
 * The examination result an ORU^R01 reports, or why it is refused: AR when it is not an HL7
 * message, its MSH is missing or garbled, or it is not an ORU^R01 of a supported version; AE when
 * it is one but its content cannot be applied (the examination not named as a number, no value,
 * a result too long, a status other than final or corrected).
 */
export function readResult(text: string, options: ReadOptions = {}): { ok: true; result: InboundResult } | Refusal {
  const parsed = parseHeader(text);
  if (!parsed.ok) return parsed;
  const { header } = parsed;
  const faulty = checkHeader(header);
  if (faulty !== undefined) return faulty;
  if (header.messageCode !== 'ORU' || header.triggerEvent !== 'R01') {
    const type = clip([header.messageCode, header.triggerEvent].filter((part) => part !== '').join('^'));
    return refusal('AR', header.messageCode === 'ORU' ? '201' : '200', `MSH-9 (message type) is "${type}": this listener takes ORU^R01 results only`, { segment: 'MSH', field: 9 });
  }
  const { message } = header;
  const order = readOrder(message, options.timeZone);
  if (!order.ok) return order;
  const observations = readObservations(message, options.timeZone);
  if (!observations.ok) return observations;
  const pid = message.getSegment('PID');
  const patientId = pid === undefined ? '' : textOf(message, pid, 3, 1);
  const performedAt = observations.performedAt ?? order.observedAt;
  const result: InboundResult = { controlId: header.controlId, examinationId: order.examinationId, result: observations.result };
  if (order.prescriptionId !== '') result.prescriptionId = order.prescriptionId;
  if (patientId !== '') result.patientId = patientId;
  if (performedAt !== undefined) result.performedAt = performedAt;
  return { ok: true, result };
}

type Order = { ok: true; examinationId: number; prescriptionId: string; observedAt?: string };

/** The one OBR: its filler order number as the examination id, its placer order number, OBR-7. */
function readOrder(message: Hl7Message, timeZone: string | undefined): Order | Refusal {
  const requests = message.getAllSegments('OBR');
  if (requests.length === 0) return refusal('AE', '100', 'OBR (observation request) is missing: it names the examination', { segment: 'OBR' });
  if (requests.length > 1) return refusal('AE', '100', `the message has ${requests.length} OBR segments: send the result of one examination per message`, { segment: 'OBR' });
  const obr = requests[0] as Hl7Segment;
  const filler = textOf(message, obr, 3, 1);
  if (filler === '') return refusal('AE', '101', 'OBR-3 (filler order number) is missing: it must be the examination id this hospital sent in its order', { segment: 'OBR', field: 3 });
  if (!/^[1-9][0-9]{0,15}$/.test(filler) || !Number.isSafeInteger(Number(filler))) {
    return refusal('AE', '102', `OBR-3 (filler order number) "${clip(filler)}" is not an examination id (a positive whole number)`, { segment: 'OBR', field: 3 });
  }
  const observed = textOf(message, obr, 7);
  const order: Order = { ok: true, examinationId: Number(filler), prescriptionId: textOf(message, obr, 2, 1) };
  if (observed === '') return order;
  const observedAt = instantOfHl7(observed, timeZone);
  if (observedAt === undefined) return refusal('AE', '102', `OBR-7 (observation date/time) "${clip(observed)}" is not an HL7 date and time`, { segment: 'OBR', field: 7 });
  return { ...order, observedAt };
}
