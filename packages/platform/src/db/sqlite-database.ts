import fs from 'node:fs';
import path from 'node:path';
import { Kysely, sql, type Transaction } from 'kysely';
import type { Database, OpenDatabaseOptions } from './database.ts';
import { migrate } from './migrate.ts';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';
import type { PlatformTables } from './platform-migrations.ts';

/** The embedded adapter: one SQLite file per service under DATA_DIR. */
export async function openSqliteDatabase<DB>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, `${options.serviceName}.sqlite`);
  const { dialect } = createNodeSqliteDialect(file);
  const db = new Kysely<DB>({ dialect });
  await migrate(db, options.migrations);
  return {
    kind: 'sqlite',
    db,
    // One connection, one writer: SQLite transactions are serial, so no retry is ever needed.
    transaction: (work) => db.transaction().execute(work),
    // One connection held for the whole of it, so no other transaction commits while it is relaxed.
    relaxedTransaction: (work) =>
      db.connection().execute(async (connection) => {
        await sql`PRAGMA synchronous = NORMAL`.execute(connection);
        try {
          return await connection.transaction().execute(work);
        } finally {
          await sql`PRAGMA synchronous = FULL`.execute(connection);
        }
      }),
    async nextId(trx, sequence) {
      const row = await (trx as unknown as Transaction<PlatformTables>)
        .insertInto('id_sequences')
        .values({ name: sequence, last_value: 1 })
        .onConflict((oc) => oc.column('name').doUpdateSet({ last_value: sql`last_value + 1` }))
        .returning('last_value')
        .executeTakeFirstOrThrow();
      return Number(row.last_value);
    },
    // Only this process writes this file, and it notifies its relay itself.
    onOutboxCommitted: async () => undefined,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
