import { PostgresAdapter, type QueryExecutorProvider } from 'kysely';

/** The few places where the two engines need different DDL ask this. */
export function isPostgres(db: QueryExecutorProvider): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
