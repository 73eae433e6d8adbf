import type { Kysely, Transaction } from 'kysely';
import { forUpdate } from '@medical/platform';
import { encounterStatusOf, taskStatusOf } from '../fhir/codes.ts';
import type { EncounterRecord, PatientRecord, ServiceRequestRecord, TaskRecord } from '../fhir/records.ts';
import type { VisitRecords } from '../domain/visit-records.ts';
import type { EncounterRow, InteropDatabase } from './schema.ts';

type Db = Kysely<InteropDatabase> | Transaction<InteropDatabase>;

/** The projection's writes and loads by key: one visit's records, and a patient's. */

/** A visit's records, its encounter's row locked so two replicas' effects on one visit take turns. */
export async function loadVisitRecords(trx: Transaction<InteropDatabase>, receptionId: number): Promise<VisitRecords | undefined> {
  const row = await forUpdate(trx.selectFrom('interop_encounters').selectAll().where('reception_id', '=', receptionId), trx).executeTakeFirst();
  if (row === undefined) return undefined;
  const requests = await trx.selectFrom('interop_service_requests').select('record').where('reception_id', '=', receptionId).orderBy('prescription_id').execute();
  const tasks = await trx.selectFrom('interop_tasks').select('record').where('reception_id', '=', receptionId).orderBy('examination_id').execute();
  return {
    encounter: JSON.parse(row.record) as EncounterRecord,
    receptionStatus: row.reception_status,
    ...(row.diagnosis_id !== null ? { diagnosisId: row.diagnosis_id } : {}),
    ...(row.diagnosis_status !== null ? { diagnosisStatus: row.diagnosis_status } : {}),
    requests: requests.map((r) => JSON.parse(r.record) as ServiceRequestRecord),
    tasks: tasks.map((t) => JSON.parse(t.record) as TaskRecord),
  };
}

/** What a save changed: the records to announce (subscriptions) and to send (HL7). */
export type ChangedRecords = { encounter?: EncounterRecord; requests: ServiceRequestRecord[]; tasks: TaskRecord[] };

/** Writes the records of `after` that differ from `before` (all of them for a new visit), and says which. */
export async function saveVisitRecords(trx: Transaction<InteropDatabase>, before: VisitRecords | undefined, after: VisitRecords): Promise<ChangedRecords> {
  const changed: ChangedRecords = { requests: [], tasks: [] };
  if (before === undefined || differs(before.encounter, after.encounter) || before.receptionStatus !== after.receptionStatus || before.diagnosisStatus !== after.diagnosisStatus || before.diagnosisId !== after.diagnosisId) {
    await trx.insertInto('interop_encounters').values(encounterRow(after)).onConflict((oc) => oc.column('reception_id').doUpdateSet(encounterRow(after))).execute();
    if (before === undefined || differs(before.encounter, after.encounter)) changed.encounter = after.encounter;
  }
  for (const request of after.requests) {
    const previous = before?.requests.find((r) => r.prescriptionId === request.prescriptionId);
    if (previous !== undefined && !differs(previous, request)) continue;
    const row = { prescription_id: request.prescriptionId, reception_id: request.receptionId, record: JSON.stringify(request), updated_at: request.updatedAt };
    await trx.insertInto('interop_service_requests').values(row).onConflict((oc) => oc.column('prescription_id').doUpdateSet(row)).execute();
    changed.requests.push(request);
  }
  for (const task of after.tasks) {
    const previous = before?.tasks.find((t) => t.examinationId === task.examinationId);
    if (previous !== undefined && !differs(previous, task)) continue;
    const row = {
      examination_id: task.examinationId,
      prescription_id: task.prescriptionId,
      reception_id: task.receptionId,
      status: taskStatusOf(task.status, task.queueState),
      record: JSON.stringify(task),
      updated_at: task.updatedAt,
    };
    await trx.insertInto('interop_tasks').values(row).onConflict((oc) => oc.column('examination_id').doUpdateSet(row)).execute();
    changed.tasks.push(task);
  }
  return changed;
}

function encounterRow(visit: VisitRecords): EncounterRow {
  const { encounter } = visit;
  return {
    reception_id: encounter.receptionId,
    patient_id: encounter.patientId,
    status: encounterStatusOf(encounter),
    // As an instant in UTC, so that the searches' bounds compare with it as text.
    started_at: new Date(encounter.receivedAt).toISOString(),
    reception_status: visit.receptionStatus,
    diagnosis_id: visit.diagnosisId ?? null,
    diagnosis_status: visit.diagnosisStatus ?? null,
    record: JSON.stringify(encounter),
    updated_at: encounter.updatedAt,
  };
}

function differs(a: object, b: object): boolean {
  return a !== b && JSON.stringify(a) !== JSON.stringify(b);
}

export async function loadPatient(db: Db, patientId: string): Promise<PatientRecord | undefined> {
  const row = await db.selectFrom('interop_patients').select('record').where('patient_id', '=', patientId).executeTakeFirst();
  return row === undefined ? undefined : (JSON.parse(row.record) as PatientRecord);
}

export async function savePatient(trx: Transaction<InteropDatabase>, patient: PatientRecord): Promise<void> {
  const row = { patient_id: patient.patientId, record: JSON.stringify(patient), updated_at: patient.updatedAt };
  await trx.insertInto('interop_patients').values(row).onConflict((oc) => oc.column('patient_id').doUpdateSet(row)).execute();
}
