import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { sql } from 'kysely';
import type { VisitStage } from '@medical/contracts';
import { clearVisits, compactVisitCounts, listVisits, saveVisit } from '../src/db/repository.ts';
import type { Visit } from '../src/domain/visit.ts';
import { engines as enginesOf, schemaOf, type Db } from './engines.ts';

/**
 * The view's repository on both engines: the list totals kept by the triggers of migration 0002
 * must equal counting the rows, through inserts, stage changes, re-saves and a rebuild's clearing.
 * PostgreSQL runs when DATABASE_URL is set (`eval "$(npm run -s infra:up)"`), in a schema of its own.
 */
const engines = enginesOf('pmtest');

function visit(receptionId: number, patientId: string, stage: VisitStage): Visit {
  return {
    receptionId,
    patientId,
    patientName: 'Kim Minji',
    receptionStatus: 'RECEIVED',
    examinations: [],
    stage,
    createdAt: '2026-03-01T09:00:00.000Z',
    updatedAt: '2026-03-01T09:00:00.000Z',
  };
}

/**
 * Inserts visits on a connection of its own, not through the repository and, on PostgreSQL,
 * with the schema named in the statement and nothing on the search path.
 */
async function writeBehindTheService(database: Db, visits: Visit[]): Promise<void> {
  const values = (v: Visit) => [v.receptionId, v.patientId, v.patientName, v.receptionStatus, v.stage, JSON.stringify(v.examinations), v.createdAt, v.updatedAt];
  const columns = 'reception_id, patient_id, patient_name, reception_status, stage, examinations, created_at, updated_at';
  if (database.kind === 'postgres') {
    const client = new pg.Client({ connectionString: process.env.DATABASE_URL! });
    await client.connect();
    try {
      await client.query('set search_path to pg_catalog');
      for (const v of visits) await client.query(`insert into "${schemaOf.get(database)}".visits (${columns}) values ($1, $2, $3, $4, $5, $6, $7, $8)`, values(v));
    } finally {
      await client.end();
    }
    return;
  }
  await database.transaction(async (trx) => {
    for (const v of visits) await sql`insert into visits (${sql.raw(columns)}) values (${sql.join(values(v))})`.execute(trx);
  });
}

async function totals(database: Db, stage?: VisitStage, patientId?: string): Promise<{ listed: number; counted: number }> {
  const page = await listVisits(database.db, { page: 0, size: 1, ...(stage ? { stage } : {}), ...(patientId ? { patientId } : {}) });
  let query = database.db.selectFrom('visits').select((eb) => eb.fn.countAll<number>().as('n'));
  if (stage) query = query.where('stage', '=', stage);
  if (patientId) query = query.where('patient_id', '=', patientId);
  const row = await query.executeTakeFirstOrThrow();
  return { listed: page.total, counted: Number(row.n) };
}

async function assertTotalsAgree(database: Db, expected: { all: number; byStage: Partial<Record<VisitStage, number>> }): Promise<void> {
  const all = await totals(database);
  assert.deepEqual(all, { listed: expected.all, counted: expected.all }, 'every visit');
  for (const stage of ['RECEIVED', 'WAITING_FOR_DOCTOR', 'CONFIRMED', 'CANCELLED'] as const) {
    const n = expected.byStage[stage] ?? 0;
    assert.deepEqual(await totals(database, stage), { listed: n, counted: n }, `visits at ${stage}`);
  }
}

for (const engine of engines) {
  describe(`patient-management repository on ${engine.name}`, { skip: engine.skip }, () => {
    test('list totals follow inserts, stage changes, re-saves and clearing, as counting the rows would', async (t) => {
      const database = await engine.open(t);
      await assertTotalsAgree(database, { all: 0, byStage: {} });

      await database.transaction(async (trx) => {
        for (let id = 1; id <= 6; id++) await saveVisit(trx, visit(id, id <= 4 ? 'P-1' : 'P-2', 'RECEIVED'));
      });
      await assertTotalsAgree(database, { all: 6, byStage: { RECEIVED: 6 } });

      await database.transaction(async (trx) => {
        await saveVisit(trx, visit(1, 'P-1', 'WAITING_FOR_DOCTOR'));
        await saveVisit(trx, visit(2, 'P-1', 'CONFIRMED'));
        // Saved again at the stage it already has: nothing moves.
        await saveVisit(trx, visit(3, 'P-1', 'RECEIVED'));
        await saveVisit(trx, visit(5, 'P-2', 'CANCELLED'));
        await saveVisit(trx, visit(1, 'P-1', 'CONFIRMED'));
      });
      await assertTotalsAgree(database, { all: 6, byStage: { RECEIVED: 3, CONFIRMED: 2, CANCELLED: 1 } });
      assert.deepEqual(await totals(database, undefined, 'P-1'), { listed: 4, counted: 4 });
      assert.deepEqual(await totals(database, 'CONFIRMED', 'P-1'), { listed: 2, counted: 2 });

      // A rolled-back transaction leaves the counts as they were.
      await assert.rejects(
        database.transaction(async (trx) => {
          await saveVisit(trx, visit(7, 'P-3', 'RECEIVED'));
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      await assertTotalsAgree(database, { all: 6, byStage: { RECEIVED: 3, CONFIRMED: 2, CANCELLED: 1 } });

      await database.transaction((trx) => clearVisits(trx));
      await assertTotalsAgree(database, { all: 0, byStage: {} });
      // Written by another hand (a bulk load, a repair): the triggers count it all the same.
      await writeBehindTheService(database, [visit(20, 'P-4', 'RECEIVED'), visit(21, 'P-4', 'CANCELLED')]);
      await assertTotalsAgree(database, { all: 2, byStage: { RECEIVED: 1, CANCELLED: 1 } });
      await database.transaction((trx) => clearVisits(trx));
      await assertTotalsAgree(database, { all: 0, byStage: {} });
      await database.transaction((trx) => saveVisit(trx, visit(8, 'P-1', 'RECEIVED')));
      await assertTotalsAgree(database, { all: 1, byStage: { RECEIVED: 1 } });
    });

    test('transactions that add and move visits in crossed orders never wait on each other for the totals', async (t) => {
      // Two consumer partitions apply their batches side by side. With one counter row per scope,
      // A (adds a visit: 'all', then RECEIVED) and B (moves one from CONFIRMED: CONFIRMED, then
      // CANCELLED) each went on to need the other's row (A moves a visit from CONFIRMED, B adds
      // one): PostgreSQL's deadlock, broken after a second by failing one of them.
      const database = await engine.open(t);
      await database.transaction(async (trx) => {
        await saveVisit(trx, visit(1, 'P-1', 'CONFIRMED'));
        await saveVisit(trx, visit(2, 'P-1', 'CONFIRMED'));
      });
      // Waiting on a lock at all fails the transaction (55P03, not retried as a deadlock would be).
      const noWaiting = async (trx: Parameters<Parameters<Db['transaction']>[0]>[0]) => {
        if (database.kind === 'postgres') await sql`set local lock_timeout = '500ms'`.execute(trx);
      };
      const firstSteps = { a: deferred(), b: deferred() };
      const bothSteps = async (trx: Parameters<Parameters<Db['transaction']>[0]>[0], between = () => {}) => {
        await saveVisit(trx, visit(2, 'P-1', 'CANCELLED'));
        between();
        await saveVisit(trx, visit(11, 'P-3', 'RECEIVED'));
      };
      const a = database.transaction(async (trx) => {
        await noWaiting(trx);
        await saveVisit(trx, visit(10, 'P-2', 'RECEIVED'));
        firstSteps.a.resolve();
        await firstSteps.b.promise;
        await saveVisit(trx, visit(1, 'P-1', 'WAITING_FOR_DOCTOR'));
      });
      const b =
        database.kind === 'sqlite'
          ? // SQLite has one writer: B runs after A (so A does not wait for it); the totals must agree all the same.
            (firstSteps.b.resolve(), a.then(() => database.transaction(bothSteps)))
          : database.transaction(async (trx) => {
              await noWaiting(trx);
              await firstSteps.a.promise;
              await bothSteps(trx, () => firstSteps.b.resolve());
            });
      await Promise.all([a, b]);
      await assertTotalsAgree(database, { all: 4, byStage: { RECEIVED: 2, WAITING_FOR_DOCTOR: 1, CANCELLED: 1 } });
    });

    test('folding the rows of changes keeps every total, and an idle view folds nothing', async (t) => {
      const database = await engine.open(t);
      for (let id = 1; id <= 30; id++) await database.transaction((trx) => saveVisit(trx, visit(id, `P-${id % 3}`, 'RECEIVED')));
      for (let id = 1; id <= 10; id++) await database.transaction((trx) => saveVisit(trx, visit(id, `P-${id % 3}`, 'CONFIRMED')));
      const expected = { all: 30, byStage: { RECEIVED: 20, CONFIRMED: 10 } };
      await assertTotalsAgree(database, expected);
      if (database.kind === 'sqlite') return; // one row per scope there: nothing to fold
      const rows = async () => Number((await sql<{ n: string }>`select count(*) as n from visit_counts`.execute(database.db)).rows[0]!.n);
      assert.ok((await rows()) > 3, 'each change is a row of its own until folded');
      // Folding while changes are being added: each change is counted once, whichever side of the fold it lands.
      const adding = (async () => {
        for (let id = 31; id <= 40; id++) await database.transaction((trx) => saveVisit(trx, visit(id, 'P-9', 'RECEIVED')));
      })();
      const folded = await Promise.all([compactVisitCounts(database.db), compactVisitCounts(database.db), adding]);
      assert.ok(folded[0] + folded[1] > 0, 'the rows of changes were folded');
      await compactVisitCounts(database.db);
      assert.equal(await rows(), 3, "one row per scope: 'all', RECEIVED, CONFIRMED");
      assert.equal(await compactVisitCounts(database.db), 0, 'nothing left to fold');
      await assertTotalsAgree(database, { all: 40, byStage: { RECEIVED: 30, CONFIRMED: 10 } });
    });
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
