import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import type { AccessRecord } from '@medical/contracts';
import { verifyChain } from '@medical/platform/operations';
import { accessChainRows, keepAccessRecords } from '../src/db/access-log.ts';
import { anchorsOf, purgeAccessLog } from '../src/db/access-log-purge.ts';
import { engines as enginesOf, type Db } from './engines.ts';

/**
 * The access log's purge past its retention (issue 19, the retention table): per chain, the
 * records older than the cut-off go with their subjects, an anchor is kept, what is left still
 * verifies from that anchor (and not without it), and the log is append-only again afterwards.
 */
const engines = enginesOf('pmpurge');

let counter = 0;
function record(at: string, fields: Partial<AccessRecord> = {}): AccessRecord {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    at,
    service: 'reception',
    actor: { subject: 'dev:receptionist', role: 'receptionist' },
    action: 'read',
    method: 'GET',
    route: '/receptions/:id',
    status: 200,
    resources: { receptionId: counter },
    answered: [{ receptionId: counter, patientId: `P-${counter}` }],
    requestId: `request-${counter}`,
    ...fields,
  };
}

async function chains(database: Db) {
  const records = await database.db.selectFrom('access_log').selectAll().execute();
  const subjects = await database.db.selectFrom('access_log_subjects').selectAll().execute();
  return accessChainRows(records, subjects);
}

for (const engine of engines) {
  describe(`the access log's purge past its retention (${engine.name})`, { skip: engine.skip }, () => {
    test('the old records of each chain go with their subjects; anchors let what is kept verify; the log is append-only again', async (t) => {
      const database = await engine.open(t);
      counter = 0;
      const old = (day: number) => `2023-01-${String(day).padStart(2, '0')}T09:00:00.000Z`;
      const recent = new Date().toISOString();
      await database.transaction((trx) => keepAccessRecords(trx, [record(old(1)), record(old(2)), record(recent)], 0));
      await database.transaction((trx) => keepAccessRecords(trx, [record(old(3)), record(recent), record(recent)], 1));

      const cuts = await purgeAccessLog(database, new Date('2024-01-01T00:00:00Z'));
      assert.deepEqual(cuts.map((c) => [c.chain, c.records]).sort(), [[0, 2], [1, 1]]);
      const left = await database.db.selectFrom('access_log').select('record_id').orderBy('seq').execute();
      assert.deepEqual(left.map((r) => r.record_id.slice(-2)), ['03', '05', '06']);
      const subjects = await database.db.selectFrom('access_log_subjects').select('reception_id').orderBy('id').execute();
      assert.deepEqual(subjects.map((s) => s.reception_id), [3, 5, 6], 'the purged records\' subjects went with them');

      const anchors = anchorsOf(await database.db.selectFrom('access_log_purges').selectAll().execute());
      for (const [chain, rows] of await chains(database)) {
        const anchor = anchors.get(chain);
        assert.ok(anchor, `chain ${chain} has an anchor`);
        assert.equal(verifyChain(rows, anchor.throughHash).broken, undefined, `chain ${chain} verifies from its anchor`);
        assert.equal(verifyChain(rows).broken?.kind, 'removed', `without the anchor, chain ${chain} shows rows removed`);
      }

      // Append-only again: the service's own changes are refused as before.
      await assert.rejects(database.transaction((trx) => trx.deleteFrom('access_log').execute()), /append-only/);
      await assert.rejects(database.transaction((trx) => trx.updateTable('access_log_subjects').set({ patient_id: 'X' }).execute()), /append-only/);
      await assert.rejects(database.transaction((trx) => trx.deleteFrom('access_log_purges').execute()), /append-only/);
    });

    test('a later purge continues from the last anchor; one with nothing old changes nothing', async (t) => {
      const database = await engine.open(t);
      counter = 100;
      await database.transaction((trx) => keepAccessRecords(trx, [record('2023-01-01T09:00:00.000Z'), record('2023-06-01T09:00:00.000Z'), record(new Date().toISOString())], 0));
      assert.equal((await purgeAccessLog(database, new Date('2023-03-01T00:00:00Z')))[0]?.records, 1);
      assert.equal((await purgeAccessLog(database, new Date('2024-01-01T00:00:00Z')))[0]?.records, 1);
      assert.deepEqual(await purgeAccessLog(database, new Date('2024-01-01T00:00:00Z')), []);
      const anchors = anchorsOf(await database.db.selectFrom('access_log_purges').selectAll().execute());
      assert.equal(anchors.get(0)?.records, 2, 'the records purged in all');
      const rows = (await chains(database)).get(0)!;
      assert.equal(rows.length, 1);
      assert.equal(verifyChain(rows, anchors.get(0)!.throughHash).broken, undefined);
      const { count } = (await sql<{ count: string }>`select count(*) as count from access_log_purges`.execute(database.db)).rows[0]!;
      assert.equal(Number(count), 2);
    });
  });
}
