import type { EventDataOf } from '@medical/contracts';
import type { PatientRecord } from '../fhir/records.ts';

/**
 * A patient as the visits' events name them. Each registration carries the registry's name,
 * birth date and sex at that moment, so the latest registration's are the patient's (a correction at the
 * desk reaches FHIR with the next visit); an older event replayed never takes them back.
 */
export function registeredPatient(current: PatientRecord | undefined, d: Pick<EventDataOf<'ReceptionCompleted'>, 'patientId' | 'patientName' | 'birthDate' | 'sex'>, at: string): PatientRecord {
  if (current !== undefined && Date.parse(current.updatedAt) > Date.parse(at)) return current;
  const next: PatientRecord = { patientId: d.patientId, name: d.patientName, updatedAt: at };
  if (d.birthDate !== undefined) next.birthDate = d.birthDate;
  // A visit of before the events carried the sex says nothing about it: the one known stays.
  const sex = d.sex ?? current?.sex;
  if (sex !== undefined) next.sex = sex;
  if (current?.mergedInto !== undefined) next.mergedInto = current.mergedInto;
  return current !== undefined && sameDetails(current, next) ? current : next;
}

/** The duplicate a merge folded into another registration: it points to the patient kept. */
export function mergedPatient(current: PatientRecord | undefined, d: EventDataOf<'ReceptionPatientMerged'>, at: string): PatientRecord {
  if (current?.mergedInto === d.patientId) return current;
  const name = current?.name ?? d.patientName;
  return { ...(current ?? {}), patientId: d.previousPatientId, name, mergedInto: d.patientId, updatedAt: at };
}

function sameDetails(a: PatientRecord, b: PatientRecord): boolean {
  return a.name === b.name && a.birthDate === b.birthDate && a.sex === b.sex && a.mergedInto === b.mergedInto;
}
