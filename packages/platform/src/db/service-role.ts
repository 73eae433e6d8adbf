import { sql } from 'kysely';
import type { MigrationDb } from './database.ts';

/**
 * What the services' own database role may do in a service's schema, granted by the owner once
 * the migrations have run (`npm run migrate`): read and write the service's tables, but only read
 * and add to the append-only ones (those the owner gave an `<table>_append_only` trigger: the
 * audit trail, the access log), and never change the schema. So the role a service connects as
 * can neither rewrite the trail nor set its triggers aside; the owner can, and the hash chain
 * shows it (audit/hash-chain.ts).
 */
export async function grantServiceRole(db: MigrationDb, schema: string, role: string): Promise<void> {
  const appendOnly = new Set(
    (await sql<{ table: string }>`select distinct event_object_table as "table" from information_schema.triggers where trigger_schema = ${schema} and trigger_name like '%\\_append\\_only'`.execute(db)).rows.map(
      (row) => row.table,
    ),
  );
  const tables = (await sql<{ table: string }>`select table_name as "table" from information_schema.tables where table_schema = ${schema} and table_type = 'BASE TABLE'`.execute(db)).rows.map((row) => row.table);
  // In one transaction, and granting before revoking what must not be: every release runs this
  // again while the previous release's services are serving, and a statement of theirs must never
  // fall between a table's privileges taken away and given back (a 500 on a rolling upgrade).
  await db.transaction().execute(async (trx) => {
    await sql`grant usage on schema ${sql.id(schema)} to ${sql.id(role)}`.execute(trx);
    for (const table of tables) {
      const qualified = sql.id(schema, table);
      if (appendOnly.has(table)) {
        await sql`grant select, insert on ${qualified} to ${sql.id(role)}`.execute(trx);
        await sql`revoke update, delete, truncate, references, trigger on ${qualified} from ${sql.id(role)}`.execute(trx);
      } else {
        await sql`grant select, insert, update, delete on ${qualified} to ${sql.id(role)}`.execute(trx);
        await sql`revoke truncate, references, trigger on ${qualified} from ${sql.id(role)}`.execute(trx);
      }
    }
    // The sequences behind the ids (bigserial, identity) and the services' own id sequences.
    await sql`grant usage, select on all sequences in schema ${sql.id(schema)} to ${sql.id(role)}`.execute(trx);
  });
}
