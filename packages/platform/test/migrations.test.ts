import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test, type TestContext } from 'node:test';
import type { Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import type { Database, Migrations } from '../src/db/database.ts';
import { migrationTableOf } from '../src/db/migrate.ts';
import { platformMigrationSets, serviceMigrationSets } from '../src/service/platform-migrations.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { databaseKinds, type DatabaseKind } from './consumer-databases.ts';
import { defer, tempDir } from './helpers.ts';

/**
 * Migrations per owner (db/migrate.ts): each platform feature and the service keep their own
 * list in a table of their own; a database migrated when every owner shared Kysely's one table is
 * taken over without running anything twice; a database newer than the code still opens.
 */

const serviceMigrations: Migrations = {
  '0001_notes': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('notes').addColumn('id', 'text', (c) => c.primaryKey()).execute();
    },
  },
  '0005_note_texts': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('notes').addColumn('text', 'text').execute();
    },
  },
};

/** What the previous version's one table held for this database: the platform's and the service's names in one numbering. */
const SHARED_TABLE_NAMES = [
  '0000_platform_outbox_inbox',
  '0001_notes',
  '0003_platform_idempotency_keys',
  '0004_platform_visit_traces',
  '0005_note_texts',
  '0006_platform_audit_log',
  '0008_platform_outbox_claim',
  '0009_platform_outbox_refused',
  '0010_platform_consumer_positions',
];

type Opened = { database: Database<any>; warnings: string[] };
type Store = { kind: DatabaseKind; open(): Promise<Opened>; raw(query: string): Promise<Array<Record<string, unknown>>> };

/** One database (a SQLite file, or a PostgreSQL schema) opened as often as a test likes. */
function storeOf(t: TestContext, kind: DatabaseKind): Store {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  if (kind === 'sqlite') {
    const dataDir = tempDir(t);
    return {
      kind,
      async open() {
        const database = await openSqliteDatabase<any>({ serviceName: 'migrations', dataDir, migrationSets: serviceMigrationSets(serviceMigrations), logger });
        defer(t, () => database.close());
        return { database, warnings };
      },
      async raw(query) {
        // A connection of its own, beside the service's: opening the service again would migrate.
        const file = new DatabaseSync(path.join(dataDir, 'migrations.sqlite'));
        try {
          return /^\s*select/i.test(query) ? (file.prepare(query).all() as Array<Record<string, unknown>>) : (file.exec(query), []);
        } finally {
          file.close();
        }
      },
    };
  }
  const url = process.env.DATABASE_URL!;
  const schema = `migrationstest_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: url });
  const connected = admin.connect();
  defer(t, async () => {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });
  return {
    kind,
    async open() {
      const database = await openPostgresDatabase<any>({ url, schema, poolSize: 2, migrationSets: serviceMigrationSets(serviceMigrations), idSequences: [], logger });
      defer(t, () => database.close());
      return { database, warnings };
    },
    async raw(query) {
      await connected;
      await admin.query(`set search_path to "${schema}"`);
      return (await admin.query(query)).rows;
    },
  };
}

async function recorded(store: Store, owner: string): Promise<string[]> {
  return (await store.raw(`select name from ${migrationTableOf(owner)} order by name`)).map((row) => String(row.name));
}

const owners = [...platformMigrationSets.map((set) => ({ owner: set.owner, names: Object.keys(set.migrations).sort() })), { owner: 'service', names: ['0001_notes', '0005_note_texts'] }];

/**
 * What the owners' migrations added since every owner has its own table (audit 0002, the
 * break-glass reason; audit 0003, the hash chain and the client's request id): the database of
 * the version with one shared table had none of it, and the takeover runs those migrations.
 */
const ADDED_SINCE_THE_SHARED_TABLE = ['break_glass_reason', 'client_request_id', 'prev_hash', 'hash'].map((column) => `alter table audit_log drop column ${column}`);

/** Turns a freshly migrated database into what the previous version left: one shared table, no owner tables. */
async function asThePreviousVersionLeftIt(store: Store, names: readonly string[]): Promise<void> {
  for (const statement of ADDED_SINCE_THE_SHARED_TABLE) await store.raw(statement);
  for (const { owner } of owners) await store.raw(`drop table ${migrationTableOf(owner)}`);
  await store.raw(`create table kysely_migration (name varchar(255) not null primary key, timestamp varchar(255) not null)`);
  for (const name of names) await store.raw(`insert into kysely_migration (name, timestamp) values ('${name}', '2026-11-20T09:00:00.000Z')`);
}

for (const { kind, skip } of databaseKinds) {
  describe(`migrations per owner on ${kind}`, { skip }, () => {
    test("a fresh database records each owner's migrations in the owner's own table", async (t) => {
      const store = storeOf(t, kind);
      const { database } = await store.open();
      for (const { owner, names } of owners) assert.deepEqual(await recorded(store, owner), names, owner);
      await database.db.insertInto('notes').values({ id: 'n', text: 'both migrations ran' }).execute();
    });

    test('a database the previous version migrated (one shared table) is taken over without running anything again', async (t) => {
      const store = storeOf(t, kind);
      await (await store.open()).database.close();
      await asThePreviousVersionLeftIt(store, SHARED_TABLE_NAMES);
      // Were any migration run again, its CREATE TABLE would fail on the table that exists.
      const { database } = await store.open();
      for (const { owner, names } of owners) assert.deepEqual(await recorded(store, owner), names, owner);
      assert.equal((await store.raw('select count(*) as n from kysely_migration')).map((r) => Number(r.n))[0], SHARED_TABLE_NAMES.length, 'the shared table stays, for an older pod still starting during the rollout');
      await database.db.insertInto('consumer_positions').values({ group_id: 'g', topic: 't', partition: 0, next_offset: 1, updated_at: 'now' }).execute();
    });

    test('a migration the previous version had not run yet runs under its new name', async (t) => {
      const store = storeOf(t, kind);
      await (await store.open()).database.close();
      await store.raw('drop table consumer_positions');
      await store.raw('drop index inbox_processed_at');
      await asThePreviousVersionLeftIt(
        store,
        SHARED_TABLE_NAMES.filter((name) => name !== '0010_platform_consumer_positions'),
      );
      const { database } = await store.open();
      assert.deepEqual(await recorded(store, 'inbox'), ['0001_inbox', '0002_consumer_positions']);
      await database.db.insertInto('consumer_positions').values({ group_id: 'g', topic: 't', partition: 0, next_offset: 1, updated_at: 'now' }).execute();
    });

    test('a database newer than the code (a rollback, an old pod in a rollout) opens, and the warning names what it does not know', async (t) => {
      const store = storeOf(t, kind);
      await (await store.open()).database.close();
      await store.raw(`insert into ${migrationTableOf('service')} (name, timestamp) values ('0009_from_a_newer_version', '2026-12-24T09:00:00.000Z')`);
      await store.raw(`insert into ${migrationTableOf('outbox')} (name, timestamp) values ('0004_from_a_newer_version', '2026-12-24T09:00:00.000Z')`);
      const { database, warnings } = await store.open();
      await database.db.insertInto('notes').values({ id: 'n', text: 'still works' }).execute();
      const unknown = warnings.map((line) => JSON.parse(line) as { owner: string; unknown: string[]; msg: string });
      assert.deepEqual(
        unknown.map(({ owner, unknown }) => ({ owner, unknown })),
        [
          { owner: 'outbox', unknown: ['0004_from_a_newer_version'] },
          { owner: 'service', unknown: ['0009_from_a_newer_version'] },
        ],
      );
      assert.match(unknown[0]!.msg, /newer version/);
    });
  });
}
