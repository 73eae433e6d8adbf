import type { PatientSex, PrescriptionStatus } from '@medical/contracts';
import type { Hl7Segment } from '@medplum/core';
import { systems } from '../fhir/codes.ts';
import { examinationConcept, type CatalogNames } from '../fhir/concepts.ts';
import type { EncounterRecord, PatientRecord, PersonRecord, ServiceRequestRecord } from '../fhir/records.ts';
import type { CodeableConcept } from '../fhir/resources.ts';
import { segmentOf, type FieldValue, type Hl7Parties } from './segments.ts';
import { hl7Date, hl7Timestamp } from './time.ts';

/**
 * The segments that say who, which visit and which order, from the projection's records: the same
 * records and catalog concepts the FHIR resources are made of (../fhir), so the two feeds name a
 * patient, a department and an examination alike.
 */

/** Administrative sex (HL7 table 0001) of the registry's FHIR codes. */
const sexCode: Record<PatientSex, string> = { female: 'F', male: 'M', other: 'O', unknown: 'U' };

/**
 * PID: the patient number as a medical record number (CX, assigned by the sending facility, the
 * URI of the FHIR identifier's system beside it), the name, birth date and sex when known. The
 * whole name is the family name component: a Korean name is not split into family and given
 * without asking the person (see ../fhir/patient.ts).
 */
export function pidOf(patient: PatientRecord, parties: Hl7Parties): Hl7Segment {
  return segmentOf('PID', {
    1: '1',
    3: [patient.patientId, undefined, undefined, [parties.sendingFacility, systems.patientNumber, 'URI'], 'MR'],
    5: [patient.name, undefined, undefined, undefined, undefined, undefined, 'L'],
    7: patient.birthDate === undefined ? undefined : hl7Date(patient.birthDate),
    8: patient.sex === undefined ? undefined : sexCode[patient.sex],
  });
}

/** PV1: an outpatient visit in its department (the point of care), its reception id the visit number, the doctor attending. */
export function pv1Of(encounter: EncounterRecord, parties: Hl7Parties): Hl7Segment {
  return segmentOf('PV1', {
    1: '1',
    2: 'O',
    3: encounter.department,
    7: personOf(encounter.doctor),
    19: [String(encounter.receptionId), undefined, undefined, parties.sendingFacility, 'VN'],
    44: hl7Timestamp(encounter.receivedAt),
    45: encounter.endedAt === undefined ? undefined : hl7Timestamp(encounter.endedAt),
  });
}

/** The order's status (HL7 table 0038): scheduled while it waits, then completed or cancelled. */
const orderStatus: Record<PrescriptionStatus, string> = { REQUESTED: 'SC', PERFORMED: 'CM', CANCELLED: 'CA' };

/** What an ORC and its OBR say of one prescription and, once requested of the examiners, its examination. */
export type OrderFacts = {
  request: ServiceRequestRecord;
  examinationId?: number;
  catalog: CatalogNames;
  parties: Hl7Parties;
};

/**
 * ORC: `control` what this message does to the order (NW new, CA cancelled, RE results follow),
 * the prescription as placer order number and the examination as filler order number, each an
 * entity identifier of the sending application, which both placed and fills them.
 */
export function orcOf(control: 'NW' | 'CA' | 'RE', order: OrderFacts): Hl7Segment {
  const { request } = order;
  return segmentOf('ORC', {
    1: control,
    2: [request.prescriptionId, order.parties.sendingApplication],
    3: fillerOf(order),
    5: orderStatus[request.status],
    9: hl7Timestamp(request.updatedAt),
    12: personOf(request.doctor),
  });
}

/** OBR's fields about the order; the result's fields (OBR-7, OBR-22, OBR-25) are the ORU's to add. */
export function obrFieldsOf(order: OrderFacts): Record<number, FieldValue> {
  const { request } = order;
  return {
    1: '1',
    2: [request.prescriptionId, order.parties.sendingApplication],
    3: fillerOf(order),
    4: codedElementOf(examinationConcept(order.catalog, request.examinationType)),
    6: hl7Timestamp(request.prescribedAt),
    16: personOf(request.doctor),
  };
}

/** NTE: the doctor's instructions to the examiners, as a comment on the order. */
export function nteOf(text: string): Hl7Segment {
  return segmentOf('NTE', { 1: '1', 2: 'P', 3: text });
}

function fillerOf(order: OrderFacts): FieldValue {
  return order.examinationId === undefined ? undefined : [String(order.examinationId), order.parties.sendingApplication];
}

/** A person as XCN: the token's subject as the identifier, the name (whole, as in PID) when known. */
function personOf(person: PersonRecord | undefined): FieldValue {
  return person === undefined ? undefined : [person.subject, person.name];
}

/** HL7's coding system names (table 0396) of the systems the FHIR concepts use. */
const codingSystemOf: Record<string, string> = { [systems.examination]: 'L', [systems.department]: 'L', [systems.loinc]: 'LN' };

/**
 * A catalog concept as a coded element (CWE): the hospital's code and name first, as the local
 * system `L`, and its LOINC code as the alternate, so a laboratory matches the order by the code
 * it knows. A concept of free text alone (before the codes) is its text.
 */
export function codedElementOf(concept: CodeableConcept): FieldValue {
  const local = concept.coding?.find((c) => c.system !== systems.loinc);
  const loinc = concept.coding?.find((c) => c.system === systems.loinc);
  if (local === undefined) return [undefined, concept.text];
  const alternate = loinc === undefined ? [] : [loinc.code, undefined, codingSystemOf[systems.loinc]];
  return [local.code, local.display ?? concept.text, codingSystemOf[local.system ?? ''] ?? 'L', ...alternate];
}
