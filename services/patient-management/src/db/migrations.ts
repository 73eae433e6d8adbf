import type { Kysely } from 'kysely';
import type { Migrations } from '@medical/platform';

export const migrations: Migrations = {
  '0001_visits': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('visits')
        .addColumn('reception_id', 'integer', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('reception_status', 'text', (c) => c.notNull())
        .addColumn('diagnosis_id', 'integer')
        .addColumn('diagnosis_status', 'text')
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('examinations', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('visits_patient').on('visits').columns(['patient_id', 'reception_id']).execute();
      await db.schema.createIndex('visits_stage').on('visits').columns(['stage', 'reception_id']).execute();
    },
  },
};
