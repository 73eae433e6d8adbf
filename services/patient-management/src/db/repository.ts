import { sql, type Kysely, type Transaction } from 'kysely';
import { fetchPage, forUpdate, type PageRequest } from '@medical/platform';
import type { PageOf, VisitStage } from '@medical/contracts';
import type { Visit, VisitExamination } from '../domain/visit.ts';
import type { PatientManagementDatabase, VisitRow } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;

function fromRow(row: VisitRow): Visit {
  return {
    receptionId: row.reception_id,
    patientId: row.patient_id,
    patientName: row.patient_name,
    receptionStatus: row.reception_status,
    ...(row.diagnosis_id !== null ? { diagnosisId: row.diagnosis_id } : {}),
    ...(row.diagnosis_status !== null ? { diagnosisStatus: row.diagnosis_status } : {}),
    examinations: JSON.parse(row.examinations) as VisitExamination[],
    stage: row.stage,
    ...present({
      department: row.department,
      queueNumber: row.queue_number,
      queueDay: row.queue_day,
      receivedAt: row.received_at,
      firstCalledAt: row.first_called_at,
      examinationsEndedAt: row.examinations_ended_at,
      concludedAt: row.concluded_at,
    }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The fields of `values` that are not null: a visit has no key for what its row leaves empty. */
function present<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== null)) as { [K in keyof T]?: Exclude<T[K], null> };
}

export async function loadVisit(db: Db, receptionId: number): Promise<Visit | null> {
  const row = await forUpdate(db.selectFrom('visits').selectAll().where('reception_id', '=', receptionId), db).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export async function saveVisit(db: Db, visit: Visit): Promise<void> {
  const row: VisitRow = {
    reception_id: visit.receptionId,
    patient_id: visit.patientId,
    patient_name: visit.patientName,
    reception_status: visit.receptionStatus,
    diagnosis_id: visit.diagnosisId ?? null,
    diagnosis_status: visit.diagnosisStatus ?? null,
    stage: visit.stage,
    examinations: JSON.stringify(visit.examinations),
    department: visit.department ?? null,
    queue_number: visit.queueNumber ?? null,
    queue_day: visit.queueDay ?? null,
    received_at: visit.receivedAt ?? null,
    first_called_at: visit.firstCalledAt ?? null,
    examinations_ended_at: visit.examinationsEndedAt ?? null,
    concluded_at: visit.concludedAt ?? null,
    created_at: visit.createdAt,
    updated_at: visit.updatedAt,
  };
  const { reception_id: _id, ...changes } = row;
  await db.insertInto('visits').values(row).onConflict((oc) => oc.column('reception_id').doUpdateSet(changes)).execute();
}

/** Every visit of one patient, oldest first (a patient's visits are few; the patient index finds them). */
export async function visitsOfPatient(db: Db, patientId: string): Promise<Visit[]> {
  const rows = await db.selectFrom('visits').selectAll().where('patient_id', '=', patientId).orderBy('reception_id').execute();
  return rows.map(fromRow);
}

/** Empties the view so that it can be rebuilt from the start of the log. */
export async function clearVisits(db: Db): Promise<void> {
  await db.deleteFrom('visits').execute();
}

export type VisitFilter = PageRequest & { patientId?: string; stage?: VisitStage };

export async function listVisits(db: Db, filter: VisitFilter): Promise<PageOf<Visit>> {
  let query = db.selectFrom('visits');
  if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
  if (filter.stage) query = query.where('stage', '=', filter.stage);
  const found = await fetchPage(db, filter, {
    rows: query.selectAll(),
    orderBy: ['reception_id'],
    // A patient's visits are counted on the spot (the patient index makes it cheap); the others
    // are counted by the triggers of migrations 0002 and 0011.
    total: filter.patientId ? query.select((eb) => eb.fn.countAll<number>().as('total')) : countedVisits(db, filter.stage ? `stage:${filter.stage}` : 'all'),
  });
  return { ...found, items: found.items.map(fromRow) };
}

/**
 * The visits of a scope as the triggers of migrations 0002 and 0011 count them: the scope's rows
 * added up (one row on SQLite; on PostgreSQL the changes since the last compactVisitCounts).
 */
function countedVisits(db: Db, scope: string) {
  return db
    .selectFrom('visit_counts')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number | string>('visits'), eb.lit(0)).as('total'))
    .where('scope', '=', scope);
}

/**
 * Folds each scope's rows of changes into one (PostgreSQL; see migration 0011), so that reading a
 * count adds up a few rows, not every change since the start. The rows deleted are those
 * committed when the statement began; a trigger's row added meanwhile is left for the next time,
 * and two replicas folding at once take each row once (the second waits for the first's rows,
 * then skips those it deleted). Scopes already down to one row are left alone, so an idle view
 * writes nothing. Returns the rows folded.
 */
export async function compactVisitCounts(db: Kysely<PatientManagementDatabase>): Promise<number> {
  const result = await sql<{ folded: number | string }>`
    with gone as (
      delete from visit_counts
      where scope in (select scope from visit_counts group by scope having count(*) > 1)
      returning scope, visits
    ), folded as (
      insert into visit_counts (scope, visits) select scope, sum(visits) from gone group by scope having sum(visits) <> 0
    )
    select count(*) as folded from gone`.execute(db);
  return Number(result.rows[0]?.folded ?? 0);
}
