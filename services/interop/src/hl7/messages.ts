import { examinationConcept, type CatalogNames } from '../fhir/concepts.ts';
import type { EncounterRecord, PatientRecord, ServiceRequestRecord, TaskRecord } from '../fhir/records.ts';
import { headerOf, messageText, segmentOf, type MessageMeta } from './segments.ts';
import { hl7Timestamp } from './time.ts';
import { codedElementOf, nteOf, obrFieldsOf, orcOf, pidOf, pv1Of, type OrderFacts } from './visit-segments.ts';

/**
 * The HL7 v2.5.1 messages the interface engine is sent, one per event of a visit: ADT^A04 when
 * the patient is registered, ORM^O01 when an examination is prescribed (and again, ORC-1 `CA`,
 * when it is cancelled), ORU^R01 when it is performed. Pure: the records, the catalog and the
 * caller's control id and timestamp in, the message's text out, the same text every time.
 */

/** ADT^A04 (register a patient): MSH, EVN, PID, PV1. */
export function registrationMessage(patient: PatientRecord, encounter: EncounterRecord, meta: MessageMeta): string {
  return messageText([
    headerOf(meta, ['ADT', 'A04', 'ADT_A01']),
    segmentOf('EVN', { 2: hl7Timestamp(encounter.receivedAt), 6: hl7Timestamp(encounter.receivedAt) }),
    pidOf(patient, meta.parties),
    pv1Of(encounter, meta.parties),
  ]);
}

/**
 * ORM^O01 (an order): MSH, PID, PV1, ORC, OBR and the doctor's instructions as NTE. A revoked
 * prescription (`CANCELLED`) is the order's cancellation, ORC-1 `CA`. The examination id is the
 * filler order number once the examination service has one (ExaminationRequested); a laboratory
 * answers with it in its ORU's OBR-3.
 */
export function orderMessage(
  request: ServiceRequestRecord,
  patient: PatientRecord,
  encounter: EncounterRecord,
  catalog: CatalogNames,
  meta: MessageMeta,
  examinationId?: number,
): string {
  const order: OrderFacts = { request, examinationId, catalog, parties: meta.parties };
  const instructions = request.instructions === undefined ? [] : [nteOf(request.instructions)];
  return messageText([
    headerOf(meta, ['ORM', 'O01', 'ORM_O01']),
    pidOf(patient, meta.parties),
    pv1Of(encounter, meta.parties),
    orcOf(request.status === 'CANCELLED' ? 'CA' : 'NW', order),
    segmentOf('OBR', obrFieldsOf(order)),
    ...instructions,
  ]);
}

/**
 * ORU^R01 (a result): MSH, PID, PV1, ORC `RE`, OBR final (`F`), and the result as one OBX of
 * text data (TX), final, observed when the examination was performed. Its line breaks
 * and delimiters travel as escape sequences, so the text arrives as it was written.
 */
export function resultMessage(
  task: TaskRecord,
  request: ServiceRequestRecord,
  patient: PatientRecord,
  encounter: EncounterRecord,
  catalog: CatalogNames,
  meta: MessageMeta,
): string {
  if (task.result === undefined || task.performedAt === undefined) {
    throw new Error(`examination ${task.examinationId} has no result to send: it is ${task.status}`);
  }
  const performed: ServiceRequestRecord = { ...request, status: 'PERFORMED' };
  const order: OrderFacts = { request: performed, examinationId: task.examinationId, catalog, parties: meta.parties };
  const observedAt = hl7Timestamp(task.performedAt);
  return messageText([
    headerOf(meta, ['ORU', 'R01', 'ORU_R01']),
    pidOf(patient, meta.parties),
    pv1Of(encounter, meta.parties),
    orcOf('RE', order),
    segmentOf('OBR', { ...obrFieldsOf(order), 7: observedAt, 22: observedAt, 25: 'F' }),
    segmentOf('OBX', {
      1: '1',
      2: 'TX',
      3: codedElementOf(examinationConcept(catalog, task.examinationType)),
      5: task.result,
      11: 'F',
      14: observedAt,
    }),
  ]);
}
