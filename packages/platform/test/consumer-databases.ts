import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import { sql, type Kysely, type Transaction } from 'kysely';
import pg from 'pg';
import type { CloudEvent } from '@medical/contracts';
import type { Database, Migrations } from '../src/db/database.ts';
import { isPostgres } from '../src/db/is-postgres.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { defer, silentLogger, tempDir } from './helpers.ts';

/**
 * The consumer's tests run on both databases: SQLite, and PostgreSQL when DATABASE_URL is set
 * (`eval "$(npm run -s infra:up)"`), each test in a schema of its own, dropped at its end.
 */
export type DatabaseKind = 'sqlite' | 'postgres';

const databaseUrl = process.env.DATABASE_URL;

export const databaseKinds: Array<{ kind: DatabaseKind; skip: string | false }> = [
  { kind: 'sqlite', skip: false },
  {
    kind: 'postgres',
    skip: databaseUrl ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"` to run the consumer on PostgreSQL',
  },
];

export type Tables = PlatformTables & { notes: { id: string; count: number }; dead_letter_refusals: { reason: string } };

/** An event id the inbox refuses (a trigger), to make the inbox write fail after the effect's. */
export const REFUSED_BY_INBOX = '00000000-0000-4000-8000-00000000dead';
/** What the outbox says while dead letters are refused (refuseDeadLetters). */
export const DEAD_LETTER_REFUSAL = 'dead-letter store refused the letter';

/**
 * The tests' own table (notes: what the effect writes), and two triggers: the inbox refuses
 * REFUSED_BY_INBOX, and the outbox refuses rows for the topic `medical.dlq` while
 * dead_letter_refusals has a row.
 */
export const testMigrations: Migrations = {
  '0100_notes': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createTable('dead_letter_refusals').addColumn('reason', 'text', (c) => c.notNull()).execute();
      if (isPostgres(db)) {
        await sql
          .raw(
            `CREATE FUNCTION inbox_refuses_one_id() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.event_id = '${REFUSED_BY_INBOX}' THEN RAISE EXCEPTION 'inbox refused the row'; END IF;
               RETURN NEW;
             END $$`,
          )
          .execute(db);
        await sql.raw(`CREATE TRIGGER inbox_refuses_one_id BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION inbox_refuses_one_id()`).execute(db);
        await sql
          .raw(
            `CREATE FUNCTION outbox_refuses_dead_letters() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.topic = 'medical.dlq' AND EXISTS (SELECT 1 FROM dead_letter_refusals) THEN
                 RAISE EXCEPTION '${DEAD_LETTER_REFUSAL}';
               END IF;
               RETURN NEW;
             END $$`,
          )
          .execute(db);
        await sql
          .raw(`CREATE TRIGGER outbox_refuses_dead_letters BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_refuses_dead_letters()`)
          .execute(db);
      } else {
        await sql
          .raw(
            `CREATE TRIGGER inbox_refuses_one_id BEFORE INSERT ON inbox WHEN NEW.event_id = '${REFUSED_BY_INBOX}'
             BEGIN SELECT RAISE(ABORT, 'inbox refused the row'); END`,
          )
          .execute(db);
        await sql
          .raw(
            `CREATE TRIGGER outbox_refuses_dead_letters BEFORE INSERT ON outbox
             WHEN NEW.topic = 'medical.dlq' AND EXISTS (SELECT 1 FROM dead_letter_refusals)
             BEGIN SELECT RAISE(ABORT, '${DEAD_LETTER_REFUSAL}'); END`,
          )
          .execute(db);
      }
    },
  },
};

/** The effect of the consumer tests: counts the events of each reception (the event's subject) in notes. */
export async function countNote(trx: Transaction<Tables>, event: CloudEvent): Promise<void> {
  await trx
    .insertInto('notes')
    .values({ id: event.subject, count: 1 })
    .onConflict((oc) => oc.column('id').doUpdateSet({ count: sql<number>`notes.count + 1` }))
    .execute();
}

/** Makes every dead-letter write fail (true) or lets them through again (false). */
export async function refuseDeadLetters(db: Kysely<Tables>, refuse: boolean): Promise<void> {
  if (refuse) await db.insertInto('dead_letter_refusals').values({ reason: 'test' }).execute();
  else await db.deleteFrom('dead_letter_refusals').execute();
}

let admin: pg.Pool | undefined;
after(() => admin?.end());

/** A service database of `kind` with the test migrations; closed (and on PostgreSQL dropped) after the test. */
export async function openTestDatabase(
  t: Parameters<typeof defer>[0],
  kind: DatabaseKind,
  options: { serviceName: string; dataDir?: string },
): Promise<Database<Tables>> {
  if (kind === 'sqlite') {
    const database = await openSqliteDatabase<Tables>({ serviceName: options.serviceName, dataDir: options.dataDir ?? tempDir(t), migrationSets: serviceMigrationSets(testMigrations) });
    defer(t, () => database.close());
    return database;
  }
  const schema = `consumertest_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  admin ??= new pg.Pool({ connectionString: databaseUrl!, max: 2 });
  const pool = admin;
  defer(t, () => pool.query(`drop schema if exists "${schema}" cascade`));
  const database = await openPostgresDatabase<Tables>({ url: databaseUrl!, schema, poolSize: 4, migrationSets: serviceMigrationSets(testMigrations), idSequences: [], logger: silentLogger });
  defer(t, () => database.close());
  return database;
}
