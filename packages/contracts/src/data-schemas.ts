import type { EventType } from './events.ts';

/**
 * The schema version every event carries, as its CloudEvents `dataschema` attribute (the
 * `ce_dataschema` header in binary mode): `urn:medical:events:<type>:<version>`, for instance
 * `urn:medical:events:ReceptionCompleted:1`. The URN names the data schema of `eventSchemas` in
 * events.ts at that version; there is no document to fetch, the schemas live in this package.
 *
 * The version is a major version. A change that older consumers can read (a new optional field:
 * every data schema accepts unknown properties) keeps it; a change they cannot (a field removed,
 * renamed, retyped or made required) makes a new version, and this table then lists both until no
 * producer writes the old one.
 *
 * Consumers accept an event without `dataschema` (written by a producer older than this
 * attribute), validate it when it is there, and skip, counting it, an event of a version they do
 * not read, as they skip an event of a type they do not know: both come from a newer producer
 * during a rolling upgrade. A skipped event is not applied later, so consumers are upgraded
 * before the producers that start writing a new type or version; medical_events_skipped_total
 * is how an operator sees that order was broken.
 */
export const eventSchemaVersions: Record<EventType, readonly number[]> = {
  ReceptionCompleted: [1],
  ReceptionCancelled: [1],
  ReceptionConfirmed: [1],
  ReceptionPatientMerged: [1],
  DiagnosisRegistered: [1],
  ExaminationPrescribed: [1],
  ExaminationRequested: [1],
  ExaminationPerformed: [1],
  ExaminationCancelled: [1],
  DiagnosisCompleted: [1],
  DiagnosisRejected: [1],
  DiagnosisCancelled: [1],
  BreakGlassAccessed: [1],
  PatientCalled: [1],
  PatientNoShow: [1],
};

const DATA_SCHEMA_PREFIX = 'urn:medical:events:';
const dataSchemaPattern = /^urn:medical:events:([A-Za-z][A-Za-z0-9]*):([1-9][0-9]{0,5})$/;

/** The version producers write: the newest one of the type. */
export function currentSchemaVersion(type: EventType): number {
  return Math.max(...eventSchemaVersions[type]);
}

/** The `dataschema` of an event of `type`, at the version producers write now. */
export function dataSchemaOf(type: EventType, version: number = currentSchemaVersion(type)): string {
  return `${DATA_SCHEMA_PREFIX}${type}:${version}`;
}

/** The type and version a `dataschema` names, or undefined when it is not a URN of this contract's form. */
export function parseDataSchema(uri: string): { type: string; version: number } | undefined {
  const match = dataSchemaPattern.exec(uri);
  return match ? { type: match[1]!, version: Number(match[2]) } : undefined;
}

export function readsSchemaVersion(type: EventType, version: number): boolean {
  return eventSchemaVersions[type].includes(version);
}
