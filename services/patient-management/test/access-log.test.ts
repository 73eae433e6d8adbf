import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import type { AccessRecord } from '@medical/contracts';
import { createMetrics, type Delivery } from '@medical/platform';
import { accessLogKeeper } from '../src/app/access-log-keeper.ts';
import { keepAccessRecords, readPatientAccessLog } from '../src/db/access-log.ts';
import type { Visit } from '../src/domain/visit.ts';
import { engines as enginesOf, type Db } from './engines.ts';

/**
 * The access log as patient-management keeps it, on both engines: each record once however often
 * it is delivered; a patient's log found by every id a record may name (the patient, a visit, a
 * diagnosis, an examination), one line per visit, newest first; a message that is no record kept
 * aside, never holding up the records beside it.
 */
const engines = enginesOf('pmaccess');

const visit: Visit = {
  receptionId: 41,
  patientId: 'P-41',
  patientName: '김민지',
  receptionStatus: 'RECEIVED',
  diagnosisId: 7,
  diagnosisStatus: 'EXAMINATION_PRESCRIBED',
  examinations: [{ examinationId: 3, prescriptionId: '00000000-0000-4000-8000-000000000003', examinationType: 'CBC', status: 'REQUESTED' }],
  stage: 'IN_EXAMINATION',
  createdAt: '2026-03-01T09:00:00.000Z',
  updatedAt: '2026-03-01T09:00:00.000Z',
};

let counter = 0;
function record(fields: Partial<AccessRecord>): AccessRecord {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    at: new Date(Date.UTC(2026, 2, 1, 9, 0, counter)).toISOString(),
    service: 'reception',
    actor: { subject: 'dev:receptionist', name: 'Demo Receptionist', role: 'receptionist' },
    action: 'read',
    method: 'GET',
    route: '/receptions/:id',
    status: 200,
    resources: {},
    answered: [],
    requestId: `request-${counter}`,
    ...fields,
  };
}

function delivery(offset: number, value: string): Delivery {
  return { topic: 'medical.access-log', key: String(offset), headers: {}, value, partition: 0, offset: String(offset) };
}

function contextOf(database: Db): Parameters<typeof accessLogKeeper>[0] {
  return { database, metrics: createMetrics('patient-management'), logger: pino({ level: 'silent' }) };
}

for (const engine of engines) {
  describe(`the access log (${engine.name})`, { skip: engine.skip }, () => {
    test("a patient's log: every id a record named, one line per visit, newest first, each record once", async (t) => {
      const database = await engine.open(t);
      counter = 0;
      const records = [
        record({ resources: { receptionId: 41 }, answered: [{ receptionId: 41, patientId: 'P-41' }] }),
        record({ service: 'gateway', action: 'refused', status: 403, route: '/diagnoses/:id', resources: { diagnosisId: 7 }, actor: { subject: 'dev:manager', role: 'manager' } }),
        record({ service: 'gateway', action: 'refused', status: 401, route: '/examinations/:id', resources: { examinationId: 3 }, actor: { subject: 'anonymous', role: 'anonymous' } }),
        record({ action: 'refused', status: 403, route: '/receptions', resources: { patientId: 'P-41' }, actor: { subject: 'dev:manager', role: 'manager' } }),
        record({ route: '/receptions', answered: [{ receptionId: 41, patientId: 'P-41' }, { receptionId: 42, patientId: 'P-OTHER' }] }),
        record({ route: '/diagnoses/:id', resources: { diagnosisId: 7 }, breakGlassReason: 'Unconscious on arrival', actor: { subject: 'dev:doctor-surgery', role: 'doctor' } }),
        record({ resources: { receptionId: 42 }, answered: [{ receptionId: 42, patientId: 'P-OTHER' }] }),
      ];
      const kept = await database.transaction((trx) => keepAccessRecords(trx, records, 0));
      assert.equal(kept, records.length);
      // Delivered again (a redelivered batch): nothing is kept twice.
      assert.equal(await database.transaction((trx) => keepAccessRecords(trx, [records[0]!, records[5]!], 0)), 0);

      const log = await readPatientAccessLog(database.db, 'P-41', [visit], { page: 0, size: 20 });
      assert.equal(log.total, 6, JSON.stringify(log.items));
      assert.deepEqual(
        log.items.map((entry) => [entry.requestId, entry.action, entry.role, entry.receptionId, entry.breakGlassReason]),
        [
          ['request-6', 'read', 'doctor', 41, 'Unconscious on arrival'],
          ['request-5', 'read', 'receptionist', 41, undefined],
          ['request-4', 'refused', 'manager', undefined, undefined],
          ['request-3', 'refused', 'anonymous', 41, undefined],
          ['request-2', 'refused', 'manager', 41, undefined],
          ['request-1', 'read', 'receptionist', 41, undefined],
        ],
      );
      const other = await readPatientAccessLog(database.db, 'P-OTHER', [{ receptionId: 42, examinations: [] }], { page: 0, size: 20 });
      assert.deepEqual(other.items.map((entry) => entry.requestId), ['request-7', 'request-5']);
      const paged = await readPatientAccessLog(database.db, 'P-41', [visit], { page: 1, size: 4 });
      assert.deepEqual([paged.total, paged.items.map((entry) => entry.requestId)], [6, ['request-2', 'request-1']]);
    });

    test('a message that is no access record is kept aside; the records of its batch are kept', async (t) => {
      const database = await engine.open(t);
      const keep = accessLogKeeper(contextOf(database));
      const good = record({ resources: { receptionId: 41 } });
      const withNul = record({ actor: { subject: 'dev:x\u0000y', role: 'doctor' } });
      await keep([
        delivery(1, 'not json'),
        delivery(2, JSON.stringify(good)),
        delivery(3, JSON.stringify({ ...good, id: 'not-a-uuid' })),
        delivery(2, JSON.stringify(good)),
        delivery(4, JSON.stringify(withNul)),
      ]);
      const rows = await database.db.selectFrom('access_log').select('record_id').execute();
      assert.deepEqual(rows.map((row) => row.record_id), [good.id]);
      const aside = await database.db.selectFrom('access_log_unreadable').select(['offset', 'problem']).orderBy('id').execute();
      assert.deepEqual(aside.map((row) => row.offset), ['1', '3', '4']);
      assert.match(aside[0]!.problem, /not JSON/);
      assert.match(aside[1]!.problem, /invalid access record: \/id/);
      assert.match(aside[2]!.problem, /NUL/);
    });

    test('a record the database refuses is kept aside alone; the others of its batch are kept', async (t) => {
      const database = await engine.open(t);
      // A refusal of the database's own, as an owner could add one: a record from the service "poison".
      if (database.kind === 'postgres') await sql`alter table access_log add constraint no_poison check (service <> 'poison')`.execute(database.db);
      else await sql`create trigger no_poison before insert on access_log when new.service = 'poison' begin select raise(abort, 'no poison'); end`.execute(database.db);
      const keep = accessLogKeeper(contextOf(database));
      const [before, poison, after] = [record({}), record({ service: 'poison' }), record({})];
      await keep([delivery(1, JSON.stringify(before)), delivery(2, JSON.stringify(poison)), delivery(3, JSON.stringify(after))]);
      const rows = await database.db.selectFrom('access_log').select('record_id').orderBy('seq').execute();
      assert.deepEqual(rows.map((row) => row.record_id), [before.id, after.id]);
      const aside = await database.db.selectFrom('access_log_unreadable').select(['offset', 'problem']).execute();
      assert.deepEqual(aside.map((row) => row.offset), ['2']);
      assert.match(aside[0]!.problem, /the database refused it/);
    });
  });
}
