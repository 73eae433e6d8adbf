import type { Migrations } from '@medical/platform';

export const migrations: Migrations = {
  '0001_receptions': {
    async up(db) {
      await db.schema
        .createTable('receptions')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('birth_date', 'text')
        .addColumn('department', 'text')
        .addColumn('symptom', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('cancel_reason', 'text')
        .addColumn('diagnosis_id', 'integer')
        .addColumn('diagnosis_outcome', 'text')
        .addColumn('diagnosis_opinion', 'text')
        .addColumn('diagnosis_reject_reason', 'text')
        .addColumn('confirmed_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('receptions_status').on('receptions').columns(['status', 'id']).execute();
      await db.schema.createIndex('receptions_patient').on('receptions').columns(['patient_id', 'id']).execute();
    },
  },
};
