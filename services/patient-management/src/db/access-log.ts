import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { AccessLogEntry, AccessRecord, PageOf } from '@medical/contracts';
import { CHAIN_GENESIS, chainHash, lockChainTail, type ChainedFields, type ChainRow, type MigrationDb } from '@medical/platform';
import type { Visit } from '../domain/visit.ts';
import type { AccessLogRow, AccessSubjectRow, PatientManagementDatabase } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;
type Subject = Omit<AccessSubjectRow, 'id' | 'seq'>;

/**
 * What a record concerned: each visit its answer showed, or, when it showed none (a refusal, a
 * command, a read that found nothing), the ids its request named, resolved to a patient when read.
 */
function subjectsOf(record: AccessRecord): Subject[] {
  if (record.answered.length > 0) {
    return record.answered.map((visit) => ({ patient_id: visit.patientId ?? null, reception_id: visit.receptionId ?? null, diagnosis_id: null, examination_id: null }));
  }
  const { patientId, receptionId, diagnosisId, examinationId } = record.resources;
  if (patientId === undefined && receptionId === undefined && diagnosisId === undefined && examinationId === undefined) return [];
  return [{ patient_id: patientId ?? null, reception_id: receptionId ?? null, diagnosis_id: diagnosisId ?? null, examination_id: examinationId ?? null }];
}

type ChainedRecord = Omit<AccessLogRow, 'seq' | 'chain' | 'prev_hash' | 'hash'>;

/** What a record's hash covers: its columns but the sequence and the links, in a fixed order, then its subjects in order. */
export function accessChainFields(row: ChainedRecord, subjects: readonly Subject[]): ChainedFields {
  return [
    row.record_id,
    row.recorded_at,
    row.service,
    row.actor_subject,
    row.actor_name,
    row.actor_role,
    row.action,
    row.method,
    row.route,
    Number(row.status),
    row.break_glass_reason,
    row.request_id,
    row.client_request_id,
    subjects.map((s) => [s.patient_id, s.reception_id === null ? null : Number(s.reception_id), s.diagnosis_id === null ? null : Number(s.diagnosis_id), s.examination_id === null ? null : Number(s.examination_id)]),
  ];
}

function rowOf(record: AccessRecord): ChainedRecord {
  return {
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
  };
}

/**
 * Keeps records not kept yet (a record delivered again is skipped by its id), each linked to the
 * one before it in `chain` (the partition they came by; the chain's lock is held to the end of the
 * transaction); answers how many were new.
 */
export async function keepAccessRecords(trx: Transaction<PatientManagementDatabase>, records: readonly AccessRecord[], chain: number): Promise<number> {
  if (records.length === 0) return 0;
  const known = new Set(
    (await trx.selectFrom('access_log').select('record_id').where('record_id', 'in', records.map((r) => r.id)).execute()).map((row) => row.record_id),
  );
  const fresh = records.filter((record) => !known.has(record.id) && known.add(record.id));
  if (fresh.length === 0) return 0;
  let previous = await lockChainTail(trx, 'access_log', { column: 'chain', value: chain });
  for (const record of fresh) {
    const row = rowOf(record);
    const subjects = subjectsOf(record);
    const hash = chainHash(previous, accessChainFields(row, subjects));
    const { seq } = await trx.insertInto('access_log').values({ ...row, chain, prev_hash: previous, hash }).returning('seq').executeTakeFirstOrThrow();
    if (subjects.length > 0) await trx.insertInto('access_log_subjects').values(subjects.map((subject) => ({ seq, ...subject }))).execute();
    previous = hash;
  }
  return fresh.length;
}

/**
 * The access log as the chains' verifier reads it: each chain's records in order, each with its
 * subjects (rows as any client reads them).
 */
export function accessChainRows(records: ReadonlyArray<Selectable<AccessLogRow>>, subjects: ReadonlyArray<Selectable<AccessSubjectRow>>): Map<number, ChainRow[]> {
  const bySeq = new Map<string, Subject[]>();
  for (const subject of [...subjects].sort((a, b) => Number(a.id) - Number(b.id))) {
    const key = String(subject.seq);
    bySeq.set(key, [...(bySeq.get(key) ?? []), subject]);
  }
  const chains = new Map<number, ChainRow[]>();
  for (const record of [...records].sort((a, b) => Number(a.seq) - Number(b.seq))) {
    const chain = Number(record.chain);
    const row = { id: String(record.seq), prevHash: record.prev_hash, hash: record.hash, fields: accessChainFields(record, bySeq.get(String(record.seq)) ?? []) };
    chains.set(chain, [...(chains.get(chain) ?? []), row]);
  }
  return chains;
}

/** Chains the records kept before the chain (migration 0013), in their order, as chain 0. */
export async function chainKeptRecords(db: MigrationDb): Promise<void> {
  const records = (await sql<Selectable<AccessLogRow>>`select * from access_log`.execute(db)).rows;
  const subjects = (await sql<Selectable<AccessSubjectRow>>`select * from access_log_subjects`.execute(db)).rows;
  let previous = CHAIN_GENESIS;
  for (const row of accessChainRows(records, subjects).get(0) ?? []) {
    const hash = chainHash(previous, row.fields);
    await sql`update access_log set prev_hash = ${previous}, hash = ${hash} where seq = ${Number(row.id)}`.execute(db);
    previous = hash;
  }
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
 * A patient's access log, newest first (by when each access was answered): one entry per record
 * and visit of theirs it concerned.
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
      // By when the access was answered: the records of several services arrive in any order.
      .orderBy('a.recorded_at', 'desc')
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
