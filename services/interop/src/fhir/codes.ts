import type { ExaminationStatus, PatientSex, PrescriptionStatus, VisitStage } from '@medical/contracts';
import type { EncounterRecord, QueueState } from './records.ts';

/**
 * The code systems the FHIR resources use, and how the workflow's states read in FHIR's value
 * sets. The hospital's own codes (patient numbers, departments, examinations) are named by `urn:`
 * systems of this project; the states by FHIR's required value sets.
 */

export const FHIR_VERSION = '4.0.1';

export const systems = {
  patientNumber: 'urn:medical:patient-number',
  queueNumber: 'urn:medical:queue-number',
  department: 'urn:medical:department',
  examination: 'urn:medical:examination',
  queueState: 'urn:medical:queue-state',
  loinc: 'http://loinc.org',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  participationType: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
} as const;

/** Encounter.status (required binding, http://hl7.org/fhir/encounter-status). */
export type EncounterStatus = 'planned' | 'arrived' | 'in-progress' | 'finished' | 'cancelled';

/**
 * A visit's stage as an Encounter status. No stage is `planned`: a visit exists from the moment
 * the desk registers the patient standing there, so it starts `arrived`. Waiting for the doctor
 * is still `arrived` (in the waiting room) until the doctor calls the patient in, then
 * `in-progress` (encounterStatusOf). Examinations are part of the encounter, so pending or done
 * it stays `in-progress` while the doctor has not concluded. A concluded diagnosis, completed or
 * rejected, ends the clinical encounter even though the desk has yet to confirm it: `finished`,
 * and `finished` the desk's confirmation too. A cancelled reception is `cancelled`.
 */
export const encounterStatusOfStage: Record<VisitStage, EncounterStatus> = {
  RECEIVED: 'arrived',
  WAITING_FOR_DOCTOR: 'arrived',
  IN_EXAMINATION: 'in-progress',
  EXAMINATIONS_DONE: 'in-progress',
  DIAGNOSIS_COMPLETED: 'finished',
  DIAGNOSIS_REJECTED: 'finished',
  CONFIRMED: 'finished',
  CANCELLED: 'cancelled',
};

/**
 * The Encounter status of a visit: its stage's, but `in-progress` once the doctor has called the
 * patient in. The one derivation the resource, its search column and the subscriptions all read.
 */
export function encounterStatusOf(record: Pick<EncounterRecord, 'stage' | 'calledAt'>): EncounterStatus {
  if (record.stage === 'WAITING_FOR_DOCTOR' && record.calledAt !== undefined) return 'in-progress';
  return encounterStatusOfStage[record.stage];
}

/** ServiceRequest.status (required, http://hl7.org/fhir/request-status): a cancelled prescription is revoked. */
export const serviceRequestStatusOf: Record<PrescriptionStatus, 'active' | 'completed' | 'revoked'> = {
  REQUESTED: 'active',
  PERFORMED: 'completed',
  CANCELLED: 'revoked',
};

export type TaskStatus = 'requested' | 'in-progress' | 'completed' | 'cancelled';

/** Task.status (required, http://hl7.org/fhir/task-status): a requested examination whose patient was called is under way. */
export function taskStatusOf(status: ExaminationStatus, queueState: QueueState | undefined): TaskStatus {
  if (status === 'PERFORMED') return 'completed';
  if (status === 'CANCELLED') return 'cancelled';
  return queueState === 'CALLED' ? 'in-progress' : 'requested';
}

/** Task.businessStatus: where the patient stands in the examiners' queue, in the hospital's words. */
export const queueStateDisplay: Record<QueueState, string> = {
  WAITING: 'Waiting to be called',
  CALLED: 'Called to the room',
  NO_SHOW: 'Called, did not come',
};

/** Patient.gender (required, http://hl7.org/fhir/administrative-gender): the registry keeps FHIR's own codes. */
export const genderOf: Record<PatientSex, 'female' | 'male' | 'other' | 'unknown'> = {
  female: 'female',
  male: 'male',
  other: 'other',
  unknown: 'unknown',
};
