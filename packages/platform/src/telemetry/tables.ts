import type { MigrationSet } from '../db/migrate.ts';

export const telemetryMigrations: MigrationSet = {
  owner: 'telemetry',
  migrations: {
    /**
     * The trace of each visit this service has emitted events for (telemetry/visit-traces.ts):
     * what keeps a visit's events in one trace when a later command on it arrives in a trace of
     * its own. Rows older than the retention are purged with the idempotency keys.
     */
    '0001_visit_traces': {
      async up(db) {
        await db.schema
          .createTable('visit_traces')
          .addColumn('subject', 'text', (c) => c.primaryKey())
          .addColumn('traceparent', 'text', (c) => c.notNull())
          .addColumn('recorded_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('visit_traces_recorded_at').on('visit_traces').column('recorded_at').execute();
      },
    },
  },
  sharedTableNames: { '0001_visit_traces': '0004_platform_visit_traces' },
};

export type TelemetryTables = {
  visit_traces: { subject: string; traceparent: string; recorded_at: string };
};
