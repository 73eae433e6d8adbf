import type { Kysely, Transaction } from 'kysely';
import type { StageWait, WaitSample } from '../domain/waits.ts';
import type { PatientManagementDatabase } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;

/** Keeps the waits that ended, each once (visit, stage, item): returns those new to the table, which are the ones to count. */
export async function recordWaits(db: Db, waits: readonly StageWait[]): Promise<StageWait[]> {
  const added: StageWait[] = [];
  for (const wait of waits) {
    const result = await db
      .insertInto('visit_waits')
      .values({
        reception_id: wait.receptionId,
        stage: wait.stage,
        item: wait.item,
        department: wait.department,
        // One form of instant, so that the table's order by text is the order in time.
        started_at: new Date(wait.startedAt).toISOString(),
        ended_at: new Date(wait.endedAt).toISOString(),
        seconds: wait.seconds,
      })
      .onConflict((oc) => oc.columns(['reception_id', 'stage', 'item']).doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) added.push(wait);
  }
  return added;
}

/** The waits whose stage began in [from, to) (ISO instants in UTC), of one department or all. */
export async function waitsStartedBetween(db: Db, from: string, to: string, department?: string): Promise<WaitSample[]> {
  let query = db
    .selectFrom('visit_waits')
    .select(['department', 'stage', 'started_at', 'seconds'])
    .where('started_at', '>=', from)
    .where('started_at', '<', to);
  if (department !== undefined) query = query.where('department', '=', department);
  const rows = await query.execute();
  return rows.map((row) => ({ department: row.department, stage: row.stage, startedAt: row.started_at, seconds: Number(row.seconds) }));
}
