import { sql } from 'kysely';
import { initialsOf, nameKeyOf } from '@medical/contracts';
import { isPostgres, type MigrationDb, type Migrations } from '@medical/platform';

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
  '0002_patients': {
    async up(db) {
      await db.schema
        .createTable('patients')
        .addColumn('patient_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('initials', 'text', (c) => c.notNull())
        .addColumn('birth_date', 'text')
        .addColumn('sex', 'text', (c) => c.notNull())
        .addColumn('phone', 'text')
        .addColumn('phone_digits', 'text')
        .addColumn('phone_digits_reversed', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('merged_into', 'text')
        .addColumn('possible_duplicates', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await createPatientSearchIndexes(db);
      await carryOverVisitPatients(db);
    },
  },
  '0003_queue_numbers': {
    async up(db) {
      await db.schema
        .createTable('queue_counters')
        .addColumn('department', 'text', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('last_number', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('queue_counters_pk', ['department', 'day'])
        .execute();
      // One column a statement, as SQLite adds them; null for the visits registered before queue numbers.
      await db.schema.alterTable('receptions').addColumn('queue_number', 'integer').execute();
      await db.schema.alterTable('receptions').addColumn('queue_day', 'text').execute();
      await db.schema.alterTable('receptions').addColumn('ticket_token', 'text').execute();
    },
  },
};

/**
 * The indexes of the registry's searches (db/patients.ts), each a match from the start of a key:
 * a name, its initials or a number from their first letters, a phone from its last digits (its
 * digits reversed, from their first), a birth date, and the look-alikes' exact phone. On
 * PostgreSQL a prefix LIKE uses a btree only under the C collation's order, which
 * `text_pattern_ops` gives the index whatever the database's collation; SQLite's LIKE is its own.
 */
async function createPatientSearchIndexes(db: MigrationDb): Promise<void> {
  const prefixed = ['name_key', 'initials', 'patient_id', 'phone_digits_reversed'] as const;
  for (const column of prefixed) {
    if (isPostgres(db)) await sql`create index ${sql.id(`patients_${column}_prefix`)} on patients (${sql.id(column)} text_pattern_ops)`.execute(db);
    else await db.schema.createIndex(`patients_${column}_prefix`).on('patients').column(column).execute();
  }
  await db.schema.createIndex('patients_birth_date').on('patients').columns(['birth_date', 'patient_id']).execute();
  await db.schema.createIndex('patients_phone_digits').on('patients').column('phone_digits').execute();
}

/** How many patients the carry-over reads and writes at once. */
const CARRY_OVER_BATCH = 500;

/**
 * Every visit registered before the registry was for a patient id the desk typed. Each such id
 * becomes a patient of the registry, as the latest visit named them (sex unknown, no phone), so
 * every visit is a registry patient's and the desk finds them again; look-alikes among them are
 * for the desk to merge. Read in batches by patient id, so a large table is never held at once.
 */
async function carryOverVisitPatients(db: MigrationDb): Promise<void> {
  const now = new Date().toISOString();
  let after = '';
  for (;;) {
    const latest = await sql<{ patient_id: string; id: number }>`
      select patient_id, max(id) as id from receptions where patient_id > ${after}
      group by patient_id order by patient_id limit ${CARRY_OVER_BATCH}`.execute(db);
    if (latest.rows.length === 0) return;
    const ids = latest.rows.map((row) => Number(row.id));
    const visits = await sql<{ patient_id: string; patient_name: string; birth_date: string | null }>`
      select patient_id, patient_name, birth_date from receptions where id in (${sql.join(ids)})`.execute(db);
    await db
      .insertInto('patients')
      .values(
        visits.rows.map((visit) => ({
          patient_id: visit.patient_id,
          name: visit.patient_name,
          name_key: nameKeyOf(visit.patient_name),
          initials: initialsOf(visit.patient_name),
          birth_date: visit.birth_date,
          sex: 'unknown',
          status: 'ACTIVE',
          possible_duplicates: '[]',
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    after = latest.rows.at(-1)!.patient_id;
  }
}
