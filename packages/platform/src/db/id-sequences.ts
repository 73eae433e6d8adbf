import type { MigrationSet } from './migrate.ts';

/**
 * The counters that hand out the positive integer ids of DESIGN.md section 6 (Database.nextId):
 * on SQLite this table (sqlite-database.ts); PostgreSQL draws them from sequences
 * (postgres-database.ts).
 */
export const idsMigrations: MigrationSet = {
  owner: 'ids',
  migrations: {
    '0001_id_sequences': {
      async up(db) {
        await db.schema
          .createTable('id_sequences')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('last_value', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  },
  sharedTableNames: { '0001_id_sequences': '0000_platform_outbox_inbox' },
};

export type IdTables = {
  id_sequences: { name: string; last_value: number | string };
};
