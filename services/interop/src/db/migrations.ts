import { sql } from 'kysely';
import { isPostgres, type Migrations } from '@medical/platform';

/** The interop service's own tables (the platform's are migrated under their own owners). */
export const migrations: Migrations = {
  '0001_fhir_projection': {
    async up(db) {
      await db.schema
        .createTable('interop_patients')
        .addColumn('patient_id', 'text', (c) => c.primaryKey())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('interop_encounters')
        .addColumn('reception_id', 'integer', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('reception_status', 'text', (c) => c.notNull())
        .addColumn('diagnosis_id', 'integer')
        .addColumn('diagnosis_status', 'text')
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('interop_encounters_patient').on('interop_encounters').columns(['patient_id', 'reception_id']).execute();
      await db.schema.createIndex('interop_encounters_status').on('interop_encounters').columns(['status', 'reception_id']).execute();
      await db.schema.createIndex('interop_encounters_started').on('interop_encounters').columns(['started_at']).execute();
      await db.schema
        .createTable('interop_service_requests')
        .addColumn('prescription_id', 'text', (c) => c.primaryKey())
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('interop_service_requests_visit').on('interop_service_requests').columns(['reception_id']).execute();
      await db.schema
        .createTable('interop_tasks')
        .addColumn('examination_id', 'integer', (c) => c.primaryKey())
        .addColumn('prescription_id', 'text', (c) => c.notNull())
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('interop_tasks_visit').on('interop_tasks').columns(['reception_id']).execute();
      await db.schema.createIndex('interop_tasks_focus').on('interop_tasks').columns(['prescription_id']).execute();
      await db.schema.createIndex('interop_tasks_status').on('interop_tasks').columns(['status', 'examination_id']).execute();
    },
  },
  '0002_subscriptions_and_deliveries': {
    async up(db) {
      await db.schema
        .createTable('interop_subscriptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('criteria', 'text', (c) => c.notNull())
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('payload', 'text')
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      const postgres = isPostgres(db);
      await db.schema
        .createTable('interop_deliveries')
        .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('about', 'text', (c) => c.notNull())
        .addColumn('reception_id', 'integer')
        .addColumn('patient_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('leased_by', 'text')
        .addColumn('leased_until', 'text')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('set_aside_at', 'text')
        .execute();
      // The head of each destination's line: its oldest message neither delivered nor set aside.
      await db.schema.createIndex('interop_deliveries_pending').on('interop_deliveries').columns(['destination', 'id']).where(sql<boolean>`delivered_at is null and set_aside_at is null`).execute();
    },
  },
};
