import type { Kysely, Transaction } from 'kysely';
import { fetchPage, forUpdate, type PageRequest } from '@medical/platform';
import type { PageOf, ReceptionStatus } from '@medical/contracts';
import type { DiagnosisOutcome, Reception } from '../domain/reception.ts';
import type { ReceptionDatabase, ReceptionRow } from './schema.ts';

type Db = Kysely<ReceptionDatabase> | Transaction<ReceptionDatabase>;

function toRow(r: Reception): ReceptionRow {
  return {
    id: r.id,
    patient_id: r.patientId,
    patient_name: r.patientName,
    birth_date: r.birthDate ?? null,
    department: r.department ?? null,
    symptom: r.symptom ?? null,
    status: r.status,
    received_at: r.receivedAt,
    cancel_reason: r.cancelReason ?? null,
    diagnosis_id: r.diagnosisId ?? null,
    diagnosis_outcome: r.diagnosisOutcome ?? null,
    diagnosis_opinion: r.diagnosisOpinion ?? null,
    diagnosis_reject_reason: r.diagnosisRejectReason ?? null,
    confirmed_at: r.confirmedAt ?? null,
    queue_number: r.queueNumber ?? null,
    queue_day: r.queueDay ?? null,
    ticket_token: r.ticket ?? null,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

function fromRow(row: ReceptionRow): Reception {
  const optional = {
    birthDate: row.birth_date,
    department: row.department,
    symptom: row.symptom,
    cancelReason: row.cancel_reason,
    diagnosisId: row.diagnosis_id,
    diagnosisOutcome: row.diagnosis_outcome as DiagnosisOutcome | null,
    diagnosisOpinion: row.diagnosis_opinion,
    diagnosisRejectReason: row.diagnosis_reject_reason,
    confirmedAt: row.confirmed_at,
    queueNumber: row.queue_number,
    queueDay: row.queue_day,
    ticket: row.ticket_token,
  };
  return {
    id: row.id,
    patientId: row.patient_id,
    patientName: row.patient_name,
    status: row.status,
    receivedAt: row.received_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null)),
  };
}

export async function loadReception(db: Db, id: number): Promise<Reception | null> {
  const row = await forUpdate(db.selectFrom('receptions').selectAll().where('id', '=', id), db).executeTakeFirst();
  return row ? fromRow(row) : null;
}

export async function saveReception(db: Db, reception: Reception): Promise<void> {
  const row = toRow(reception);
  const { id: _id, ...changes } = row;
  await db
    .insertInto('receptions')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(changes))
    .execute();
}

export type ReceptionFilter = PageRequest & { status?: ReceptionStatus; patientId?: string };

export async function listReceptions(db: Db, filter: ReceptionFilter): Promise<PageOf<Reception>> {
  let query = db.selectFrom('receptions');
  if (filter.status) query = query.where('status', '=', filter.status);
  if (filter.patientId) query = query.where('patient_id', '=', filter.patientId);
  const found = await fetchPage(db, filter, {
    rows: query.selectAll(),
    orderBy: ['id'],
    total: query.select((eb) => eb.fn.countAll<number>().as('total')),
  });
  return { ...found, items: found.items.map(fromRow) };
}
