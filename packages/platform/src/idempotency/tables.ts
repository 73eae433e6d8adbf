import type { MigrationSet } from '../db/migrate.ts';

export const idempotencyMigrations: MigrationSet = {
  owner: 'idempotency',
  migrations: {
    /** The answers of commands sent with an Idempotency-Key (http-idempotency.ts). */
    '0001_idempotency_keys': {
      async up(db) {
        await db.schema
          .createTable('idempotency_keys')
          .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('path', 'text', (c) => c.notNull())
          // sha-256 (hex) of the body's canonical JSON: see http-idempotency.ts.
          .addColumn('body_hash', 'text', (c) => c.notNull())
          // 0 only inside the transaction that claimed the key: never committed.
          .addColumn('status', 'integer', (c) => c.notNull())
          // JSON object of the stored headers (content-type, location).
          .addColumn('headers', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        // The periodic purge of keys past their retention.
        await db.schema.createIndex('idempotency_keys_created_at').on('idempotency_keys').column('created_at').execute();
      },
    },
  },
  sharedTableNames: { '0001_idempotency_keys': '0003_platform_idempotency_keys' },
};

export type IdempotencyTables = {
  idempotency_keys: {
    idempotency_key: string;
    method: string;
    path: string;
    body_hash: string;
    status: number;
    headers: string;
    body: string;
    created_at: string;
  };
};
