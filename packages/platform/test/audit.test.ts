import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import { sql, type Transaction } from 'kysely';
import pg from 'pg';
import { anonymousActor, systemActor, type Actor } from '@medical/contracts';
import { readAuditLog, reactionOrigin, recordAudit, requestOrigin } from '../src/audit/audit-log.ts';
import { auditChainRow } from '../src/audit/chained-fields.ts';
import { auditMigrations } from '../src/audit/tables.ts';
import { CHAIN_GENESIS, chainHash, verifyChain, type ChainRow } from '../src/audit/hash-chain.ts';
import type { Database } from '../src/db/database.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { commitEvents, type AggregateStore, type EmitEvents } from '../src/service/decision.ts';
import { defer, silentLogger, tempDir } from './helpers.ts';

/**
 * The audit trail on both engines: a row per committed command, in the command's transaction,
 * and a table the database itself keeps append-only. PostgreSQL runs when DATABASE_URL is set.
 */
type Db = Database<PlatformTables>;

const engines: Array<{ name: string; skip: string | false; open: (t: TestContext) => Promise<Db> }> = [
  {
    name: 'SQLite',
    skip: false,
    async open(t) {
      const database = await openSqliteDatabase<PlatformTables>({ serviceName: 'audit-test', dataDir: tempDir(t, 'audit-test-'), migrationSets: serviceMigrationSets({}) });
      defer(t, () => database.close());
      return database;
    },
  },
  {
    name: 'PostgreSQL',
    skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"`',
    async open(t) {
      const url = process.env.DATABASE_URL!;
      const schema = `audittest_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      defer(t, async () => {
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      });
      const database = await openPostgresDatabase<PlatformTables>({ url, schema, poolSize: 2, migrationSets: serviceMigrationSets({}), idSequences: [], logger: silentLogger });
      defer(t, () => database.close());
      return database;
    },
  },
];

const doctor: Actor = { subject: 'u-1001', name: 'Dr. Lee', role: 'doctor' };

/** A counter aggregate, enough to run commitEvents. */
type Counter = { id: number; receptionId: number; value: number };
type CounterEvent = { type: 'ReceptionCancelled'; data: { receptionId: number; reason: string } } | { type: 'Bumped'; data: { by: number } };
const counters = new Map<number, Counter>();
const store: AggregateStore<Counter, CounterEvent, Transaction<any>> = {
  evolve: (state, event) => (event.type === 'Bumped' ? { ...state!, value: state!.value + event.data.by } : state),
  isPublished: (event) => event.type === 'ReceptionCancelled',
  save: async (_trx, state) => void counters.set(state.id, state),
  subject: (state) => state.receptionId,
  aggregateId: (state) => state.id,
};

for (const engine of engines) {
  describe(`the audit trail on ${engine.name}`, { skip: engine.skip }, () => {
    test('a recorded command reads back with its actor, request, aggregate and visit', async (t) => {
      const database = await engine.open(t);
      await database.transaction((trx) =>
        recordAudit(trx, { origin: { actor: doctor, requestId: 'req-1' }, command: 'diagnosis.complete', aggregateId: 7, receptionId: 3, eventIds: ['e-1'], at: '2025-03-01T09:00:00.000Z' }),
      );
      await database.transaction((trx) =>
        recordAudit(trx, { origin: { actor: systemActor('examination'), causationId: 'e-1' }, command: 'examination.compensate', aggregateId: 9, receptionId: 3 }),
      );
      const rows = await readAuditLog(database.db, { receptionId: 3 });
      assert.equal(rows.length, 2);
      assert.deepEqual(
        { ...rows[0], id: undefined },
        { id: undefined, at: '2025-03-01T09:00:00.000Z', command: 'diagnosis.complete', aggregateId: '7', receptionId: 3, actor: doctor, requestId: 'req-1', eventIds: ['e-1'] },
      );
      assert.deepEqual(rows[1]!.actor, { subject: 'service:examination', name: 'examination', role: 'system' });
      assert.equal(rows[1]!.causationId, 'e-1');
      assert.equal(rows[1]!.requestId, undefined);
    });

    test('an access outside the actor\'s scope (break-glass) keeps its reason; every other row has none', async (t) => {
      const database = await engine.open(t);
      const reason = '응급실: unconscious, on anticoagulants?';
      await database.transaction((trx) =>
        recordAudit(trx, { origin: { actor: doctor, requestId: 'req-3', breakGlassReason: reason }, command: 'diagnosis.read', aggregateId: 8, receptionId: 4, eventIds: ['e-2'] }),
      );
      await database.transaction((trx) => recordAudit(trx, { origin: { actor: doctor, requestId: 'req-4' }, command: 'diagnosis.complete', aggregateId: 8, receptionId: 4 }));
      const [broken, plain] = await readAuditLog(database.db, { receptionId: 4 });
      assert.equal(broken!.breakGlassReason, reason);
      assert.equal(broken!.command, 'diagnosis.read');
      assert.equal(plain!.breakGlassReason, undefined);
      assert.equal('breakGlassReason' in plain!, false);
    });

    test('each row is linked to the one before it: one chain, whatever the transactions side by side and those rolled back', async (t) => {
      const database = await engine.open(t);
      const record = (n: number) => (trx: Transaction<PlatformTables>) => recordAudit(trx, { origin: { actor: doctor, requestId: `req-${n}` }, command: 'diagnosis.prescribe', aggregateId: n, receptionId: n });
      await database.transaction(record(1));
      // Twenty commands at once, and one that rolls back after writing its row.
      await Promise.all(Array.from({ length: 20 }, (_, i) => database.transaction(record(i + 2))));
      await assert.rejects(
        database.transaction(async (trx) => {
          await record(99)(trx);
          throw new Error('rolled back');
        }),
      );
      await database.transaction(record(22));
      const rows = (await database.db.selectFrom('audit_log').selectAll().orderBy('id').execute()).map(auditChainRow);
      assert.equal(rows.length, 22);
      assert.equal(rows[0]!.prevHash, CHAIN_GENESIS);
      const verdict = verifyChain(rows);
      assert.equal(verdict.broken, undefined, JSON.stringify(verdict.broken));
      assert.deepEqual(verdict.head, { rowId: rows.at(-1)!.id, hash: rows.at(-1)!.hash });
    });

        test('the table is append-only: UPDATE and DELETE are refused by the database', async (t) => {
      const database = await engine.open(t);
      await database.transaction((trx) => recordAudit(trx, { origin: { actor: doctor }, command: 'reception.cancel', aggregateId: 1, receptionId: 1 }));
      const db = database.db;
      await assert.rejects(db.updateTable('audit_log').set({ actor_subject: 'someone-else' }).execute(), /append-only/);
      await assert.rejects(db.deleteFrom('audit_log').where('id', '=', 1).execute(), /append-only/);
      await assert.rejects(db.deleteFrom('audit_log').execute(), /append-only/);
      if (database.kind === 'postgres') {
        // A statement trigger: refused even when it matches no row, and TRUNCATE too.
        await assert.rejects(sql`update audit_log set command = 'nothing' where 1 = 0`.execute(db), /append-only/);
        await assert.rejects(sql`truncate audit_log`.execute(db), /append-only/);
      }
      const rows = await readAuditLog(db);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.actor.subject, doctor.subject);
    });

    test('commitEvents audits the command and stamps its actor on the emitted events, in one transaction', async (t) => {
      const database = await engine.open(t);
      const emitted: Array<{ type: string; data: unknown }> = [];
      const emit: EmitEvents = async (events) => {
        emitted.push(...events);
        return events.map(() => ({ id: randomUUID() }));
      };
      const state: Counter = { id: 41, receptionId: 40, value: 0 };
      const origin = { actor: doctor, requestId: 'req-2' };
      const events: CounterEvent[] = [{ type: 'Bumped', data: { by: 2 } }, { type: 'ReceptionCancelled', data: { receptionId: 40, reason: 'left' } }];
      await database.transaction((trx) => commitEvents(trx, emit, store, state, events, { command: 'counter.bump', origin }));
      assert.deepEqual(emitted, [{ type: 'ReceptionCancelled', data: { receptionId: 40, reason: 'left', actor: doctor } }]);
      assert.deepEqual(events[1]!.data, { receptionId: 40, reason: 'left' }, 'the decided events are not changed');
      const [row] = await readAuditLog(database.db, { receptionId: 40 });
      assert.equal(row!.command, 'counter.bump');
      assert.equal(row!.aggregateId, '41');
      assert.equal(row!.requestId, 'req-2');
      assert.equal(row!.eventIds.length, 1);

      // A command that rolls back leaves no row; a decision without events leaves none either.
      await assert.rejects(
        database.transaction(async (trx) => {
          await commitEvents(trx, emit, store, state, [{ type: 'Bumped', data: { by: 1 } }], { command: 'counter.bump', origin });
          throw new Error('the command failed after deciding');
        }),
        /failed after deciding/,
      );
      await database.transaction((trx) => commitEvents(trx, emit, store, state, [], { command: 'counter.bump', origin }));
      assert.equal((await readAuditLog(database.db, { receptionId: 40 })).length, 1);
    });
  });
}

describe('command origins', () => {
  test('a request without an authenticated actor is recorded as the anonymous placeholder, with its request id', () => {
    const origin = requestOrigin({ id: 'req-9' } as never);
    assert.deepEqual(origin, { actor: anonymousActor, requestId: 'req-9' });
    assert.equal(anonymousActor.role, 'anonymous');
    assert.notEqual(anonymousActor.role, 'system', 'a request is never attributed to the system');
  });

  test("a request's authenticated actor is recorded as it is, and a long request id is cut", () => {
    const origin = requestOrigin({ id: 'x'.repeat(1000), actor: doctor } as never);
    assert.deepEqual(origin.actor, doctor);
    assert.equal(origin.requestId!.length, 255);
  });

  test('a reaction runs as the system actor of its service, caused by the event', () => {
    assert.deepEqual(reactionOrigin('examination', { id: 'e-7' }), { actor: systemActor('examination'), causationId: 'e-7' });
  });
});

describe('verifying a chain names the first row that does not fit', () => {
  /** A chain of `n` rows as the writer links them. */
  function chain(n: number): ChainRow[] {
    const rows: ChainRow[] = [];
    let previous = CHAIN_GENESIS;
    for (let i = 1; i <= n; i++) {
      const fields = [`2026-12-06T09:00:0${i}.000Z`, 'reception.cancel', String(i), i];
      const hash = chainHash(previous, fields);
      rows.push({ id: String(i * 10), prevHash: previous, hash, fields });
      previous = hash;
    }
    return rows;
  }

  test('intact: every row, and the head to keep', () => {
    const rows = chain(4);
    assert.deepEqual(verifyChain(rows), { rows: 4, head: { rowId: '40', hash: rows[3]!.hash } });
    assert.deepEqual(verifyChain([]), { rows: 0 });
  });

  test('changed: a field edited, its hash left as it was', () => {
    const rows = chain(4);
    rows[1] = { ...rows[1]!, fields: ['2026-12-06T09:00:02.000Z', 'reception.cancel', '2', 999] };
    assert.deepEqual([verifyChain(rows).broken?.kind, verifyChain(rows).broken?.rowId], ['changed', '20']);
  });

  test('removed: a row taken out of the middle, and the first row', () => {
    const rows = chain(4);
    assert.deepEqual(pick(verifyChain([rows[0]!, rows[2]!, rows[3]!])), ['removed', '30']);
    assert.deepEqual(pick(verifyChain(rows.slice(1))), ['removed', '20']);
  });

  test('inserted: a row put in between, linked to its predecessor and hashed, or not', () => {
    const rows = chain(4);
    const fields = ['2026-12-06T09:00:02.500Z', 'reception.confirm', '99', 99];
    const forged = { id: '25', prevHash: rows[1]!.hash!, hash: chainHash(rows[1]!.hash!, fields), fields };
    assert.deepEqual(pick(verifyChain([rows[0]!, rows[1]!, forged, rows[2]!, rows[3]!])), ['inserted', '25']);
    const careless = { id: '25', prevHash: 'f'.repeat(64), hash: chainHash('f'.repeat(64), fields), fields };
    assert.deepEqual(pick(verifyChain([rows[0]!, rows[1]!, careless, rows[2]!, rows[3]!])), ['inserted', '25']);
    assert.deepEqual(pick(verifyChain([rows[0]!, { ...careless, hash: null, prevHash: null }, ...rows.slice(1)])), ['unsealed', '25']);
  });

  const pick = (verdict: ReturnType<typeof verifyChain>) => [verdict.broken?.kind, verdict.broken?.rowId];
});

describe('a trail written before the chain', () => {
  /** The database of one engine, opened with the given migration sets, on one store that outlives each opening. */
  function storeOn(engine: 'SQLite' | 'PostgreSQL', t: TestContext): (sets: Parameters<typeof openSqliteDatabase>[0]['migrationSets']) => Promise<Db> {
    if (engine === 'SQLite') {
      const dataDir = tempDir(t, 'audit-chain-migration-');
      return (migrationSets) => openSqliteDatabase<PlatformTables>({ serviceName: 'audit-test', dataDir, migrationSets });
    }
    const url = process.env.DATABASE_URL!;
    const schema = `auditchain_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    defer(t, async () => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    });
    return (migrationSets) => openPostgresDatabase<PlatformTables>({ url, schema, poolSize: 2, migrationSets, idSequences: [], logger: silentLogger });
  }

  for (const engine of ['SQLite', 'PostgreSQL'] as const) {
    const skip = engine === 'PostgreSQL' && !process.env.DATABASE_URL ? 'DATABASE_URL is not set' : false;
    test(`is chained in id order by the migration that adds the chain, its triggers back in place after (${engine})`, { skip }, async (t) => {
      const open = storeOn(engine, t);
      const { '0003_hash_chain': _chain, ...before } = auditMigrations.migrations;
      const older = await open([{ owner: 'audit', migrations: before }]);
      for (const n of [1, 2, 3]) {
        await sql`insert into audit_log (recorded_at, command, aggregate_id, reception_id, actor_subject, actor_name, actor_role, request_id, causation_id, event_ids)
          values (${`2026-01-0${n}T09:00:00.000Z`}, 'reception.cancel', ${String(n)}, ${n}, 'u-1', null, 'receptionist', ${`req-${n}`}, null, '[]')`.execute(older.db);
      }
      await older.close();
      const database = await open([auditMigrations]);
      defer(t, () => database.close());
      await database.transaction((trx) => recordAudit(trx, { origin: { actor: doctor }, command: 'reception.confirm', aggregateId: 4, receptionId: 4 }));
      const rows = (await database.db.selectFrom('audit_log').selectAll().orderBy('id').execute()).map(auditChainRow);
      assert.equal(rows.length, 4);
      const verdict = verifyChain(rows);
      assert.equal(verdict.broken, undefined, JSON.stringify(verdict.broken));
      await assert.rejects(database.db.updateTable('audit_log').set({ command: 'x' }).execute(), /append-only/);
    });
  }
});
