import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { commitNotifications } from './commit-notifications.ts';
import type { Database } from './database.ts';
import type { IdTables } from './id-sequences.ts';
import { migrate, type MigrationSet } from './migrate.ts';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';

export type OpenSqliteOptions = {
  serviceName: string;
  dataDir: string;
  /** Every owner's migrations, in the order they run (the service's composition: service/platform-migrations.ts). */
  migrationSets: readonly MigrationSet[];
  logger?: Logger;
};

/** The embedded adapter: one SQLite file per service under DATA_DIR. */
export async function openSqliteDatabase<DB>(options: OpenSqliteOptions): Promise<Database<DB>> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, `${options.serviceName}.sqlite`);
  const { dialect } = createNodeSqliteDialect(file);
  const db = new Kysely<DB>({ dialect });
  await migrate(db, options.migrationSets, options.logger ?? pino({ level: 'silent' }));
  // Only this process writes this file, so its notifications need not leave it: they go out
  // in-process after their transaction commits, in commit order (transactions are serial).
  const channels = new EventEmitter();
  channels.setMaxListeners(0);
  const notifications = commitNotifications<DB>((committed) => {
    for (const { channel, payload } of committed) channels.emit(channel, payload);
  });
  return {
    kind: 'sqlite',
    db,
    // One connection, one writer: SQLite transactions are serial, so no retry is ever needed.
    transaction: (work) => notifications.around((inner) => db.transaction().execute(inner), work),
    // One connection held for the whole of it, so no other transaction commits while it is relaxed.
    relaxedTransaction: (work) =>
      db.connection().execute(async (connection) => {
        await sql`PRAGMA synchronous = NORMAL`.execute(connection);
        try {
          return await notifications.around((inner) => connection.transaction().execute(inner), work);
        } finally {
          await sql`PRAGMA synchronous = FULL`.execute(connection);
        }
      }),
    async nextId(trx, sequence) {
      // In SQL: the adapter serves any service's tables, and id_sequences is its own (IdTables).
      const { rows } = await sql<Pick<IdTables['id_sequences'], 'last_value'>>`
        insert into id_sequences (name, last_value) values (${sequence}, 1)
        on conflict (name) do update set last_value = last_value + 1
        returning last_value`.execute(trx);
      return Number(rows[0]!.last_value);
    },
    async notify(trx, channel, payload) {
      notifications.add(trx, channel, payload);
    },
    async listen(channel, listener, onListening) {
      channels.on(channel, listener);
      // Listening in-process never breaks, so it starts once and never again.
      onListening?.();
      return async () => {
        channels.off(channel, listener);
      };
    },
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
