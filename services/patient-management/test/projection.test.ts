import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import type { CloudEvent, EventDataOf, EventType } from '@medical/contracts';
import { startService, type RunningService, type ServiceContext } from '@medical/platform';
import { patientManagementService } from '../src/service.ts';
import { projectionEffect } from '../src/app/projection.ts';
import { listVisits, loadVisit, visitsOfPatient } from '../src/db/repository.ts';
import { loadTimeline } from '../src/db/timeline.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';
import { startDevIssuer, type DevIssuer, serviceEngines } from '../../../packages/platform/test/helpers.ts';

/**
 * The projection (app/projection.ts) of a merge of a visit's patient, on one patient-management
 * service started in process: the visit's row, what is found by patient, the list totals and the
 * timeline. On SQLite, and on PostgreSQL when DATABASE_URL is set.
 */

const engines = serviceEngines('pmproject');

function event<T extends EventType>(type: T, receptionId: number, data: EventDataOf<T>, time: string): CloudEvent<T> {
  return { specversion: '1.0', id: randomUUID(), type, source: '/reception', time, subject: String(receptionId), datacontenttype: 'application/json', data };
}

const completed = (receptionId: number, patientId: string) =>
  event('ReceptionCompleted', receptionId, { receptionId, patientId, patientName: 'Hong Gildong', receivedAt: '2025-03-01T09:00:00.000Z' }, '2025-03-01T09:00:00.000Z');

for (const engine of engines) {
  describe(`the projection of a merge of the visit's patient (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let service: RunningService;
    let context: ServiceContext<PatientManagementDatabase> | undefined;
    let dataDir: string;
    let env: Record<string, string>;

    before(async () => {
      const { routes } = patientManagementService;
      assert.ok(routes);
      issuer = await startDevIssuer();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-projection-'));
      env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', ...engine.env(), ...issuer.env };
      service = await startService(
        {
          ...patientManagementService,
          routes: (app, given) => {
            context = given;
            return routes(app, given);
          },
        },
        env,
      );
    });
    after(async () => {
      await service?.stop();
      await issuer?.close();
      await engine.drop(env);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Applies `e` as the service's consumer does (its own effect, whose metrics are registered already, runs beside). */
    const apply = (e: CloudEvent) => {
      assert.ok(context);
      const effect = projectionEffect({ ...context, metrics: { ...context.metrics, registry: new Registry() } });
      return context.execute((trx) => effect(trx, e));
    };

    test("the visit's row takes the patient kept: found by the new patient, no longer by the previous one, totals unchanged; the timeline says so", async () => {
      const db = context!.database.db;
      const previous = `P-dup-${randomUUID()}`;
      const kept = `P-kept-${randomUUID()}`;
      await apply(completed(8001, previous));
      await apply(completed(8002, previous));
      const totalBefore = (await listVisits(db, { page: 0, size: 1 })).total;

      const merge = event('ReceptionPatientMerged', 8001, { receptionId: 8001, patientId: kept, patientName: 'Hong Gil-dong', previousPatientId: previous, mergedAt: '2025-03-01T10:00:00.000Z' }, '2025-03-01T10:00:00.000Z');
      await apply(merge);
      const visit = await loadVisit(db, 8001);
      assert.deepEqual([visit?.patientId, visit?.patientName, visit?.stage, visit?.updatedAt], [kept, 'Hong Gil-dong', 'RECEIVED', '2025-03-01T10:00:00.000Z']);
      assert.deepEqual((await visitsOfPatient(db, kept)).map((v) => v.receptionId), [8001]);
      assert.deepEqual((await visitsOfPatient(db, previous)).map((v) => v.receptionId), [8002]);
      const page = await listVisits(db, { page: 0, size: 10, patientId: kept });
      assert.deepEqual([page.total, page.items.map((v) => v.receptionId)], [1, [8001]]);
      assert.equal((await listVisits(db, { page: 0, size: 1 })).total, totalBefore, 'a merge adds no visit');

      // The same event again (a replay): the visit and its timeline stay as they are.
      await apply(merge);
      assert.deepEqual(await loadVisit(db, 8001), visit);
      const steps = await loadTimeline(db, 8001);
      assert.deepEqual(steps.map((s) => [s.event, s.description]), [
        ['ReceptionCompleted', 'Registered at the reception desk'],
        ['ReceptionPatientMerged', `Patient records merged: now patient ${kept} (was ${previous})`],
      ]);
    });

    test("an examination prescribed in free text before the catalog's codes is shown by the code its alias names; unknown text as it is", async () => {
      const db = context!.database.db;
      await apply(completed(8101, 'P-free-text'));
      const prescribed = (prescriptionId: string, examinationType: string) =>
        event('ExaminationPrescribed', 8101, { prescriptionId, diagnosisId: 81, receptionId: 8101, patientId: 'P-free-text', patientName: 'Hong Gildong', examinationType }, '2025-03-01T09:05:00.000Z');
      await apply(prescribed(randomUUID(), 'X-ray'));
      await apply(prescribed(randomUUID(), 'Holter monitoring'));
      assert.deepEqual((await loadVisit(db, 8101))?.examinations.map((e) => e.examinationType), ['CHEST_XRAY', 'Holter monitoring']);
      // The timeline tells what was written then.
      assert.match((await loadTimeline(db, 8101))[1]!.description, /X-ray/);
    });

    test('a merge of a visit the view never received is an error (retried, then dead-lettered), not dropped', async () => {
      const merge = event('ReceptionPatientMerged', 8999, { receptionId: 8999, patientId: 'P-kept', patientName: 'Hong Gil-dong', previousPatientId: 'P-dup', mergedAt: '2025-03-01T10:00:00.000Z' }, '2025-03-01T10:00:00.000Z');
      await assert.rejects(apply(merge), /ReceptionPatientMerged for visit 8999 that has not been received/);
    });
  });
}
