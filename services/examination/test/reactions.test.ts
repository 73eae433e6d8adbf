import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CloudEvent, EventDataOf, EventType } from '@medical/contracts';
import { startService, type RunningService, type ServiceContext } from '@medical/platform';
import { examinationService } from '../src/service.ts';
import { examinationRoutes } from '../src/http/routes.ts';
import { examinationEffect } from '../src/app/reactions.ts';
import { loadExaminationsOfReception } from '../src/db/repository.ts';
import type { ExaminationDatabase } from '../src/db/schema.ts';
import { startDevIssuer, type DevIssuer, serviceEngines } from '../../../packages/platform/test/helpers.ts';

/**
 * The examination service's reactions to a merge of a visit's patient (ReceptionPatientMerged),
 * and to a prescription, which is ordered in the waiting room of the department that performs it,
 * on one service started in process: on SQLite, and on PostgreSQL when DATABASE_URL is set.
 */

const engines = serviceEngines('examreact');

const at = '2025-03-01T09:00:00.000Z';
const mergedAt = '2025-03-01T10:00:00.000Z';
let nextReception = 7000;

function event<T extends EventType>(type: T, receptionId: number, data: EventDataOf<T>, time = at): CloudEvent<T> {
  return { specversion: '1.0', id: randomUUID(), type, source: type.startsWith('Reception') ? '/reception' : '/diagnosis', time, subject: String(receptionId), datacontenttype: 'application/json', data };
}

const prescribed = (receptionId: number, patientId: string, patientName: string) =>
  event('ExaminationPrescribed', receptionId, { prescriptionId: randomUUID(), diagnosisId: receptionId, receptionId, patientId, patientName, examinationType: 'X-RAY' });

const merged = (receptionId: number, previousPatientId: string) =>
  event('ReceptionPatientMerged', receptionId, { receptionId, patientId: 'P-kept', patientName: 'Hong Gil-dong', previousPatientId, mergedAt }, mergedAt);

for (const engine of engines) {
  describe(`a merge of the visit's patient on the examination service (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let service: RunningService;
    let context: ServiceContext<ExaminationDatabase> | undefined;
    let dataDir: string;
    let env: Record<string, string>;

    before(async () => {
      issuer = await startDevIssuer();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'examination-reactions-'));
      env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', ...engine.env(), ...issuer.env };
      service = await startService(
        {
          ...examinationService,
          routes: (app, given) => {
            context = given;
            return examinationRoutes(app, given, { directory: path.join(dataDir, 'attachments'), maxBytes: 1024 });
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

    /** The events the reactions handed to the outbox. */
    const emitted: Array<{ type: string; data: Record<string, unknown> }> = [];
    const apply = (e: CloudEvent) => {
      assert.ok(context);
      const effect = examinationEffect(context);
      return context.execute((trx, emit) =>
        effect(trx, e, (events, subject) => {
          emitted.push(...(events as typeof emitted));
          return emit(events, subject);
        }),
      );
    };
    const examinationsOf = (receptionId: number) => loadExaminationsOfReception(context!.database.db, receptionId);
    const auditOf = (receptionId: number) =>
      context!.database.db.selectFrom('audit_log').select(['command', 'aggregate_id', 'event_ids']).where('reception_id', '=', receptionId).orderBy('id').execute();

    test('moves every examination of the visit, whatever its status, audited once each with no event published; a redelivery changes nothing', async () => {
      const receptionId = nextReception++;
      const other = nextReception++;
      await apply(prescribed(receptionId, 'P-dup', 'Hong Gildong'));
      await apply(prescribed(receptionId, 'P-dup', 'Hong Gildong'));
      await apply(prescribed(other, 'P-dup', 'Hong Gildong'));
      // One of them ended: a cancelled examination is the patient's history too.
      await apply(event('ReceptionCancelled', other, { receptionId: other, reason: 'Left' }));
      const before = await examinationsOf(receptionId);
      assert.equal(before.length, 2);

      await apply(merged(receptionId, 'P-dup'));
      await apply(merged(receptionId, 'P-dup'));
      await apply(merged(other, 'P-dup'));

      const moved = await examinationsOf(receptionId);
      assert.deepEqual(moved, before.map((x) => ({ ...x, patientId: 'P-kept', patientName: 'Hong Gil-dong', updatedAt: mergedAt })));
      const audit = (await auditOf(receptionId)).filter((row) => row.command === 'examination.movePatient');
      assert.deepEqual(audit.map((row) => [Number(row.aggregate_id), JSON.parse(row.event_ids)]), before.map((x) => [x.id, []]));
      const [cancelled] = await examinationsOf(other);
      assert.deepEqual([cancelled?.status, cancelled?.patientId], ['CANCELLED', 'P-kept']);
    });

    test('a prescription written before the diagnosis service took the merge is ordered for the patient kept', async () => {
      const receptionId = nextReception++;
      await apply(prescribed(receptionId, 'P-dup', 'Hong Gildong'));
      await apply(merged(receptionId, 'P-dup'));
      // Prescribed while the diagnosis still named the previous patient, arriving after the merge.
      await apply(prescribed(receptionId, 'P-dup', 'Hong Gildong'));
      assert.deepEqual((await examinationsOf(receptionId)).map((x) => [x.patientId, x.patientName]), [
        ['P-kept', 'Hong Gil-dong'],
        ['P-kept', 'Hong Gil-dong'],
      ]);
    });

    test('a merge of a visit without examinations moves nothing, and its first prescription is ordered for the patient kept', async () => {
      const receptionId = nextReception++;
      await apply(merged(receptionId, 'P-dup'));
      assert.deepEqual(await auditOf(receptionId), []);
      await apply(prescribed(receptionId, 'P-dup', 'Hong Gildong'));
      assert.deepEqual((await examinationsOf(receptionId)).map((x) => x.patientId), ['P-kept']);
      // A later merge of the same visit replaces the one before.
      await apply(event('ReceptionPatientMerged', receptionId, { receptionId, patientId: 'P-last', patientName: 'Hong G.', previousPatientId: 'P-kept', mergedAt }, mergedAt));
      await apply(prescribed(receptionId, 'P-kept', 'Hong Gil-dong'));
      assert.deepEqual((await examinationsOf(receptionId)).map((x) => x.patientId), ['P-last', 'P-last']);
    });

    test("a prescription is ordered in the waiting room of the department that performs it, with the visit's department and number; ExaminationRequested says so", async () => {
      const receptionId = nextReception++;
      const order = (examinationType: string, visit: { visitDepartment?: string; queueNumber?: number }) =>
        event('ExaminationPrescribed', receptionId, {
          prescriptionId: randomUUID(), diagnosisId: receptionId, receptionId, patientId: 'P-queue', patientName: 'Hong Gildong', examinationType, ...visit,
        });
      const from = emitted.length;
      await apply(order('CT_HEAD', { visitDepartment: 'surgery', queueNumber: 7 }));
      await apply(order('CBC', { visitDepartment: 'surgery', queueNumber: 7 }));
      // Written before waiting rooms: free text and no visit's department or number.
      await apply(order('Brain CT', {}));
      const ordered = await examinationsOf(receptionId);
      assert.deepEqual(
        ordered.map((x) => [x.department, x.visitDepartment, x.queueNumber, x.callCount]),
        [
          ['radiology', 'surgery', 7, 0],
          ['laboratory-medicine', 'surgery', 7, 0],
          ['radiology', undefined, undefined, 0],
        ],
      );
      const requested = emitted.slice(from).filter((e) => e.type === 'ExaminationRequested').map(({ data: { actor: _actor, ...data } }) => data);
      assert.deepEqual(
        requested,
        ordered.map((x) => ({
          examinationId: x.id, prescriptionId: x.prescriptionId, diagnosisId: receptionId, receptionId, examinationType: x.examinationType,
          department: x.department, ...(x.visitDepartment ? { visitDepartment: x.visitDepartment, queueNumber: x.queueNumber } : {}),
        })),
      );
    });
  });
}
