import { genderOf, systems } from './codes.ts';
import type { PatientRecord } from './records.ts';
import { referenceTo, type Patient } from './resources.ts';

/**
 * A patient of the registry as FHIR's Patient, its id the patient number. The name is given as
 * `text` only: a Korean name has no spaces to split at, and a one-syllable family name cannot be
 * told from a two-syllable one (남궁민수) without asking the person, so family and given are not guessed.
 */
export function patientOf(record: PatientRecord): Patient {
  const patient: Patient = {
    resourceType: 'Patient',
    id: record.patientId,
    meta: { lastUpdated: record.updatedAt },
    identifier: [{ system: systems.patientNumber, value: record.patientId }],
    active: record.mergedInto === undefined,
    name: [{ text: record.name }],
  };
  if (record.sex !== undefined) patient.gender = genderOf[record.sex];
  if (record.birthDate !== undefined) patient.birthDate = record.birthDate;
  // A merged duplicate points to the registration kept, as the registry's number does.
  if (record.mergedInto !== undefined) patient.link = [{ other: referenceTo('Patient', record.mergedInto), type: 'replaced-by' }];
  return patient;
}
