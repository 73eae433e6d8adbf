import { createHash } from 'node:crypto';
import { sql, type QueryExecutorProvider } from 'kysely';
import { isPostgres } from '../db/is-postgres.ts';

/**
 * Tamper evidence for an append-only table (the audit trail, the access log): each row keeps the
 * hash of the row before it (`prev_hash`) and its own (`hash`), which covers its fields and that
 * previous hash. Changing a row changes its hash; removing one breaks the link of the next;
 * inserting one breaks the link after it. `verifyChain` walks the rows in order and names the
 * first that does not fit.
 *
 * One chain per table, written in one order: the writer takes the chain's lock for the rest of
 * its transaction (on PostgreSQL a transaction-level advisory lock named after the schema and the
 * table; SQLite has one writer already), reads the last row's hash and inserts after it. A
 * transaction that rolls back leaves no row, so the next writer links to the last committed one.
 */

/** The `prev_hash` of a chain's first row. */
export const CHAIN_GENESIS = '0'.repeat(64);

/** A row's value in the hash: its fields in a fixed order, as JSON (null for an absent field). */
export type ChainedFields = ReadonlyArray<string | number | null | ReadonlyArray<unknown>>;

/** SHA-256, hex, of the previous hash and the row's fields. */
export function chainHash(previousHash: string, fields: ChainedFields): string {
  return createHash('sha256').update(previousHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

/**
 * Locks a chain of `table` until the transaction ends and answers the hash to link the next row
 * to: the chain's last row's, or the genesis for a chain without rows. A table holds one chain,
 * or, with `chain`, one per value of a column (the access log: one per partition of its topic,
 * each written by the one consumer of that partition, so its writers never wait on each other).
 * Call it inside the transaction that inserts.
 */
export async function lockChainTail(
  trx: QueryExecutorProvider & { readonly isTransaction: boolean },
  table: string,
  chain?: { column: string; value: number },
): Promise<string> {
  if (!trx.isTransaction) throw new Error(`the ${table} chain is extended inside a transaction only`);
  const name = chain ? `.${table}.chain.${chain.value}` : `.${table}.chain`;
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(hashtext(current_schema() || ${name}))`.execute(trx);
  const within = chain ? sql`where ${sql.ref(chain.column)} = ${chain.value}` : sql``;
  const last = await sql<{ hash: string | null }>`select hash from ${sql.table(table)} ${within} order by ${sql.ref(idColumnOf(table))} desc limit 1`.execute(trx);
  return last.rows[0]?.hash ?? CHAIN_GENESIS;
}

/** The column a chained table is ordered by. */
const idColumnOf = (table: string) => (table === 'access_log' ? 'seq' : 'id');

/** One row as the verifier reads it: its id, its links, and its fields as the writer hashed them. */
export type ChainRow = { id: string; prevHash: string | null; hash: string | null; fields: ChainedFields };

export type ChainBreak = {
  /** The row that does not fit. */
  rowId: string;
  kind: 'changed' | 'removed' | 'inserted' | 'unsealed';
  detail: string;
};

export type ChainVerdict = { rows: number; head?: { rowId: string; hash: string }; broken?: ChainBreak };

/**
 * Walks the rows in their order and answers the first that does not fit:
 * - `unsealed`: it has no hash (written around the service, or by a version before the chain);
 * - `changed`: its hash is not that of its fields (a field was edited after it was written);
 * - `inserted`: a row put in between: one that does not link to the row before it while the row
 *   after it does, or one that links well but whose successor links past it, to its predecessor;
 * - `removed`: a row that links to a row that is not there (or the row before it was rewritten
 *   together with its hash, which only its successor's link shows).
 * Rows removed from the end leave no trace in the rows themselves: compare the head it answers
 * with one recorded earlier (`npm run audit:verify` prints each chain's head). A chain whose oldest
 * rows were purged past their retention starts after the purge's anchor: the hash of the last row
 * purged, which the first row kept must link to.
 */
export function verifyChain(rows: Iterable<ChainRow>, startsAfter: string = CHAIN_GENESIS): ChainVerdict {
  const list = [...rows];
  let expected = startsAfter;
  let beforeHead: string | undefined;
  let head: ChainVerdict['head'];
  const verdict = (broken: ChainBreak): ChainVerdict => ({ rows: list.length, ...(head ? { head } : {}), broken });
  for (let index = 0; index < list.length; index++) {
    const row = list[index]!;
    if (row.hash === null || row.prevHash === null) return verdict({ rowId: row.id, kind: 'unsealed', detail: `row ${row.id} has no hash: it was not written by the service` });
    if (chainHash(row.prevHash, row.fields) !== row.hash) {
      return verdict({ rowId: row.id, kind: 'changed', detail: `row ${row.id} was changed after it was written: its hash is not that of its fields` });
    }
    if (row.prevHash !== expected) {
      const before = head ? `row ${head.rowId}` : 'the start';
      if (head && row.prevHash === beforeHead) {
        return verdict({ rowId: head.rowId, kind: 'inserted', detail: `row ${head.rowId} was inserted: the row after it, ${row.id}, links past it to the row before it` });
      }
      if (list[index + 1]?.prevHash === expected) {
        return verdict({ rowId: row.id, kind: 'inserted', detail: `row ${row.id} was inserted: it does not link to ${before}, and the row after it does` });
      }
      return verdict({
        rowId: row.id,
        kind: 'removed',
        detail: `row ${row.id} does not link to ${before}: a row between them was removed${head ? `, or row ${head.rowId} was rewritten with a new hash` : ''}`,
      });
    }
    beforeHead = expected;
    expected = row.hash;
    head = { rowId: row.id, hash: row.hash };
  }
  return { rows: list.length, ...(head ? { head } : {}) };
}
