import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { openSqliteDatabase, type Database } from '@medical/platform';
import { openPostgresDatabase } from '@medical/platform/db/postgres-database';
import { systemActor, type Actor } from '@medical/contracts';
import { migrations } from '../src/db/migrations.ts';
import { clearTimelines, loadTimeline, recordTimelineStep } from '../src/db/timeline.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';
import { timelineStep, type TimelineEvent } from '../src/domain/timeline.ts';

/** The timeline's steps (pure) and their table on both engines (PostgreSQL when DATABASE_URL is set). */
const receptionist: Actor = { subject: 'u-7', name: 'Park Jiwoo', role: 'receptionist' };

const event = (type: string, data: Record<string, unknown>, time: string, source = '/reception'): TimelineEvent => ({
  id: randomUUID(),
  type,
  time,
  source,
  data: { receptionId: 1, ...data },
});

describe('timeline steps', () => {
  test("a step says what happened, which service did it, the stage reached and the event's actor", () => {
    const step = timelineStep(event('ReceptionCompleted', { patientId: 'P-1', patientName: 'Kim', actor: receptionist }, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED');
    assert.deepEqual({ ...step, eventId: undefined }, {
      eventId: undefined,
      receptionId: 1,
      event: 'ReceptionCompleted',
      at: '2025-03-01T09:00:00.000Z',
      service: 'reception',
      description: 'Registered at the reception desk',
      stage: 'RECEIVED',
      actor: receptionist,
    });
  });

  test('a reaction keeps the system actor; an event written before events carried actors has none', () => {
    const compensation = timelineStep(
      event('ExaminationCancelled', { examinationId: 4, prescriptionId: randomUUID(), diagnosisId: 2, reason: 'Diagnosis rejected: x', actor: systemActor('examination') }, '2025-03-01T09:00:00.000Z', '/examination'),
      1,
      'DIAGNOSIS_REJECTED',
    );
    assert.deepEqual(compensation.actor, systemActor('examination'));
    assert.equal(compensation.description, 'Examination 4 cancelled');
    const old = timelineStep(event('ReceptionConfirmed', { outcome: 'COMPLETED' }, '2025-03-01T09:00:00.000Z'), 1, 'CONFIRMED');
    assert.equal('actor' in old, false);
  });

  test('descriptions carry no clinical content', () => {
    const performed = timelineStep(
      event('ExaminationPerformed', { examinationId: 4, prescriptionId: randomUUID(), diagnosisId: 2, result: 'nodule in the left lung', performedAt: '2025-03-01T09:00:00.000Z' }, '2025-03-01T09:00:00.000Z', '/examination'),
      1,
      'EXAMINATIONS_DONE',
    );
    const completed = timelineStep(event('DiagnosisCompleted', { diagnosisId: 2, opinion: 'pneumonia' }, '2025-03-01T09:00:00.000Z', '/diagnosis'), 1, 'DIAGNOSIS_COMPLETED');
    assert.ok(!JSON.stringify([performed, completed]).match(/nodule|pneumonia/));
    assert.equal(timelineStep(event('SomethingNew', {}, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED').description, 'SomethingNew');
  });
});

type Db = Database<PatientManagementDatabase>;
const engines: Array<{ name: string; skip: string | false; open: (t: TestContext) => Promise<Db> }> = [
  {
    name: 'SQLite',
    skip: false,
    async open(t) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-timeline-'));
      const database = await openSqliteDatabase<PatientManagementDatabase>({ serviceName: 'patient-management', dataDir, migrations });
      t.after(async () => {
        await database.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      });
      return database;
    },
  },
  {
    name: 'PostgreSQL',
    skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set',
    async open(t) {
      const url = process.env.DATABASE_URL!;
      const schema = `pmtimeline_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const database = await openPostgresDatabase<PatientManagementDatabase>({ url, schema, poolSize: 2, migrations, idSequences: [], logger: pino({ level: 'silent' }) });
      t.after(async () => {
        await database.close();
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      });
      return database;
    },
  },
];

for (const engine of engines) {
  test(`the timeline table on ${engine.name}: time order, one row per event, cleared for a rebuild`, { skip: engine.skip }, async (t) => {
    const database = await engine.open(t);
    const same = '2025-03-01T09:00:01.000Z';
    const steps = [
      timelineStep(event('ReceptionCompleted', { patientId: 'P', patientName: 'Kim', actor: receptionist }, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED'),
      // Two steps of the same instant keep the order they were applied in.
      timelineStep(event('DiagnosisRegistered', { diagnosisId: 2, patientId: 'P', patientName: 'Kim', actor: systemActor('diagnosis') }, same, '/diagnosis'), 1, 'WAITING_FOR_DOCTOR'),
      timelineStep(event('ReceptionCancelled', { reason: 'left', actor: receptionist }, same), 1, 'CANCELLED'),
    ];
    const otherVisit = timelineStep({ ...event('ReceptionCompleted', { patientId: 'Q', patientName: 'Lee' }, '2025-03-01T08:00:00.000Z'), data: { receptionId: 2, patientId: 'Q', patientName: 'Lee' } }, 2, 'RECEIVED');
    for (const step of [steps[1]!, otherVisit, steps[2]!]) await database.transaction((trx) => recordTimelineStep(trx, step));
    await database.transaction((trx) => recordTimelineStep(trx, steps[0]!));
    await database.transaction((trx) => recordTimelineStep(trx, steps[2]!)); // the same event again: kept once
    assert.deepEqual(await loadTimeline(database.db, 1), steps);
    assert.deepEqual(await loadTimeline(database.db, 2), [otherVisit]);
    await database.transaction((trx) => clearTimelines(trx));
    assert.deepEqual(await loadTimeline(database.db, 1), []);
  });
}
