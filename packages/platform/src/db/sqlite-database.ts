import { EventEmitter } from 'node:events';
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
  // Only this process writes this file, so its notifications need not leave it: they wait in
  // `pending` for their transaction to commit, and go out in commit order (transactions are serial).
  const channels = new EventEmitter();
  channels.setMaxListeners(0);
  const pending = new WeakMap<Transaction<DB>, Array<[string, string]>>();
  const notifying = async <T>(run: (work: (trx: Transaction<DB>) => Promise<T>) => Promise<T>, work: (trx: Transaction<DB>) => Promise<T>) => {
    let notifications: Array<[string, string]> = [];
    const result = await run((trx) => {
      notifications = [];
      pending.set(trx, notifications);
      return work(trx);
    });
    for (const [channel, payload] of notifications) channels.emit(channel, payload);
    return result;
  };
  return {
    kind: 'sqlite',
    db,
    // One connection, one writer: SQLite transactions are serial, so no retry is ever needed.
    transaction: (work) => notifying((inner) => db.transaction().execute(inner), work),
    // One connection held for the whole of it, so no other transaction commits while it is relaxed.
    relaxedTransaction: (work) =>
      db.connection().execute(async (connection) => {
        await sql`PRAGMA synchronous = NORMAL`.execute(connection);
        try {
          return await notifying((inner) => connection.transaction().execute(inner), work);
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
    async notify(trx, channel, payload) {
      const notifications = pending.get(trx);
      if (!notifications) throw new Error('notify needs a transaction of this database');
      notifications.push([channel, payload]);
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
