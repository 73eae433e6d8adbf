import { sql, type Kysely, type Transaction } from 'kysely';
import type { DeliveryRow, InteropDatabase } from './schema.ts';

type Db = Kysely<InteropDatabase>;

/**
 * The delivery queue: messages to other systems (subscribers' notifications, HL7 v2 messages),
 * each written in the transaction of the change that caused it and sent after the commit, in
 * order per destination, until the destination takes it. A destination's line waits behind its
 * head: a subscriber or an interface engine expects a visit's messages in the order they happened.
 */

export type NewDelivery = { destination: string; body: string; contentType: string; about: string; visit: { receptionId: number; patientId: string } };
export type Delivery = Pick<DeliveryRow, 'destination' | 'body' | 'content_type' | 'about' | 'attempts' | 'created_at' | 'reception_id' | 'patient_id'> & { id: number };

export async function enqueueDelivery(trx: Transaction<InteropDatabase>, delivery: NewDelivery, now: string): Promise<void> {
  await trx
    .insertInto('interop_deliveries')
    .values({ destination: delivery.destination, body: delivery.body, content_type: delivery.contentType, about: delivery.about, reception_id: delivery.visit.receptionId, patient_id: delivery.visit.patientId, created_at: now, attempts: 0, next_attempt_at: now, leased_by: null, leased_until: null, last_error: null, delivered_at: null, set_aside_at: null })
    .execute();
}

const pending = sql<boolean>`delivered_at is null and set_aside_at is null`;

/** The head of each destination's line that is due now and not being sent by another replica. */
export async function dueHeads(db: Db, now: string): Promise<Delivery[]> {
  const heads = db.selectFrom('interop_deliveries').select((eb) => eb.fn.min('id').as('id')).where(pending).groupBy('destination');
  const rows = await db
    .selectFrom('interop_deliveries')
    .select(['id', 'destination', 'body', 'content_type', 'about', 'attempts', 'created_at', 'reception_id', 'patient_id'])
    .where('id', 'in', heads)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

/**
 * Takes a delivery for this replica until `until`: false when another took it first, or it failed
 * since it was read and waits for its next try. The
 * lease, not a transaction, holds it while it is sent, so a slow endpoint holds no lock.
 */
export async function lease(db: Db, id: number, holder: string, now: string, until: string): Promise<boolean> {
  const result = await db
    .updateTable('interop_deliveries')
    .set({ leased_by: holder, leased_until: until })
    .where('id', '=', id)
    .where(pending)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('leased_until', 'is', null), eb('leased_until', '<', now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function markDelivered(db: Db, id: number, now: string): Promise<void> {
  await db.updateTable('interop_deliveries').set({ delivered_at: now, attempts: sql`attempts + 1`, leased_by: null, leased_until: null, last_error: null }).where('id', '=', id).execute();
}

export async function markFailed(db: Db, id: number, error: string, nextAttemptAt: string): Promise<void> {
  await db.updateTable('interop_deliveries').set({ attempts: sql`attempts + 1`, last_error: error, next_attempt_at: nextAttemptAt, leased_by: null, leased_until: null }).where('id', '=', id).execute();
}

export async function setAside(db: Db, id: number, error: string, now: string): Promise<void> {
  await db.updateTable('interop_deliveries').set({ attempts: sql`attempts + 1`, last_error: error, set_aside_at: now, leased_by: null, leased_until: null }).where('id', '=', id).execute();
}

/** How many messages wait, per destination kind (`subscription`, `hl7`): the gauge's reading. */
export async function pendingCounts(db: Db): Promise<{ channel: string; pending: number }[]> {
  const rows = await db
    .selectFrom('interop_deliveries')
    .select([sql<string>`case when destination like 'subscription:%' then 'subscription' else destination end`.as('channel'), (eb) => eb.fn.countAll<number>().as('pending')])
    .where(pending)
    .groupBy(sql`1`)
    .execute();
  return rows.map((row) => ({ channel: row.channel, pending: Number(row.pending) }));
}

/** Drops the delivered messages older than `before`: the queue is not an archive. */
export async function purgeDelivered(db: Db, before: string): Promise<number> {
  const result = await db.deleteFrom('interop_deliveries').where('delivered_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
