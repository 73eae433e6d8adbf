import type { Kysely, Transaction } from 'kysely';
import type { VisitStage } from '@medical/contracts';
import type { QueueEntry } from '../domain/queue-entries.ts';
import type { PatientManagementDatabase, QueueEntryRow } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;

function fromRow(row: QueueEntryRow): QueueEntry {
  return {
    receptionId: row.reception_id,
    item: row.item,
    purpose: row.purpose,
    ...(row.examination_id !== null ? { examinationId: row.examination_id } : {}),
    department: row.department,
    visitDepartment: row.visit_department,
    day: row.queue_day,
    queueNumber: row.queue_number,
    maskedName: row.masked_name,
    state: row.state,
    joinedAt: row.joined_at,
    waitingSince: row.waiting_since,
    ...(row.first_called_at !== null ? { firstCalledAt: row.first_called_at } : {}),
    ...(row.last_called_at !== null ? { lastCalledAt: row.last_called_at } : {}),
    callCount: row.call_count,
    ...(row.room !== null ? { room: row.room } : {}),
    updatedAt: row.updated_at,
  };
}

function toRow(entry: QueueEntry): QueueEntryRow {
  return {
    reception_id: entry.receptionId,
    item: entry.item,
    purpose: entry.purpose,
    examination_id: entry.examinationId ?? null,
    department: entry.department,
    visit_department: entry.visitDepartment,
    queue_day: entry.day,
    queue_number: entry.queueNumber,
    masked_name: entry.maskedName,
    state: entry.state,
    joined_at: entry.joinedAt,
    waiting_since: entry.waitingSince,
    first_called_at: entry.firstCalledAt ?? null,
    last_called_at: entry.lastCalledAt ?? null,
    call_count: entry.callCount,
    room: entry.room ?? null,
    updated_at: entry.updatedAt,
  };
}

/** A visit's entries, in the projection's transaction (the visit's row, locked by loadVisit, orders the writers of a visit). */
export async function queueEntriesOfVisit(db: Db, receptionId: number): Promise<QueueEntry[]> {
  const rows = await db.selectFrom('queue_entries').selectAll().where('reception_id', '=', receptionId).orderBy('item').execute();
  return rows.map(fromRow);
}

export async function saveQueueEntries(db: Db, entries: readonly QueueEntry[]): Promise<void> {
  for (const entry of entries) {
    const row = toRow(entry);
    const { reception_id: _id, item: _item, ...changes } = row;
    await db.insertInto('queue_entries').values(row).onConflict((oc) => oc.columns(['reception_id', 'item']).doUpdateSet(changes)).execute();
  }
}

/**
 * A department's entries of a day that its queue answer and its tickets read: those waiting or
 * called, and those called once (the day's waits to the first call and its pace). A day of a
 * department is a few hundred entries at most.
 */
export async function queueEntriesOfDay(db: Db, department: string, day: string): Promise<QueueEntry[]> {
  const rows = await db
    .selectFrom('queue_entries')
    .selectAll()
    .where('queue_day', '=', day)
    .where('department', '=', department)
    .where((eb) => eb.or([eb('state', 'in', ['WAITING', 'CALLED']), eb('first_called_at', 'is not', null)]))
    .execute();
  return rows.map(fromRow);
}

/** The patients waiting on a day, per department (the departments with none are left out). */
export async function waitingCounts(db: Db, day: string, department?: string): Promise<Map<string, number>> {
  let query = db
    .selectFrom('queue_entries')
    .select((eb) => ['department', eb.fn.countAll<number | string>().as('waiting')])
    .where('queue_day', '=', day)
    .where('state', '=', 'WAITING');
  if (department !== undefined) query = query.where('department', '=', department);
  const rows = await query.groupBy('department').execute();
  return new Map(rows.map((row) => [row.department, Number(row.waiting)]));
}

/** The entries of a day called at least once, of every department: the figures of the metrics. */
export async function calledEntriesOfDay(db: Db, day: string): Promise<QueueEntry[]> {
  const rows = await db.selectFrom('queue_entries').selectAll().where('queue_day', '=', day).where('first_called_at', 'is not', null).execute();
  return rows.map(fromRow);
}

/** Keeps the visit a ticket's link names; the same digest again (a redelivery) is kept once. */
export async function saveTicket(db: Db, ticketDigest: string, receptionId: number): Promise<void> {
  await db.insertInto('tickets').values({ ticket_digest: ticketDigest, reception_id: receptionId }).onConflict((oc) => oc.column('ticket_digest').doNothing()).execute();
}

/** The visit of a ticket, with where it stands; undefined for a digest no ticket has. */
export async function findTicket(db: Db, ticketDigest: string): Promise<{ receptionId: number; stage: VisitStage } | undefined> {
  const row = await db
    .selectFrom('tickets')
    .innerJoin('visits', 'visits.reception_id', 'tickets.reception_id')
    .select(['tickets.reception_id as receptionId', 'visits.stage as stage'])
    .where('tickets.ticket_digest', '=', ticketDigest)
    .executeTakeFirst();
  return row ? { receptionId: row.receptionId, stage: row.stage } : undefined;
}
