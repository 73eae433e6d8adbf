import type { Kysely, Transaction } from 'kysely';
import { fetchPage, forUpdate, type PageRequest } from '@medical/platform';
import type { ExaminationStatus, PageOf } from '@medical/contracts';
import type { Examination } from '../domain/examination.ts';
import type { ExaminationDatabase, ExaminationRow } from './schema.ts';

type Db = Kysely<ExaminationDatabase> | Transaction<ExaminationDatabase>;

function fromRow(row: ExaminationRow): Examination {
  const optional = {
    instructions: row.instructions,
    result: row.result,
    performedAt: row.performed_at,
    cancelReason: row.cancel_reason,
    department: row.department,
    visitDepartment: row.visit_department,
    queueNumber: row.queue_number,
    calledAt: row.called_at,
    room: row.room,
    noShowAt: row.no_show_at,
  };
  return {
    id: row.id,
    prescriptionId: row.prescription_id,
    diagnosisId: row.diagnosis_id,
    receptionId: row.reception_id,
    patientId: row.patient_id,
    patientName: row.patient_name,
    examinationType: row.examination_type,
    status: row.status,
    callCount: row.call_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null)),
  };
}

export async function loadExamination(db: Db, id: number): Promise<Examination | null> {
  const row = await forUpdate(db.selectFrom('examinations').selectAll().where('id', '=', id), db).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export async function loadExaminationOfPrescription(db: Db, prescriptionId: string): Promise<Examination | null> {
  const row = await forUpdate(db.selectFrom('examinations').selectAll().where('prescription_id', '=', prescriptionId), db).executeTakeFirst();
  return row ? fromRow(row) : null;
}

/** The examinations a compensation may still cancel: those of one visit or diagnosis still REQUESTED. */
export async function loadPendingExaminations(db: Db, scope: { receptionId: number } | { diagnosisId: number }): Promise<Examination[]> {
  let query = db.selectFrom('examinations').selectAll().where('status', '=', 'REQUESTED');
  query = 'receptionId' in scope ? query.where('reception_id', '=', scope.receptionId) : query.where('diagnosis_id', '=', scope.diagnosisId);
  return (await forUpdate(query.orderBy('id'), db).execute()).map(fromRow);
}

/** Every examination of one visit, locked as loadExamination locks one: what a merge of the visit's patient moves. */
export async function loadExaminationsOfReception(db: Db, receptionId: number): Promise<Examination[]> {
  const query = db.selectFrom('examinations').selectAll().where('reception_id', '=', receptionId).orderBy('id');
  return (await forUpdate(query, db).execute()).map(fromRow);
}

export async function saveExamination(db: Db, e: Examination): Promise<void> {
  const row: ExaminationRow = {
    id: e.id,
    prescription_id: e.prescriptionId,
    diagnosis_id: e.diagnosisId,
    reception_id: e.receptionId,
    patient_id: e.patientId,
    patient_name: e.patientName,
    examination_type: e.examinationType,
    instructions: e.instructions ?? null,
    status: e.status,
    result: e.result ?? null,
    performed_at: e.performedAt ?? null,
    cancel_reason: e.cancelReason ?? null,
    department: e.department ?? null,
    visit_department: e.visitDepartment ?? null,
    queue_number: e.queueNumber ?? null,
    call_count: e.callCount,
    called_at: e.calledAt ?? null,
    room: e.room ?? null,
    no_show_at: e.noShowAt ?? null,
    created_at: e.createdAt,
    updated_at: e.updatedAt,
  };
  const { id: _id, ...changes } = row;
  await db.insertInto('examinations').values(row).onConflict((oc) => oc.column('id').doUpdateSet(changes)).execute();
}

export async function recordClosedVisit(db: Db, scope: 'reception' | 'diagnosis', refId: number, reason: string, at: string): Promise<void> {
  await db
    .insertInto('closed_visits')
    .values({ scope, ref_id: refId, reason, closed_at: at })
    .onConflict((oc) => oc.columns(['scope', 'ref_id']).doNothing())
    .execute();
}

type VisitPatient = { patientId: string; patientName: string };

/**
 * Remembers whose visit `receptionId` now is, after a merge of its patient. The merges of one
 * visit arrive in order (keyed by the visit), so the latest one replaces the one before.
 */
export async function recordVisitPatient(db: Db, receptionId: number, { patientId, patientName }: VisitPatient, mergedAt: string): Promise<void> {
  const patient = { patient_id: patientId, patient_name: patientName, merged_at: mergedAt };
  await db
    .insertInto('visit_patients')
    .values({ reception_id: receptionId, ...patient })
    .onConflict((oc) => oc.column('reception_id').doUpdateSet(patient))
    .execute();
}

/** The patient a merge gave visit `receptionId`, if its patient was ever merged. */
export async function mergedVisitPatient(db: Db, receptionId: number): Promise<VisitPatient | undefined> {
  const row = await db.selectFrom('visit_patients').select(['patient_id', 'patient_name']).where('reception_id', '=', receptionId).executeTakeFirst();
  return row ? { patientId: row.patient_id, patientName: row.patient_name } : undefined;
}

/** Why a new prescription's visit is already closed, if it is. */
export async function closedVisitReason(db: Db, receptionId: number, diagnosisId: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('closed_visits')
    .select('reason')
    .where((eb) =>
      eb.or([
        eb.and([eb('scope', '=', 'reception'), eb('ref_id', '=', receptionId)]),
        eb.and([eb('scope', '=', 'diagnosis'), eb('ref_id', '=', diagnosisId)]),
      ]),
    )
    .executeTakeFirst();
  return row?.reason;
}

export type ExaminationFilter = PageRequest & { status?: ExaminationStatus; diagnosisId?: number; receptionId?: number };

export async function listExaminations(db: Db, filter: ExaminationFilter): Promise<PageOf<Examination>> {
  let query = db.selectFrom('examinations');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.diagnosisId) query = query.where('diagnosis_id', '=', filter.diagnosisId);
  if (filter.receptionId) query = query.where('reception_id', '=', filter.receptionId);
  const found = await fetchPage(db, filter, {
    rows: query.selectAll(),
    orderBy: ['id'],
    total: query.select((eb) => eb.fn.countAll<number>().as('total')),
  });
  return { ...found, items: found.items.map(fromRow) };
}
