import { sql, type Kysely, type Transaction } from 'kysely';
import { fetchPage, forUpdate, type PageRequest } from '@medical/platform';
import type { DiagnosisStatus, PageOf } from '@medical/contracts';
import type { Diagnosis, Prescription } from '../domain/diagnosis.ts';
import type { ListedDepartments } from '../domain/departments.ts';
import type { DiagnosisDatabase, DiagnosisRow, PrescriptionRow } from './schema.ts';

type Db = Kysely<DiagnosisDatabase> | Transaction<DiagnosisDatabase>;

type WithoutNulls<T> = { [K in keyof T]: Exclude<T[K], null> };

/** The fields of `value` that are not null (Object.fromEntries cannot know which keys are left). */
function withoutNulls<T extends object>(value: T): WithoutNulls<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as WithoutNulls<T>;
}

function prescriptionFromRow(row: PrescriptionRow): Prescription {
  return {
    prescriptionId: row.prescription_id,
    examinationType: row.examination_type,
    status: row.status,
    prescribedAt: row.prescribed_at,
    ...withoutNulls({
      instructions: row.instructions,
      examinationId: row.examination_id,
      result: row.result,
      cancelReason: row.cancel_reason,
    }),
  };
}

function diagnosisFromRow(row: DiagnosisRow, prescriptions: Prescription[]): Diagnosis {
  return {
    id: row.id,
    receptionId: row.reception_id,
    patientId: row.patient_id,
    patientName: row.patient_name,
    status: row.status,
    prescriptions,
    callCount: row.call_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...withoutNulls({ department: row.department, opinion: row.opinion, rejectReason: row.reject_reason, cancelReason: row.cancel_reason }),
    ...withoutNulls({ queueNumber: row.queue_number, calledAt: row.called_at, room: row.room, noShowAt: row.no_show_at }),
  };
}

/** Loads diagnoses with their prescriptions in two queries, whatever the number of rows. */
async function hydrate(db: Db, rows: DiagnosisRow[]): Promise<Diagnosis[]> {
  if (rows.length === 0) return [];
  const prescriptions = await db
    .selectFrom('prescriptions')
    .selectAll()
    .where(
      'diagnosis_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('diagnosis_id')
    .orderBy('position')
    .execute();
  const byDiagnosis = Map.groupBy(prescriptions, (p) => p.diagnosis_id);
  return rows.map((row) => diagnosisFromRow(row, (byDiagnosis.get(row.id) ?? []).map(prescriptionFromRow)));
}

export async function loadDiagnosis(db: Db, id: number): Promise<Diagnosis | null> {
  const rows = await forUpdate(db.selectFrom('diagnoses').selectAll().where('id', '=', id), db).execute();
  return (await hydrate(db, rows))[0] ?? null;
}

export async function loadDiagnosisOfReception(db: Db, receptionId: number): Promise<Diagnosis | null> {
  const rows = await forUpdate(db.selectFrom('diagnoses').selectAll().where('reception_id', '=', receptionId), db).execute();
  return (await hydrate(db, rows))[0] ?? null;
}

export async function saveDiagnosis(db: Db, diagnosis: Diagnosis): Promise<void> {
  const row: DiagnosisRow = {
    id: diagnosis.id,
    reception_id: diagnosis.receptionId,
    patient_id: diagnosis.patientId,
    patient_name: diagnosis.patientName,
    department: diagnosis.department ?? null,
    status: diagnosis.status,
    opinion: diagnosis.opinion ?? null,
    reject_reason: diagnosis.rejectReason ?? null,
    cancel_reason: diagnosis.cancelReason ?? null,
    queue_number: diagnosis.queueNumber ?? null,
    call_count: diagnosis.callCount,
    called_at: diagnosis.calledAt ?? null,
    room: diagnosis.room ?? null,
    no_show_at: diagnosis.noShowAt ?? null,
    created_at: diagnosis.createdAt,
    updated_at: diagnosis.updatedAt,
  };
  const { id: _id, ...changes } = row;
  await db.insertInto('diagnoses').values(row).onConflict((oc) => oc.column('id').doUpdateSet(changes)).execute();
  if (diagnosis.prescriptions.length === 0) return;
  const prescriptions: PrescriptionRow[] = diagnosis.prescriptions.map((p, position) => ({
    prescription_id: p.prescriptionId,
    diagnosis_id: diagnosis.id,
    position,
    examination_type: p.examinationType,
    instructions: p.instructions ?? null,
    status: p.status,
    examination_id: p.examinationId ?? null,
    result: p.result ?? null,
    cancel_reason: p.cancelReason ?? null,
    prescribed_at: p.prescribedAt,
  }));
  // Every prescription in one statement, and only the new and the changed ones written: an event
  // about one examination of a diagnosis with several leaves the others' rows (and the WAL) alone.
  await db
    .insertInto('prescriptions')
    .values(prescriptions)
    .onConflict((oc) =>
      oc
        .column('prescription_id')
        .doUpdateSet((eb) => Object.fromEntries(MUTABLE_PRESCRIPTION_COLUMNS.map((column) => [column, eb.ref(`excluded.${column}`)])))
        .where(sql<boolean>`(${sql.join(MUTABLE_PRESCRIPTION_COLUMNS.map((c) => sql.ref(`prescriptions.${c}`)))}) is distinct from (${sql.join(MUTABLE_PRESCRIPTION_COLUMNS.map((c) => sql.ref(`excluded.${c}`)))})`),
    )
    .execute();
}

/** What a prescription's row may change after it was written. */
const MUTABLE_PRESCRIPTION_COLUMNS = ['position', 'instructions', 'status', 'examination_id', 'result', 'cancel_reason'] as const;

/**
 * Where a diagnosis is and whom it belongs to, without loading it: what a request's access to it
 * is decided on (its department never changes once registered). Undefined: no such diagnosis.
 */
export async function loadDiagnosisPlace(db: Db, id: number): Promise<{ receptionId: number; department?: string } | undefined> {
  const row = await db.selectFrom('diagnoses').select(['reception_id', 'department']).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  return { receptionId: row.reception_id, ...withoutNulls({ department: row.department }) };
}

export type DiagnosisFilter = PageRequest & { status?: DiagnosisStatus; receptionId?: number; patientId?: string };

/**
 * A page of the diagnoses of `departments`, filtered in SQL so the page and its total count only
 * what the reader may see. No department at all is the condition 1 = 0 (Kysely's empty `or`).
 */
export async function listDiagnoses(db: Db, filter: DiagnosisFilter, departments: ListedDepartments): Promise<PageOf<Diagnosis>> {
  let query = db.selectFrom('diagnoses');
  if (departments.kind === 'only') {
    const { departments: codes, withoutDepartment } = departments;
    query = query.where((eb) =>
      eb.or([...(codes.length > 0 ? [eb('department', 'in', codes)] : []), ...(withoutDepartment ? [eb('department', 'is', null)] : [])]),
    );
  }
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.receptionId) query = query.where('reception_id', '=', filter.receptionId);
  if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
  const found = await fetchPage(db, filter, {
    rows: query.selectAll(),
    orderBy: ['id'],
    total: query.select((eb) => eb.fn.countAll<number>().as('total')),
  });
  return { ...found, items: await hydrate(db, found.items) };
}
