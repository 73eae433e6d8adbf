import type { Migrations } from '@medical/platform';

export const migrations: Migrations = {
  '0001_diagnoses': {
    async up(db) {
      await db.schema
        .createTable('diagnoses')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        // One diagnosis per reception, enforced by the database as well as by the handler.
        .addColumn('reception_id', 'integer', (c) => c.notNull().unique())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('opinion', 'text')
        .addColumn('reject_reason', 'text')
        .addColumn('cancel_reason', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('diagnoses_status').on('diagnoses').columns(['status', 'id']).execute();
      await db.schema.createIndex('diagnoses_patient').on('diagnoses').columns(['patient_id', 'id']).execute();
      await db.schema
        .createTable('prescriptions')
        .addColumn('prescription_id', 'text', (c) => c.primaryKey())
        .addColumn('diagnosis_id', 'integer', (c) => c.notNull().references('diagnoses.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('examination_type', 'text', (c) => c.notNull())
        .addColumn('instructions', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('examination_id', 'integer')
        .addColumn('result', 'text')
        .addColumn('cancel_reason', 'text')
        .addColumn('prescribed_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('prescriptions_diagnosis').on('prescriptions').columns(['diagnosis_id', 'position']).execute();
    },
  },
  /**
   * The department a diagnosis belongs to (issue 18). Expand only: a nullable column, so the rows
   * before it stay valid (null: the hospital's default department) and the version before it,
   * which neither reads nor writes it, still runs on this schema.
   */
  '0002_diagnosis_department': {
    async up(db) {
      await db.schema.alterTable('diagnoses').addColumn('department', 'text').execute();
    },
  },
  /** A doctor's worklist is filtered by department and ordered by id: read through this index, not a scan of every diagnosis. */
  '0003_diagnoses_by_department': {
    async up(db) {
      await db.schema.createIndex('diagnoses_department').on('diagnoses').columns(['department', 'id']).execute();
    },
  },
  /**
   * The waiting room (issue 21): the visit's queue number and the doctor's calls. Expand only:
   * nullable columns and a count that starts at 0, so the rows before it read as never called and
   * the version before it, which neither reads nor writes them, still runs on this schema. One
   * statement per column: SQLite adds one column per ALTER TABLE.
   */
  '0004_diagnosis_calls': {
    async up(db) {
      await db.schema.alterTable('diagnoses').addColumn('queue_number', 'integer').execute();
      await db.schema.alterTable('diagnoses').addColumn('call_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('diagnoses').addColumn('called_at', 'text').execute();
      await db.schema.alterTable('diagnoses').addColumn('room', 'text').execute();
      await db.schema.alterTable('diagnoses').addColumn('no_show_at', 'text').execute();
    },
  },
};
