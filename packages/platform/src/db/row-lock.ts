import type { QueryExecutorProvider } from 'kysely';
import { isPostgres } from './is-postgres.ts';

/**
 * Load-decide-save inside a transaction loads the aggregate's root row with this: on PostgreSQL
 * it becomes SELECT … FOR UPDATE, so two commands on one visit (an HTTP command on one replica,
 * an event on another) take turns, while commands on different visits never wait on each other.
 * SQLite has one writer per file already, and reads outside a transaction take no lock.
 */
export function forUpdate<Q extends { forUpdate(): Q }>(query: Q, db: QueryExecutorProvider & { readonly isTransaction: boolean }): Q {
  return db.isTransaction && isPostgres(db) ? query.forUpdate() : query;
}
