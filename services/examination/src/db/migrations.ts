import type { Migrations } from '@medical/platform';

export const migrations: Migrations = {
  '0001_examinations': {
    async up(db) {
      await db.schema
        .createTable('examinations')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        // One examination per prescription, enforced by the database as well as by the handler.
        .addColumn('prescription_id', 'text', (c) => c.notNull().unique())
        .addColumn('diagnosis_id', 'integer', (c) => c.notNull())
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('examination_type', 'text', (c) => c.notNull())
        .addColumn('instructions', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('performed_at', 'text')
        .addColumn('cancel_reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('examinations_status').on('examinations').columns(['status', 'id']).execute();
      await db.schema.createIndex('examinations_diagnosis').on('examinations').columns(['diagnosis_id', 'id']).execute();
      await db.schema.createIndex('examinations_reception').on('examinations').columns(['reception_id', 'id']).execute();
      await db.schema
        .createTable('closed_visits')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('ref_id', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('closed_visits_pk', ['scope', 'ref_id'])
        .execute();
    },
  },
  /**
   * The attachments of an examination (reports, images): their bytes are files under
   * ATTACHMENTS_DIR, these rows are what lists them (see src/attachments/store.ts for why).
   * Numbered above every migration of the platform and the services (the platform's latest is
   * 0004): they share one namespace, and one may never sort before another already applied.
   */
  '0005_attachments': {
    async up(db) {
      await db.schema
        .createTable('attachments')
        .addColumn('examination_id', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('uploaded_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('attachments_pk', ['examination_id', 'name'])
        // The same bytes twice on one examination are one attachment (a retried upload).
        .addUniqueConstraint('attachments_content', ['examination_id', 'sha256'])
        .execute();
      await db.schema.createIndex('attachments_listing').on('attachments').columns(['examination_id', 'uploaded_at', 'name']).execute();
    },
  },
  /**
   * The patient each merged visit now belongs to (ReceptionPatientMerged; db/repository.ts,
   * recordVisitPatient): a prescription that arrives after the merge takes the patient from here,
   * not from the diagnosis service's event, which may have been written before that service took
   * the merge. A visit without a merge has no row.
   */
  '0006_visit_patients': {
    async up(db) {
      await db.schema
        .createTable('visit_patients')
        .addColumn('reception_id', 'integer', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('merged_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * The waiting room (issue 21): where an examination is called, the visit's department and queue
   * number, and the examiners' calls. Expand only: nullable columns and a count that starts at 0,
   * so the rows before it read as never called (and are given their waiting room when first
   * called), and the version before it, which neither reads nor writes them, still runs on this
   * schema. One statement per column: SQLite adds one column per ALTER TABLE.
   */
  '0007_examination_calls': {
    async up(db) {
      await db.schema.alterTable('examinations').addColumn('department', 'text').execute();
      await db.schema.alterTable('examinations').addColumn('visit_department', 'text').execute();
      await db.schema.alterTable('examinations').addColumn('queue_number', 'integer').execute();
      await db.schema.alterTable('examinations').addColumn('call_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('examinations').addColumn('called_at', 'text').execute();
      await db.schema.alterTable('examinations').addColumn('room', 'text').execute();
      await db.schema.alterTable('examinations').addColumn('no_show_at', 'text').execute();
    },
  },
};
