import type { Transaction } from 'kysely';
import type { ReceptionDatabase } from './schema.ts';

/**
 * The next queue number of `department` on the hospital day `day`: 1 for the day's first visit.
 * One statement inserts the day's counter or adds one to it, and answers the number, so no two
 * registrations get the same one, on any replica: on PostgreSQL the upsert locks the counter's row,
 * so a second registration waits until the first commits and counts on from its number; SQLite
 * writes one transaction at a time. A registration that rolls back takes its number back with it.
 * Call it last in the registration's transaction: the row stays locked until the commit, and every
 * other registration in the department waits that long.
 */
export async function nextQueueNumber(trx: Transaction<ReceptionDatabase>, department: string, day: string): Promise<number> {
  const counter = await trx
    .insertInto('queue_counters')
    .values({ department, day, last_number: 1 })
    .onConflict((oc) => oc.columns(['department', 'day']).doUpdateSet((eb) => ({ last_number: eb('queue_counters.last_number', '+', 1) })))
    .returning('last_number')
    .executeTakeFirstOrThrow();
  return counter.last_number;
}
