import { sql, type Kysely, type Transaction } from 'kysely';
import type { InboxTables } from './tables.ts';

/**
 * The consumer's statements on its own tables: the inbox (which events this service applied or
 * dead-lettered) and consumer_positions (where each partition resumes).
 */

type Outcome = InboxTables['inbox']['outcome'];
type Db = Kysely<InboxTables> | Transaction<InboxTables>;

/** What the inbox says of an event: applied, dead-lettered, or nothing yet. */
export async function inboxOutcome(db: Db, eventId: string): Promise<Outcome | undefined> {
  const row = await db.selectFrom('inbox').select('outcome').where('event_id', '=', eventId).executeTakeFirst();
  return row?.outcome;
}

/** An event to claim in the inbox, by its id and the label of its type. */
export type InboxClaim = { eventId: string; type: string };

/**
 * Claims events as applied, in one statement; returns the ids it claimed. An id already there is
 * not claimed again: its effect is committed (or it was dead-lettered).
 */
export async function claimApplied(trx: Transaction<InboxTables>, claims: readonly InboxClaim[]): Promise<Set<string>> {
  const processedAt = new Date().toISOString();
  const claimed = await trx
    .insertInto('inbox')
    .values(claims.map((c) => ({ event_id: c.eventId, event_type: c.type, outcome: 'APPLIED' as const, processed_at: processedAt })))
    .onConflict((oc) => oc.column('event_id').doNothing())
    .returning('event_id')
    .execute();
  return new Set(claimed.map((row) => row.event_id));
}

/** Moves a dead-lettered event to applied (an operator's replay); false when it was not dead-lettered. */
export async function reclaimDeadLettered(trx: Transaction<InboxTables>, eventId: string): Promise<boolean> {
  const reclaimed = await trx
    .updateTable('inbox')
    .set({ outcome: 'APPLIED', processed_at: new Date().toISOString() })
    .where('event_id', '=', eventId)
    .where('outcome', '=', 'DEAD_LETTERED')
    .returning('event_id')
    .executeTakeFirst();
  return reclaimed !== undefined;
}

/** Records that the event was dead-lettered: a new row, or a dead-lettered row's new time (a replay that failed again). */
export async function recordDeadLettered(trx: Transaction<InboxTables>, claim: InboxClaim, recorded: Outcome | undefined): Promise<void> {
  const processedAt = new Date().toISOString();
  if (recorded === undefined) {
    await trx.insertInto('inbox').values({ event_id: claim.eventId, event_type: claim.type, outcome: 'DEAD_LETTERED', processed_at: processedAt }).execute();
  } else {
    await trx.updateTable('inbox').set({ processed_at: processedAt }).where('event_id', '=', claim.eventId).execute();
  }
}

/** A partition of a topic, read by a consumer group. */
export type PartitionOf = { group: string; topic: string; partition: number };

/** Stores where the partition resumes: only forward, since a member that lost the partition in a rebalance may finish a batch late. */
export async function savePosition(trx: Transaction<InboxTables>, { group, topic, partition }: PartitionOf, next: bigint): Promise<void> {
  await trx
    .insertInto('consumer_positions')
    .values({ group_id: group, topic, partition, next_offset: next.toString(), updated_at: new Date().toISOString() })
    .onConflict((oc) =>
      oc
        .columns(['group_id', 'topic', 'partition'])
        .doUpdateSet((eb) => ({ next_offset: eb.ref('excluded.next_offset'), updated_at: eb.ref('excluded.updated_at') }))
        .where(sql<boolean>`excluded.next_offset > consumer_positions.next_offset`),
    )
    .execute();
}

/** Where the group resumes each of `partitions` of `topic` that has a stored position. */
export async function readPositions(db: Kysely<InboxTables>, group: string, topic: string, partitions: readonly number[]): Promise<Map<number, bigint>> {
  const rows = await db
    .selectFrom('consumer_positions')
    .select(['partition', 'next_offset'])
    .where('group_id', '=', group)
    .where('topic', '=', topic)
    .where('partition', 'in', [...partitions])
    .execute();
  return new Map(rows.map((row) => [Number(row.partition), BigInt(row.next_offset)]));
}
