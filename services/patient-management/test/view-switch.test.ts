import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { serviceMigrationSets, type Database } from '@medical/platform';
import { openPostgresDatabase, openSqliteDatabase } from '@medical/platform/testing';
import { migrations } from '../src/db/migrations.ts';
import { queueEntriesOfVisit, saveQueueEntries, saveTicket, findTicket } from '../src/db/queue-entries.ts';
import { loadVisit, saveVisit } from '../src/db/repository.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';
import { loadTimeline, recordTimelineStep } from '../src/db/timeline.ts';
import { switchToRebuiltView, type RebuiltTables } from '../src/db/view-switch.ts';
import { recordWaits, waitsStartedBetween } from '../src/db/waits.ts';
import { timelineStep } from '../src/domain/timeline.ts';
import { foldWaitingRoom } from './waiting-room-fold.ts';
import { silentLogger } from '../../../packages/platform/test/helpers.ts';

/**
 * The switch of `npm run rebuild` (db/view-switch.ts) on both engines: the live view, its
 * timelines and its waiting room (the queues' entries, the tickets, the waits) become the rebuilt
 * ones in one transaction; what the live tables held that the rebuild does not is gone.
 */
type Db = Database<PatientManagementDatabase>;
type Pair = { live: Db; rebuilt: Db; tables: RebuiltTables };

const name = 'patient-management';
const migrationSets = serviceMigrationSets(migrations);

const engines: Array<{ name: string; skip: string | false; open: (t: TestContext) => Promise<Pair> }> = [
  {
    name: 'SQLite',
    skip: false,
    async open(t) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-switch-'));
      const live = await openSqliteDatabase<PatientManagementDatabase>({ serviceName: name, dataDir: path.join(dir, 'live'), migrationSets });
      const rebuilt = await openSqliteDatabase<PatientManagementDatabase>({ serviceName: `${name}-rebuild`, dataDir: path.join(dir, 'rebuild'), migrationSets });
      t.after(async () => {
        await live.close();
        await rebuilt.close();
        fs.rmSync(dir, { recursive: true, force: true });
      });
      await sql`attach database ${path.join(dir, 'rebuild', `${name}-rebuild.sqlite`)} as rebuild`.execute(live.db);
      return { live, rebuilt, tables: { kind: 'sqlite', attachedAs: 'rebuild' } };
    },
  },
  {
    name: 'PostgreSQL',
    skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set',
    async open(t) {
      const schema = `pmswitch_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const open = (s: string) => openPostgresDatabase<PatientManagementDatabase>({ url: process.env.DATABASE_URL!, schema: s, poolSize: 2, migrationSets, idSequences: [], logger: silentLogger });
      const live = await open(schema);
      const rebuilt = await open(`${schema}_rebuild`);
      t.after(async () => {
        await rebuilt.close();
        await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(live.db);
        await sql`drop schema if exists ${sql.id(`${schema}_rebuild`)} cascade`.execute(live.db);
        await live.close();
      });
      return { live, rebuilt, tables: { kind: 'postgres', schema: `${schema}_rebuild` } };
    },
  },
];

const at = (minute: number) => `2026-03-02T09:${String(minute).padStart(2, '0')}:00.000Z`;

/** A visit called, with an examination, completed and confirmed: what a projection keeps of it in every table. */
async function project(database: Db, receptionId: number, token: string): Promise<void> {
  const ids = { receptionId, diagnosisId: receptionId };
  const prescriptionId = randomUUID();
  const events = [
    { type: 'ReceptionCompleted', data: { receptionId, patientId: `P-${receptionId}`, patientName: '김민지', department: 'surgery', queueNumber: receptionId, queueDay: '2026-03-02', receivedAt: at(0), ticketDigest: token }, time: at(0) },
    { type: 'PatientCalled', data: { ...ids, calledFor: 'DIAGNOSIS', department: 'surgery', callCount: 1, calledAt: at(10) }, time: at(10) },
    { type: 'ExaminationPrescribed', data: { ...ids, prescriptionId, patientId: `P-${receptionId}`, patientName: '김민지', examinationType: 'CBC', department: 'laboratory-medicine' }, time: at(20) },
    { type: 'ExaminationPerformed', data: { ...ids, prescriptionId, examinationId: receptionId, result: 'normal', performedAt: at(30) }, time: at(30) },
    { type: 'DiagnosisCompleted', data: { ...ids, opinion: 'fine' }, time: at(40) },
    { type: 'ReceptionConfirmed', data: { receptionId, outcome: 'COMPLETED' }, time: at(50) },
  ];
  const { visit, entries, waits } = foldWaitingRoom(events);
  assert.ok(visit);
  await database.transaction(async (trx) => {
    await saveVisit(trx, visit);
    await saveQueueEntries(trx, entries);
    await saveTicket(trx, token, receptionId);
    await recordWaits(trx, waits);
    for (const e of events) await recordTimelineStep(trx, timelineStep({ id: randomUUID(), source: '/reception', ...e }, receptionId, visit.stage));
  });
}

for (const engine of engines) {
  describe(`the switch to a rebuilt view on ${engine.name}`, { skip: engine.skip }, () => {
    test('the visits, timelines, queue entries, tickets and waits become the rebuilt ones; what only the live tables held is gone', async (t) => {
      const { live, rebuilt, tables } = await engine.open(t);
      await project(live, 1, 'a'.repeat(64)); // lost by the rebuild (say, an event dead-lettered since)
      await project(rebuilt, 2, 'b'.repeat(64));
      await project(rebuilt, 3, 'c'.repeat(64));
      const expected = { entries: await queueEntriesOfVisit(rebuilt.db, 2), waits: await waitsStartedBetween(rebuilt.db, at(0), at(59)), timeline: await loadTimeline(rebuilt.db, 2) };
      assert.equal(expected.waits.length, 12, 'six stages of two visits');

      const switched = await switchToRebuiltView(live, tables, { live: 'patient-management', rebuild: 'patient-management-rebuild' }, 'medical');
      assert.deepEqual(switched, { switched: true, visits: 2, timelineSteps: 12, queueEntries: 4, tickets: 2, waits: 12 });
      assert.equal(await loadVisit(live.db, 1), null);
      assert.deepEqual(await loadVisit(live.db, 2), await loadVisit(rebuilt.db, 2));
      assert.deepEqual(await queueEntriesOfVisit(live.db, 1), []);
      assert.deepEqual(await queueEntriesOfVisit(live.db, 2), expected.entries);
      assert.equal(await findTicket(live.db, 'a'.repeat(64)), undefined);
      assert.deepEqual(await findTicket(live.db, 'c'.repeat(64)), { receptionId: 3, stage: 'CONFIRMED' });
      const sorted = <T>(rows: T[]) => rows.map((row) => JSON.stringify(row)).sort();
      assert.deepEqual(sorted(await waitsStartedBetween(live.db, at(0), at(59))), sorted(expected.waits));
      assert.deepEqual((await loadTimeline(live.db, 2)).map((s) => s.description), expected.timeline.map((s) => s.description));
    });
  });
}
