import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { MedicalEvent } from '@medical/contracts';
import type { Database, Migrations } from '../src/db/database.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { forUpdate } from '../src/db/row-lock.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import { appendToOutbox, OutboxRelay } from '../src/outbox/outbox.ts';
import type { Delivery } from '../src/transport/transport.ts';
import { defer, silentLogger, tempDir, waitFor } from './helpers.ts';

/**
 * The PostgreSQL adapter against a real server (DATABASE_URL, e.g. from `npm run -s infra:up`).
 * Every test works in a schema of its own, dropped at the end.
 */
const url = process.env.DATABASE_URL;
const skip = url ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"` to run the PostgreSQL adapter tests';

type Counters = PlatformTables & { counters: { name: string; value: number } };
const migrations: Migrations = {
  '0001_counters': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('counters')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'integer', (c) => c.notNull())
        .execute();
    },
  },
};

let admin: pg.Pool;
before(() => {
  if (url) admin = new pg.Pool({ connectionString: url, max: 2 });
});
after(() => admin?.end());

function newSchema(t: TestContext): string {
  const schema = `pgtest_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  defer(t, () => admin.query(`drop schema if exists "${schema}" cascade`));
  return schema;
}

async function open(t: TestContext, schema: string, poolSize = 5): Promise<Database<Counters>> {
  const database = await openPostgresDatabase<Counters>({ url: url!, schema, poolSize, migrationSets: serviceMigrationSets(migrations), idSequences: ['receptions', 'diagnoses'], logger: silentLogger });
  defer(t, () => database.close());
  return database;
}

const completed = (receptionId: number): MedicalEvent => ({
  type: 'ReceptionCompleted',
  data: { receptionId, patientId: `P-${receptionId}`, patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
});
const cancelled = (receptionId: number): MedicalEvent => ({
  type: 'ReceptionCancelled',
  data: { receptionId, reason: 'patient left' },
});

describe('PostgreSQL adapter', { skip }, () => {
  test('replicas starting together migrate once, under the advisory lock, into the service schema', async (t) => {
    const schema = newSchema(t);
    const databases = await Promise.all([open(t, schema), open(t, schema), open(t, schema)]);
    const recorded = await admin.query(`select table_name from information_schema.tables where table_schema = $1 and table_name like 'migrations\\_%' order by 1`, [schema]);
    assert.deepEqual(
      recorded.rows.map((r) => r.table_name),
      ['migrations_audit', 'migrations_idempotency', 'migrations_ids', 'migrations_inbox', 'migrations_outbox', 'migrations_service', 'migrations_telemetry'],
      "each owner's migrations in a table of its own",
    );
    const counted = await admin.query(recorded.rows.map((r) => `select count(*)::int as n from "${schema}"."${r.table_name}"`).join(' union all '));
    assert.equal(counted.rows.reduce((sum, row) => sum + row.n, 0), 12, 'the eleven platform migrations and the service migration, each recorded once');
    const tables = await admin.query(`select table_name from information_schema.tables where table_schema = $1 order by 1`, [schema]);
    assert.deepEqual(
      tables.rows.map((r) => r.table_name).filter((n: string) => !n.startsWith('kysely_') && !n.startsWith('migrations_')),
      ['audit_log', 'consumer_positions', 'counters', 'id_sequences', 'idempotency_keys', 'inbox', 'outbox', 'outbox_refused', 'visit_traces'],
    );
    const sequences = await admin.query(`select sequence_name from information_schema.sequences where sequence_schema = $1 order by 1`, [schema]);
    assert.deepEqual(sequences.rows.map((r) => r.sequence_name), ['audit_log_id_seq', 'diagnoses_id_seq', 'outbox_id_seq', 'receptions_id_seq']);
    // Unqualified names resolve to the service's schema.
    await databases[0]!.db.insertInto('counters').values({ name: 'x', value: 1 }).execute();
    const seen = await databases[2]!.db.selectFrom('counters').selectAll().execute();
    assert.deepEqual(seen, [{ name: 'x', value: 1 }]);
  });

  test('concurrent load-modify-save transactions that load with forUpdate lose no update', async (t) => {
    const database = await open(t, newSchema(t), 10);
    await database.db.insertInto('counters').values({ name: 'visits', value: 0 }).execute();
    const increments = 40;
    await Promise.all(
      Array.from({ length: increments }, () =>
        database.transaction(async (trx) => {
          const row = await forUpdate(trx.selectFrom('counters').select('value').where('name', '=', 'visits'), trx).executeTakeFirstOrThrow();
          await new Promise((resolve) => setTimeout(resolve, 2)); // widen the race window
          await trx.updateTable('counters').set({ value: row.value + 1 }).where('name', '=', 'visits').execute();
        }),
      ),
    );
    const row = await database.db.selectFrom('counters').select('value').where('name', '=', 'visits').executeTakeFirstOrThrow();
    assert.equal(row.value, increments);
  });

  test('ids from nextId are unique and increasing across replicas, even for rolled-back work', async (t) => {
    const schema = newSchema(t);
    const [a, b] = await Promise.all([open(t, schema), open(t, schema)]);
    const ids = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const database = i % 2 === 0 ? a! : b!;
        return database.transaction((trx) => database.nextId(trx, 'receptions'));
      }),
    );
    assert.equal(new Set(ids).size, 60, 'no id handed out twice');
    assert.ok(ids.every((id) => Number.isInteger(id) && id >= 1 && id <= 60));
    await assert.rejects(
      a!.transaction(async (trx) => {
        await a!.nextId(trx, 'receptions');
        throw new Error('the command failed');
      }),
    );
    assert.equal(await a!.transaction((trx) => a!.nextId(trx, 'receptions')), 62, 'a rolled-back command leaves a gap, never a reuse');
    assert.equal(await a!.transaction((trx) => a!.nextId(trx, 'diagnoses')), 1, 'each sequence counts on its own');
    await assert.rejects(a!.transaction((trx) => a!.nextId(trx, 'undeclared')), /not declared/);
  });

  test("a relay leaves a visit's newer events alone while another relay holds its older one", async (t) => {
    const schema = newSchema(t);
    const database = await open(t, schema);
    const log = new EmbeddedLog({ file: path.join(tempDir(t), 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
    defer(t, () => log.close());
    for (const event of [completed(1), completed(2), cancelled(1)]) {
      await database.transaction((trx) => appendToOutbox(trx as never, 'medical', [event], { subject: String(event.data.receptionId) }));
    }
    // Another relay is publishing visit 1's first event: it holds that row's lock.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    defer(t, () => other.end());
    await other.query('begin');
    await other.query(`select id from "${schema}".outbox where message_key = '1' order by id limit 1 for update`);

    const relay = new OutboxRelay({ database, transport: log, logger: silentLogger, metrics: createMetrics('pg-relay-held'), pollIntervalMs: 5, retryBaseDelayMs: 5 });
    relay.start();
    defer(t, () => relay.stop());
    relay.notify();
    const keysPublished = () => log.read('medical', 0, 10).map((m) => `${m.message_key}:${JSON.parse(m.headers).ce_type}`);
    await waitFor('visit 2 to be published', () => keysPublished().includes('2:ReceptionCompleted'), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(keysPublished(), ['2:ReceptionCompleted'], "visit 1's cancellation waits behind its completion");

    // The other relay gives its claim up (it failed to publish): this one now takes visit 1 in order.
    await other.query('rollback');
    relay.notify();
    await waitFor('visit 1 to be published', () => keysPublished().length === 3, 5_000);
    assert.deepEqual(keysPublished(), ['2:ReceptionCompleted', '1:ReceptionCompleted', '1:ReceptionCancelled']);
  });

  test('two relays on one outbox publish every row once and never reorder a visit', async (t) => {
    const schema = newSchema(t);
    const [a, b] = await Promise.all([open(t, schema), open(t, schema)]);
    const log = new EmbeddedLog({ file: path.join(tempDir(t), 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
    defer(t, () => log.close());
    const relays = [a!, b!].map((database) => {
      const relay = new OutboxRelay({
        database,
        transport: log,
        logger: silentLogger,
        metrics: createMetrics('pg-relay'),
        pollIntervalMs: 5,
        retryBaseDelayMs: 5,
      });
      relay.start();
      defer(t, () => relay.stop());
      return relay;
    });
    // 40 visits, each a completed then a cancelled event, committed by both replicas interleaved.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const database = i % 2 === 0 ? a! : b!;
        return database.transaction(async (trx) => {
          await appendToOutbox(trx as never, 'medical', [completed(i + 1)], { subject: String(i + 1) });
        });
      }),
    );
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const database = i % 2 === 0 ? b! : a!;
        return database.transaction(async (trx) => {
          await appendToOutbox(trx as never, 'medical', [cancelled(i + 1)], { subject: String(i + 1) });
        });
      }),
    );
    for (const relay of relays) relay.notify();
    const seen: Delivery[] = [];
    const subscription = await log.subscribe({ group: 'check', topic: 'medical', handle: async (d) => void seen.push(d) });
    defer(t, () => subscription.stop());
    await waitFor('80 published events', () => seen.length >= 80, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(seen.length, 80, 'each row published exactly once');
    for (let visit = 1; visit <= 40; visit++) {
      const types = seen.filter((d) => d.key === String(visit)).map((d) => d.headers.ce_type);
      assert.deepEqual(types, ['ReceptionCompleted', 'ReceptionCancelled'], `visit ${visit} in order`);
    }
    const left = await admin.query(`select count(*)::int as n from "${schema}".outbox`);
    assert.equal(left.rows[0].n, 0);
  });

  test('statements prepared on a connection keep working after another replica changes their table, in and outside transactions', async (t) => {
    const schema = newSchema(t);
    // Two connections (the migration holds one while it runs): one after the other, the reads
    // below take the same idle connection and reuse what they prepared there.
    const database = await open(t, schema, 2);
    await database.db.insertInto('counters').values({ name: 'a', value: 1 }).execute();
    const readAll = () => database.db.selectFrom('counters').selectAll().execute();
    const readAllInTransaction = () => database.transaction((trx) => trx.selectFrom('counters').selectAll().execute());
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await readAll(), [{ name: 'a', value: 1 }]);
      assert.deepEqual(await readAllInTransaction(), [{ name: 'a', value: 1 }]);
    }
    // A newer replica's migration: `select *` now has another shape.
    await admin.query(`alter table "${schema}".counters add column note text`);
    assert.deepEqual(await readAll(), [{ name: 'a', value: 1, note: null }]);
    await admin.query(`alter table "${schema}".counters add column since text`);
    assert.deepEqual(await readAllInTransaction(), [{ name: 'a', value: 1, note: null, since: null }]);
  });

  test("a transaction's notifications reach every replica's listener after its commit, in commit order, and never on rollback", async (t) => {
    const schema = newSchema(t);
    const [a, b] = await Promise.all([open(t, schema), open(t, schema)]);
    const heard: string[] = [];
    let listening = 0;
    const stop = await b!.listen('changes', (payload) => heard.push(payload), () => (listening += 1));
    defer(t, stop);
    await waitFor('the listener to connect', () => listening >= 1);
    // A burst of commits, each with two notices: sent after their commits, together where they
    // pile up, and in the order this replica committed them.
    for (let i = 0; i < 20; i++) {
      await a!.transaction(async (trx) => {
        await a!.notify(trx, 'changes', `${i}.1`);
        await a!.notify(trx, 'changes', `${i}.2`);
      });
    }
    await assert.rejects(
      a!.transaction(async (trx) => {
        await a!.notify(trx, 'changes', 'rolled back');
        throw new Error('rolled back');
      }),
    );
    await a!.transaction(async (trx) => {
      await a!.notify(trx, 'changes', 'last');
    });
    await waitFor('every notice', () => heard.includes('last'), 5_000);
    const expected = Array.from({ length: 20 }, (_, i) => [`${i}.1`, `${i}.2`]).flat();
    assert.deepEqual(heard, [...expected, 'last']);
    // Another service on the same server (another schema) hears none of it.
    const other = await open(t, newSchema(t));
    const strangers: string[] = [];
    defer(t, await other!.listen('changes', (payload) => strangers.push(payload)));
    await a!.transaction(async (trx) => a!.notify(trx, 'changes', 'mine'));
    await waitFor('the next notice', () => heard.includes('mine'), 5_000);
    assert.deepEqual(strangers, []);
  });
});
