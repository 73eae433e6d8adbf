import { sql, type Transaction } from 'kysely';
import type { Database } from '@medical/platform';
import type { PatientManagementDatabase } from './schema.ts';

/**
 * The switch from the live view to one rebuilt beside it (`npm run rebuild`, rebuild.ts), in one
 * transaction on the live database. The rebuilt tables are another schema on PostgreSQL, another
 * file attached as `rebuild` on SQLite; the projection that filled them has stopped.
 *
 * The live consumer's positions are locked first (an UPDATE that changes nothing: row locks on
 * PostgreSQL, the write lock on SQLite), so it commits nothing until the switch has. If it stands
 * past the rebuild on some partition (events came after the rebuild caught up), nothing is
 * switched: the rebuild must catch up again. Otherwise the view, the timelines and the waiting
 * room (the queues' entries, the tickets, the waits) become the rebuilt ones; the rebuild's inbox
 * rows join the live inbox, so the live consumer passes by what the new view already holds; and
 * its positions move forward to the rebuild's. A batch the live consumer had in hand when the
 * lock was taken then applies to the new view what it lacks and skips the rest. Readers see the
 * old view until the commit, then the new one: never an empty one.
 */

export type RebuiltTables = { kind: 'postgres'; schema: string } | { kind: 'sqlite'; attachedAs: 'rebuild' };
export type Switched = { switched: true; visits: number; timelineSteps: number; queueEntries: number; tickets: number; waits: number } | { switched: false; behind: number[] };

/** The projection's tables the rebuild replaces, the visits first; each copied as the live table has its columns. */
const REBUILT_TABLES = ['visits', 'visit_timeline', 'queue_entries', 'tickets', 'visit_waits'] as const;
type RebuiltTable = (typeof REBUILT_TABLES)[number];
type Positions = Map<number, bigint>;

export async function switchToRebuiltView(
  database: Database<PatientManagementDatabase>,
  rebuilt: RebuiltTables,
  groups: { live: string; rebuild: string },
  topic: string,
): Promise<Switched> {
  const from = (table: string) => (rebuilt.kind === 'postgres' ? sql`${sql.id(rebuilt.schema)}.${sql.id(table)}` : sql`rebuild.${sql.id(table)}`);
  return database.transaction(async (trx) => {
    await trx.updateTable('consumer_positions').set((eb) => ({ next_offset: eb.ref('next_offset') })).where('group_id', '=', groups.live).where('topic', '=', topic).execute();
    const live = await positionsOf(trx, sql`consumer_positions`, groups.live, topic);
    const rebuild = await positionsOf(trx, from('consumer_positions'), groups.rebuild, topic);
    const behind = [...live].filter(([partition, next]) => (rebuild.get(partition) ?? -1n) < next).map(([partition]) => partition);
    if (behind.length > 0) return { switched: false, behind };

    for (const table of [...REBUILT_TABLES].reverse()) await trx.deleteFrom(table).execute();
    const copied = new Map<RebuiltTable, number>();
    // The timeline's own order numbers come from the live table's sequence, in the rebuilt order.
    for (const table of REBUILT_TABLES) copied.set(table, await copyRows(trx, rebuilt.kind, table, from(table), table === 'visit_timeline' ? ['seq'] : []));
    // `where true`: SQLite reads an ON CONFLICT right after a bare SELECT's FROM as a join's.
    await sql`insert into inbox select * from ${from('inbox')} where true on conflict (event_id) do nothing`.execute(trx);
    for (const [partition, next] of rebuild) {
      await trx
        .insertInto('consumer_positions')
        .values({ group_id: groups.live, topic, partition, next_offset: next.toString(), updated_at: new Date().toISOString() })
        .onConflict((oc) => oc.columns(['group_id', 'topic', 'partition']).doUpdateSet((eb) => ({ next_offset: eb.ref('excluded.next_offset'), updated_at: eb.ref('excluded.updated_at') })).where(sql<boolean>`excluded.next_offset > consumer_positions.next_offset`))
        .execute();
    }
    const count = (table: RebuiltTable) => copied.get(table) ?? 0;
    return { switched: true, visits: count('visits'), timelineSteps: count('visit_timeline'), queueEntries: count('queue_entries'), tickets: count('tickets'), waits: count('visit_waits') };
  });
}

async function positionsOf(trx: Transaction<PatientManagementDatabase>, table: ReturnType<typeof sql>, group: string, topic: string): Promise<Positions> {
  const { rows } = await sql<{ partition: number; next_offset: string | number }>`select partition, next_offset from ${table} where group_id = ${group} and topic = ${topic}`.execute(trx);
  return new Map(rows.map((row) => [Number(row.partition), BigInt(row.next_offset)]));
}

/**
 * Copies every row of the rebuilt `table` into the live one of the same name, column by column as
 * the live table has them (so a column added by a later migration is never forgotten), leaving
 * out `omit` (the live table numbers those itself), in the rebuilt table's order.
 */
async function copyRows(trx: Transaction<PatientManagementDatabase>, kind: RebuiltTables['kind'], table: RebuiltTable, source: ReturnType<typeof sql>, omit: readonly string[]): Promise<number> {
  const columns = (await columnsOf(trx, kind, table)).filter((c) => !omit.includes(c));
  const list = sql.join(columns.map((c) => sql.id(c)));
  const order = table === 'visit_timeline' ? sql` order by seq` : sql``;
  const result = await sql`insert into ${sql.table(table)} (${list}) select ${list} from ${source}${order}`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

async function columnsOf(trx: Transaction<PatientManagementDatabase>, kind: RebuiltTables['kind'], table: string): Promise<string[]> {
  const { rows } =
    kind === 'postgres'
      ? await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table} order by ordinal_position`.execute(trx)
      : await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(trx);
  return rows.map((row) => row.name);
}
