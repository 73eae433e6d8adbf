import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CloudEvent } from '@medical/contracts';
import { startService, type RunningService, type ServiceContext } from '@medical/platform';
import { examinationService } from '../src/service.ts';
import { examinationRoutes } from '../src/http/routes.ts';
import { examinationEffect } from '../src/app/reactions.ts';
import { loadExamination, loadExaminationOfPrescription, saveExamination } from '../src/db/repository.ts';
import type { ExaminationDatabase } from '../src/db/schema.ts';
import type { Examination } from '../src/domain/examination.ts';
import { startDevIssuer, type DevIssuer, serviceEngines, type ServiceEngine } from '../../../packages/platform/test/helpers.ts';

/**
 * The examiners' calls (issue 21): calling the patient of a pending examination in the waiting
 * room of the department that performs it, recalls, no-shows and their refusals, on one
 * examination service started for real with real tokens of the development identity provider;
 * on SQLite, and on PostgreSQL when DATABASE_URL is set.
 */

const engines = serviceEngines('examroutes');

type User = 'examiner' | 'doctor' | 'admin';
type Answer = { status: number; body: Record<string, any>; contentType: string; headers: Headers };
type Emitted = { type: string; data: Record<string, any> };

/** One examination service on `engine`, its context, every event it handed to the outbox, and requests as a demo user. */
async function startExamination(engine: ServiceEngine, issuer: DevIssuer) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'examination-routes-'));
  const env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', ...engine.env(), ...issuer.env };
  let context: ServiceContext<ExaminationDatabase> | undefined;
  // What leaves the service: the relay deletes the outbox rows it published.
  const emitted: Emitted[] = [];
  const service: RunningService = await startService(
    {
      ...examinationService,
      routes: (app, given) => {
        const execute: typeof given.execute = (work) =>
          given.execute((trx, emit) =>
            work(trx, (events, subject) => {
              emitted.push(...(events as Emitted[]));
              return emit(events, subject);
            }),
          );
        context = { ...given, execute };
        return examinationRoutes(app, context, { directory: path.join(dataDir, 'attachments'), maxBytes: 1024 });
      },
    },
    env,
  );
  const call = async (user: User, method: string, route: string, options: { json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const response = await fetch(`${service.url}${route}`, {
      method,
      headers: {
        ...(await issuer.authorization(user)),
        ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any>, contentType: response.headers.get('content-type') ?? '', headers: response.headers };
  };
  const stop = async () => {
    await service.stop();
    await engine.drop(env);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  assert.ok(context);
  return { context, emitted, call, stop };
}

let nextReception = 9000;
const at = '2025-03-01T09:00:00.000Z';

/** An examination ordered by the service's own reaction to a prescription of a visit of `visitDepartment` with `queueNumber`. */
async function order(context: ServiceContext<ExaminationDatabase>, examinationType: string, visitDepartment: string, queueNumber: number): Promise<Examination> {
  const receptionId = nextReception++;
  const prescriptionId = randomUUID();
  const event: CloudEvent<'ExaminationPrescribed'> = {
    specversion: '1.0', id: randomUUID(), type: 'ExaminationPrescribed', source: '/diagnosis', time: at, subject: String(receptionId), datacontenttype: 'application/json',
    data: { prescriptionId, diagnosisId: receptionId, receptionId, patientId: `P-${receptionId}`, patientName: 'Hong Gildong', examinationType, visitDepartment, queueNumber },
  };
  await context.execute((trx, emit) => examinationEffect(context)(trx, event, emit));
  return (await loadExaminationOfPrescription(context.database.db, prescriptionId))!;
}

/** The events of `type` the service handed to the outbox about examination `id`, since `from`, without their actor. */
function emittedFor(emitted: Emitted[], type: string, id: number, from = 0): Array<Record<string, any>> {
  return emitted
    .slice(from)
    .filter((e) => e.type === type && e.data.examinationId === id)
    .map(({ data: { actor: _actor, ...data } }) => data);
}

for (const engine of engines) {
  describe(`the examiners' calls (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let system: Awaited<ReturnType<typeof startExamination>>;

    before(async () => {
      issuer = await startDevIssuer();
      system = await startExamination(engine, issuer);
    });
    after(async () => {
      await system?.stop();
      await issuer?.close();
    });

    const post = (id: number, route: 'call' | 'no-show', json?: unknown, user: User = 'examiner', headers: Record<string, string> = {}) =>
      system.call(user, 'POST', `/examinations/${id}/${route}`, { ...(json !== undefined ? { json } : {}), headers });

    test("calling the patient: 200 with the call, in the performing department's waiting room by the visit's number; a recall keeps the room", async () => {
      const ct = await order(system.context, 'CT_HEAD', 'surgery', 7);
      const from = system.emitted.length;
      const started = Date.now();
      const first = await post(ct.id, 'call', { room: 'CT-1' });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(
        [first.body.status, first.body.department, first.body.visitDepartment, first.body.queueNumber, first.body.callCount, first.body.room],
        ['REQUESTED', 'radiology', 'surgery', 7, 1, 'CT-1'],
      );
      assert.ok(Date.parse(first.body.calledAt) >= started - 1000 && Date.parse(first.body.calledAt) <= Date.now(), first.body.calledAt);

      // A recall with no body at all: the room of the call before.
      const again = await post(ct.id, 'call');
      assert.deepEqual([again.status, again.body.callCount, again.body.room], [200, 2, 'CT-1']);
      const shown = (await system.call('examiner', 'GET', `/examinations/${ct.id}`)).body;
      assert.deepEqual([shown.callCount, shown.room, shown.calledAt, shown.department], [2, 'CT-1', again.body.calledAt, 'radiology']);

      assert.deepEqual(
        emittedFor(system.emitted, 'PatientCalled', ct.id, from),
        [first, again].map((answer, i) => ({
          receptionId: ct.receptionId, calledFor: 'EXAMINATION', examinationId: ct.id, diagnosisId: ct.diagnosisId, examinationType: 'CT_HEAD',
          department: 'radiology', visitDepartment: 'surgery', queueNumber: 7, room: 'CT-1', callCount: i + 1, calledAt: answer.body.calledAt,
        })),
      );
      const audit = await system.context.database.db.selectFrom('audit_log').select(['command', 'actor_subject']).where('aggregate_id', '=', String(ct.id)).orderBy('id').execute();
      assert.deepEqual(audit.map((row) => [row.command, row.actor_subject]).slice(1), [['examination.call', 'dev:examiner'], ['examination.call', 'dev:examiner']]);
    });

    test('no-show: 409 before a call, 200 once called (PatientNoShow goes out), 409 again until the next call clears it', async () => {
      const blood = await order(system.context, 'CBC', 'internal-medicine', 21);
      const early = await post(blood.id, 'no-show');
      assert.equal(early.status, 409);
      assert.match(early.contentType, /^application\/problem\+json/);
      assert.match(String(early.body.detail), /has not been called/);

      assert.equal((await post(blood.id, 'call', { room: '채혈실 2' })).status, 200);
      const from = system.emitted.length;
      const marked = await post(blood.id, 'no-show');
      assert.equal(marked.status, 200, JSON.stringify(marked.body));
      assert.deepEqual([marked.body.status, marked.body.callCount], ['REQUESTED', 1]);
      assert.deepEqual(emittedFor(system.emitted, 'PatientNoShow', blood.id, from), [
        { receptionId: blood.receptionId, calledFor: 'EXAMINATION', examinationId: blood.id, diagnosisId: blood.diagnosisId, department: 'laboratory-medicine', queueNumber: 21, markedAt: marked.body.noShowAt },
      ]);

      const twice = await post(blood.id, 'no-show', {});
      assert.equal(twice.status, 409);
      assert.match(String(twice.body.detail), /already marked as not come/);
      const recalled = await post(blood.id, 'call', {});
      assert.deepEqual([recalled.status, recalled.body.callCount, recalled.body.room, recalled.body.noShowAt], [200, 2, '채혈실 2', undefined]);
      assert.equal((await post(blood.id, 'no-show')).status, 200);
    });

    test('409 once performed or cancelled, 400 on a bad room or body, 404 on an unknown id, 403 for a doctor; a refusal changes nothing', async () => {
      const performed = await order(system.context, 'CT_HEAD', 'surgery', 8);
      for (const body of [{ room: '' }, { room: '   ' }, { room: 'x'.repeat(41) }, { room: 3 }, { room: '1', floor: 2 }]) {
        const answer = await post(performed.id, 'call', body);
        assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.contentType, /^application\/problem\+json/);
        const fields = new Set((answer.body.errors as Array<{ field: string; in: string }>).map((e) => `${e.in}:${e.field}`));
        assert.deepEqual([...fields], ['floor' in body ? 'body:floor' : 'body:room'], JSON.stringify(answer.body));
      }
      assert.equal((await post(performed.id, 'no-show', { room: '1' })).status, 400);
      assert.equal((await post(performed.id, 'call', { room: '1' }, 'doctor')).status, 403, 'the examiners call, not the doctors');
      assert.equal((await loadExamination(system.context.database.db, performed.id))?.callCount, 0);

      assert.equal((await system.call('examiner', 'POST', `/examinations/${performed.id}/perform`, { json: { result: 'No bleeding' } })).status, 200);
      const cancelled = await order(system.context, 'CBC', 'surgery', 8);
      assert.equal((await system.call('examiner', 'POST', `/examinations/${cancelled.id}/cancel`, { json: {} })).status, 200);
      for (const [examination, status] of [[performed, 'PERFORMED'], [cancelled, 'CANCELLED']] as const) {
        const ended = await loadExamination(system.context.database.db, examination.id);
        for (const route of ['call', 'no-show'] as const) {
          const answer = await post(examination.id, route, {});
          assert.equal(answer.status, 409, `${status} ${route}: ${JSON.stringify(answer.body)}`);
          assert.match(String(answer.body.detail), new RegExp(`is ${status}`));
        }
        assert.deepEqual(await loadExamination(system.context.database.db, examination.id), ended);
      }
      assert.equal((await post(2_000_000_000, 'call', {})).status, 404);
      assert.equal((await post(2_000_000_000, 'no-show')).status, 404);
      assert.equal((await post(performed.id, 'call', { room: 'R'.repeat(40) }, 'admin')).status, 409, 'admin may call: refused by the state alone');
    });

    test('an examination ordered before waiting rooms is called where the catalog says, and keeps that room', async () => {
      const id = nextReception++;
      const legacy: Examination = {
        id, prescriptionId: randomUUID(), diagnosisId: id, receptionId: id, patientId: `P-${id}`, patientName: 'Hong Gildong',
        examinationType: 'CT_HEAD', status: 'REQUESTED', callCount: 0, createdAt: at, updatedAt: at,
      };
      await saveExamination(system.context.database.db, legacy);
      assert.equal((await system.call('examiner', 'GET', `/examinations/${id}`)).body.department, undefined);
      const from = system.emitted.length;
      const called = await post(id, 'call', { room: 'CT-2' });
      assert.deepEqual([called.status, called.body.department, called.body.queueNumber], [200, 'radiology', undefined]);
      assert.deepEqual(emittedFor(system.emitted, 'PatientCalled', id, from), [
        { receptionId: id, calledFor: 'EXAMINATION', examinationId: id, diagnosisId: id, examinationType: 'CT_HEAD', department: 'radiology', room: 'CT-2', callCount: 1, calledAt: called.body.calledAt },
      ]);
      assert.equal((await loadExamination(system.context.database.db, id))?.department, 'radiology');
    });

    test('an Idempotency-Key makes a call safe to retry: the same answer, replayed, and one call only', async () => {
      const ct = await order(system.context, 'CT_HEAD', 'surgery', 9);
      const from = system.emitted.length;
      const key = { 'idempotency-key': randomUUID() };
      const first = await post(ct.id, 'call', { room: 'CT-1' }, 'examiner', key);
      const retried = await post(ct.id, 'call', { room: 'CT-1' }, 'examiner', key);
      assert.deepEqual([first.status, retried.status], [200, 200]);
      assert.equal(retried.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retried.body, first.body);
      assert.equal((await loadExamination(system.context.database.db, ct.id))?.callCount, 1);
      assert.equal(emittedFor(system.emitted, 'PatientCalled', ct.id, from).length, 1);
    });
  });
}
