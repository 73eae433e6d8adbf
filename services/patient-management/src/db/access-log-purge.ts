import type { Selectable, Transaction } from 'kysely';
import { makeAppendOnly, setAppendOnlyAside, type Database } from '@medical/platform';
import type { AccessLogPurgeRow, PatientManagementDatabase } from './schema.ts';

/**
 * The access log's purge past ACCESS_LOG_RETENTION_DAYS (the retention table, `npm run purge`,
 * as the tables' owner): per chain, the oldest records written before the cut-off, up to the first
 * one written after it (a chain is in writing order), with their subjects. The append-only
 * triggers are set aside and put back in the same transaction. Each chain's cut is recorded as an
 * anchor (access_log_purges): the hash of the last record purged, which the first record kept
 * links to, so `npm run audit:verify` still checks the whole of what is kept, and tells a cut by
 * the retention from a removal.
 */

export type ChainPurge = { chain: number; records: number; throughSeq: string; throughHash: string };

export async function purgeAccessLog(database: Database<PatientManagementDatabase>, before: Date): Promise<ChainPurge[]> {
  const cutoff = before.toISOString();
  return database.transaction(async (trx) => {
    const cuts = await chainCuts(trx, cutoff);
    if (cuts.length === 0) return [];
    for (const table of ['access_log_subjects', 'access_log'] as const) await setAppendOnlyAside(trx, table);
    for (const cut of cuts) {
      const purged = trx.selectFrom('access_log').select('seq').where('chain', '=', cut.chain).where('seq', '<=', cut.throughSeq);
      await trx.deleteFrom('access_log_subjects').where('seq', 'in', purged).execute();
      await trx.deleteFrom('access_log').where('chain', '=', cut.chain).where('seq', '<=', cut.throughSeq).execute();
      await trx
        .insertInto('access_log_purges')
        .values({ chain: cut.chain, through_seq: cut.throughSeq, through_hash: cut.throughHash, records: cut.records, recorded_before: cutoff, purged_at: new Date().toISOString() })
        .execute();
    }
    for (const table of ['access_log_subjects', 'access_log'] as const) await makeAppendOnly(trx, table);
    return cuts;
  });
}

/** Per chain, how far its purge reaches: the last record of its run of records written before the cut-off. */
async function chainCuts(trx: Transaction<PatientManagementDatabase>, cutoff: string): Promise<ChainPurge[]> {
  const chains = await trx.selectFrom('access_log').select('chain').distinct().execute();
  const cuts: ChainPurge[] = [];
  for (const { chain } of chains) {
    // The first record of the chain written at or after the cut-off: the purge stops before it.
    const firstKept = await trx.selectFrom('access_log').select('seq').where('chain', '=', chain).where('recorded_at', '>=', cutoff).orderBy('seq').limit(1).executeTakeFirst();
    let query = trx.selectFrom('access_log').select(['seq', 'hash']).where('chain', '=', chain);
    if (firstKept) query = query.where('seq', '<', firstKept.seq);
    const last = await query.orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!last || last.hash === null) continue;
    const { count } = await trx.selectFrom('access_log').select((eb) => eb.fn.countAll<string>().as('count')).where('chain', '=', chain).where('seq', '<=', last.seq).executeTakeFirstOrThrow();
    cuts.push({ chain: Number(chain), records: Number(count), throughSeq: String(last.seq), throughHash: last.hash });
  }
  return cuts;
}

/** Where a chain starts after its purges: the latest anchor, with the records purged in all. */
export type ChainAnchor = { throughSeq: string; throughHash: string; records: number };

/** Each chain's latest anchor from the anchors table's rows (genesis, no anchor, when never purged). */
export function anchorsOf(purges: ReadonlyArray<Selectable<AccessLogPurgeRow>>): Map<number, ChainAnchor> {
  const anchors = new Map<number, ChainAnchor>();
  for (const purge of [...purges].sort((a, b) => Number(a.id) - Number(b.id))) {
    const earlier = anchors.get(Number(purge.chain))?.records ?? 0;
    anchors.set(Number(purge.chain), { throughSeq: String(purge.through_seq), throughHash: purge.through_hash, records: earlier + Number(purge.records) });
  }
  return anchors;
}
