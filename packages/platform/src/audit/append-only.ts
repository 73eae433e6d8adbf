import { sql } from 'kysely';
import type { MigrationDb } from '../db/database.ts';
import { isPostgres } from '../db/is-postgres.ts';

/**
 * Makes a table append-only in the database itself, as the audit trail is (tables.ts): PostgreSQL
 * refuses UPDATE, DELETE and TRUNCATE by a statement trigger (statement-level, so even a statement
 * that matches no row is refused); SQLite aborts UPDATE and DELETE by triggers. For a migration.
 * The table's owner can still set a trigger aside: the services do not connect as the owner
 * (README, *Database roles*), and the hash chain shows what the owner changed.
 */
export async function makeAppendOnly(db: MigrationDb, table: string): Promise<void> {
  if (isPostgres(db)) {
    await sql`
      create or replace function refuse_append_only_change() returns trigger language plpgsql as $$
      begin
        raise exception '% is append-only: % refused', tg_table_name, tg_op using errcode = 'restrict_violation';
      end $$`.execute(db);
    await sql`create trigger ${sql.id(`${table}_append_only`)} before update or delete or truncate on ${sql.table(table)} for each statement execute function refuse_append_only_change()`.execute(db);
    return;
  }
  for (const operation of ['update', 'delete']) {
    await sql.raw(`create trigger ${table}_no_${operation} before ${operation} on ${table} begin select raise(abort, '${table} is append-only: ${operation.toUpperCase()} refused'); end`).execute(db);
  }
}

/**
 * Sets a table's append-only triggers aside, inside the caller's transaction, for the one change
 * the retention table allows on an append-only log: the purge of its oldest rows past their period
 * (`npm run purge`, as the owner). The caller puts them back with makeAppendOnly in the same
 * transaction, so no other transaction ever sees the table without them.
 */
export async function setAppendOnlyAside(db: MigrationDb, table: string): Promise<void> {
  if (isPostgres(db)) {
    await sql`drop trigger ${sql.id(`${table}_append_only`)} on ${sql.table(table)}`.execute(db);
    return;
  }
  for (const operation of ['update', 'delete']) await sql.raw(`drop trigger ${table}_no_${operation}`).execute(db);
}
