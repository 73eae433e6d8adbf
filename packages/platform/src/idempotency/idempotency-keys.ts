import type { Kysely, Transaction } from 'kysely';
import { retentionMs } from '../retention/policy.ts';
import type { IdempotencyTables } from './tables.ts';

/**
 * The idempotency_keys table: which request first used a key, and the answer it got. Every
 * function takes the service's Kysely (or a transaction of it) and sees only this table.
 */

/** Keys are kept at least this long (the retention table; a purge runs every PURGE_INTERVAL_MS, see service/service.ts). */
export const IDEMPOTENCY_KEY_RETENTION_MS = retentionMs('idempotency-keys');

/** What identifies a request sent with a key: a retry must match all of it. */
export type KeyUse = { key: string; method: string; path: string; bodyHash: string };

/** An answer as stored and replayed: status, the headers that matter, the body's text. */
export type StoredResponse = { status: number; headers: Record<string, string>; body: string };

export type KeyRecord = KeyUse & { response: StoredResponse; createdAt: string };

export async function findKey(db: Kysely<IdempotencyTables>, key: string): Promise<KeyRecord | undefined> {
  const row = await db.selectFrom('idempotency_keys').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  if (!row) return undefined;
  return {
    key: row.idempotency_key,
    method: row.method,
    path: row.path,
    bodyHash: row.body_hash,
    response: { status: Number(row.status), headers: JSON.parse(row.headers) as Record<string, string>, body: row.body },
    createdAt: row.created_at,
  };
}

/**
 * Claims `use.key` for the caller's transaction; false when another request holds it. The row
 * (status 0, no answer yet) is never seen by others before `recordResponse` fills it in and the
 * transaction commits. On PostgreSQL a second claim of a key whose claiming transaction is still
 * open waits on that row (the primary key), then returns false if it committed and claims the
 * key if it rolled back; on SQLite transactions are serial anyway.
 */
export async function claimKey(trx: Transaction<IdempotencyTables>, use: KeyUse, now: Date = new Date()): Promise<boolean> {
  const inserted = await trx
    .insertInto('idempotency_keys')
    .values({
      idempotency_key: use.key,
      method: use.method,
      path: use.path,
      body_hash: use.bodyHash,
      status: 0,
      headers: '{}',
      body: '',
      created_at: now.toISOString(),
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('idempotency_key')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Fills in the answer of a key claimed in the same transaction. */
export async function recordResponse(trx: Transaction<IdempotencyTables>, key: string, response: StoredResponse): Promise<void> {
  await trx
    .updateTable('idempotency_keys')
    .set({ status: response.status, headers: JSON.stringify(response.headers), body: response.body })
    .where('idempotency_key', '=', key)
    .execute();
}

/** Deletes the keys created before `before`; returns how many. */
export async function purgeKeys(db: Kysely<IdempotencyTables>, before: Date): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where('created_at', '<', before.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
