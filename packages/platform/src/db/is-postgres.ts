import { PostgresAdapter, type Kysely } from 'kysely';

/** The few places where the two engines need different DDL ask this. */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
