import type { Kysely, Transaction } from 'kysely';
import type { AccessLogEntry, AccessRecord, PageOf } from '@medical/contracts';
import type { Visit } from '../domain/visit.ts';
import type { AccessSubjectRow, PatientManagementDatabase } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;
type Subject = Omit<AccessSubjectRow, 'id' | 'seq'>;

/**
 * What a record concerned: each visit its answer showed, or, when it showed none (a refusal, a
 * command, a read that found nothing), the ids its request named, resolved to a patient when read.
 */
function subjectsOf(record: AccessRecord): Subject[] {
  if (record.answered.length > 0) {
    return record.answered.map((visit) => ({ patient_id: visit.patientId ?? null, reception_id: visit.receptionId, diagnosis_id: null, examination_id: null }));
  }
  const { patientId, receptionId, diagnosisId, examinationId } = record.resources;
  if (patientId === undefined && receptionId === undefined && diagnosisId === undefined && examinationId === undefined) return [];
  return [{ patient_id: patientId ?? null, reception_id: receptionId ?? null, diagnosis_id: diagnosisId ?? null, examination_id: examinationId ?? null }];
}

/** Keeps records not kept yet (a record delivered again is skipped by its id); answers how many were new. */
export async function keepAccessRecords(trx: Transaction<PatientManagementDatabase>, records: readonly AccessRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const known = new Set(
    (await trx.selectFrom('access_log').select('record_id').where('record_id', 'in', records.map((r) => r.id)).execute()).map((row) => row.record_id),
  );
  let kept = 0;
  for (const record of records) {
    if (known.has(record.id)) continue;
    known.add(record.id);
    const { seq } = await trx
      .insertInto('access_log')
      .values({
        record_id: record.id,
        recorded_at: record.at,
        service: record.service,
        actor_subject: record.actor.subject,
        actor_name: record.actor.name ?? null,
        actor_role: record.actor.role,
        action: record.action,
        method: record.method,
        route: record.route,
        status: record.status,
        break_glass_reason: record.breakGlassReason ?? null,
        request_id: record.requestId,
        client_request_id: record.clientRequestId ?? null,
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    const subjects = subjectsOf(record);
    if (subjects.length > 0) await trx.insertInto('access_log_subjects').values(subjects.map((subject) => ({ seq, ...subject }))).execute();
    kept += 1;
  }
  return kept;
}

/** Keeps a message that is no access record as it came, with what is wrong with it. */
export async function keepUnreadableRecord(trx: Transaction<PatientManagementDatabase>, message: { partition: number; offset: string; value: string; problem: string }): Promise<void> {
  await trx.insertInto('access_log_unreadable').values({ received_at: new Date().toISOString(), ...message }).execute();
}

/** The ids by which a record can concern a patient: theirs, and those of their visits, diagnoses and examinations. */
type PatientIds = { patientId: string; receptions: Map<number, number>; diagnoses: Map<number, number>; examinations: Map<number, number> };

function idsOf(patientId: string, visits: readonly Pick<Visit, 'receptionId' | 'diagnosisId' | 'examinations'>[]): PatientIds {
  const ids: PatientIds = { patientId, receptions: new Map(), diagnoses: new Map(), examinations: new Map() };
  for (const visit of visits) {
    ids.receptions.set(visit.receptionId, visit.receptionId);
    if (visit.diagnosisId !== undefined) ids.diagnoses.set(visit.diagnosisId, visit.receptionId);
    for (const examination of visit.examinations) if (examination.examinationId !== undefined) ids.examinations.set(examination.examinationId, visit.receptionId);
  }
  return ids;
}

/**
 * A patient's access log, newest first: one entry per record and visit of theirs it concerned.
 * `visits` are the patient's visits (the view's), whose ids resolve what a refused request named.
 */
export async function readPatientAccessLog(
  db: Db,
  patientId: string,
  visits: readonly Pick<Visit, 'receptionId' | 'diagnosisId' | 'examinations'>[],
  page: { page: number; size: number },
): Promise<PageOf<AccessLogEntry>> {
  const ids = idsOf(patientId, visits);
  const concerned = db
    .selectFrom('access_log_subjects as s')
    .innerJoin('access_log as a', 'a.seq', 's.seq')
    .where((eb) =>
      eb.or([
        eb('s.patient_id', '=', patientId),
        ...(ids.receptions.size > 0 ? [eb('s.reception_id', 'in', [...ids.receptions.keys()])] : []),
        ...(ids.diagnoses.size > 0 ? [eb('s.diagnosis_id', 'in', [...ids.diagnoses.keys()])] : []),
        ...(ids.examinations.size > 0 ? [eb('s.examination_id', 'in', [...ids.examinations.keys()])] : []),
      ]),
    );
  const [rows, counted] = await Promise.all([
    concerned
      .select(['a.recorded_at', 'a.actor_subject', 'a.actor_name', 'a.actor_role', 'a.action', 'a.method', 'a.route', 'a.status', 'a.service'])
      .select(['a.break_glass_reason', 'a.request_id', 's.reception_id', 's.diagnosis_id', 's.examination_id'])
      .orderBy('a.seq', 'desc')
      .orderBy('s.id', 'desc')
      .limit(page.size)
      .offset(page.page * page.size)
      .execute(),
    concerned.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow(),
  ]);
  const items = rows.map((row): AccessLogEntry => {
    const receptionId =
      row.reception_id ??
      (row.diagnosis_id !== null ? ids.diagnoses.get(row.diagnosis_id) : undefined) ??
      (row.examination_id !== null ? ids.examinations.get(row.examination_id) : undefined);
    return {
      at: row.recorded_at,
      subject: row.actor_subject,
      ...(row.actor_name !== null ? { name: row.actor_name } : {}),
      role: row.actor_role,
      action: row.action,
      method: row.method,
      route: row.route,
      status: row.status,
      service: row.service,
      ...(receptionId !== undefined && receptionId !== null ? { receptionId } : {}),
      ...(row.break_glass_reason !== null ? { breakGlassReason: row.break_glass_reason } : {}),
      requestId: row.request_id,
    };
  });
  return { items, page: page.page, size: page.size, total: Number(counted.total) };
}
