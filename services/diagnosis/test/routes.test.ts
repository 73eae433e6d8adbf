import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { Counter } from 'prom-client';
import { OUTSIDE_DEPARTMENT_PROBLEM, type CloudEvent } from '@medical/contracts';
import { loggerOptions, startService, type RunningService, type ServiceContext } from '@medical/platform';
import { diagnosisService } from '../src/service.ts';
import { diagnosisRoutes } from '../src/http/routes.ts';
import { diagnosisEffect } from '../src/app/reactions.ts';
import { loadDiagnosis, saveDiagnosis } from '../src/db/repository.ts';
import type { DiagnosisDatabase } from '../src/db/schema.ts';
import type { Diagnosis } from '../src/domain/diagnosis.ts';
import { startDevIssuer, type DevIssuer, serviceEngines, type ServiceEngine } from '../../../packages/platform/test/helpers.ts';

/**
 * The diagnosis routes with departments and break-glass (issue 18), on one diagnosis service
 * started for real with real tokens of the development identity provider: `doctor` (internal
 * medicine), `doctor-surgery` (surgery) and `admin`; on SQLite, and on PostgreSQL when
 * DATABASE_URL is set. Through the gateway, with the whole saga: test/e2e/departments.test.ts.
 */

const engines = serviceEngines('diagroutes');

type User = 'doctor' | 'doctor-surgery' | 'admin';
type Answer = { status: number; body: Record<string, any>; contentType: string; headers: Headers };
type Emitted = { type: string; data: Record<string, any> };

/** One diagnosis service on `engine`, its context, its log lines, and requests as a demo user. */
async function startDiagnosis(engine: ServiceEngine, issuer: DevIssuer, moreEnv: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'diagnosis-routes-'));
  const env = { LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', ...engine.env(), ...issuer.env, ...moreEnv };
  const lines: string[] = [];
  // The service's own log options (redaction included), written where the test reads them.
  const logger = pino(loggerOptions('diagnosis', 'info'), { write: (line: string) => void lines.push(line) });
  let context: ServiceContext<DiagnosisDatabase> | undefined;
  // Every event the routes' commands hand to the outbox: what leaves the service (the relay deletes the rows it published).
  const emitted: Emitted[] = [];
  const service: RunningService = await startService(
    {
      ...diagnosisService,
      routes: (app, given) => {
        context = given;
        const execute: typeof given.execute = (work) =>
          given.execute((trx, emit) =>
            work(trx, (events, subject) => {
              emitted.push(...(events as Emitted[]));
              return emit(events, subject);
            }),
          );
        diagnosisRoutes(app, { ...given, logger, execute });
      },
    },
    env,
  );
  const tokens = new Map<User, Promise<string>>();
  const call = async (user: User | null, method: string, route: string, options: { json?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    if (user && !tokens.has(user)) tokens.set(user, issuer.provider.issue(user));
    const response = await fetch(`${service.url}${route}`, {
      method,
      headers: {
        ...(user ? { authorization: `Bearer ${await tokens.get(user)}` } : {}),
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
  return { service, context, lines, emitted, call, stop };
}

let nextId = 1000;
const at = '2025-03-01T09:00:00.000Z';

/** A diagnosis saved as the service would have registered it; `department` undefined: one registered before departments. */
async function seed(context: ServiceContext<DiagnosisDatabase>, patientId: string, department: string | undefined): Promise<Diagnosis> {
  const id = nextId++;
  const diagnosis: Diagnosis = {
    id, receptionId: id, patientId, patientName: 'Hong Gildong', status: 'REGISTERED', prescriptions: [], callCount: 0, createdAt: at, updatedAt: at,
    ...(department ? { department } : {}),
  };
  await saveDiagnosis(context.database.db, diagnosis);
  return diagnosis;
}

async function auditOf(context: ServiceContext<DiagnosisDatabase>, id: number) {
  return context.database.db.selectFrom('audit_log').selectAll().where('aggregate_id', '=', String(id)).orderBy('id').execute();
}

async function breakGlassCount(context: ServiceContext<DiagnosisDatabase>, route: string): Promise<number> {
  const metric = context.metrics.registry.getSingleMetric('medical_break_glass_total');
  assert.ok(metric instanceof Counter, 'medical_break_glass_total is a counter');
  const { values } = await metric.get();
  return values.filter((v) => v.labels.route === route).reduce((sum, v) => sum + v.value, 0);
}

function assertOutsideDepartment(answer: Answer, department: string): void {
  assert.equal(answer.status, 403, JSON.stringify(answer.body));
  assert.match(answer.contentType, /^application\/problem\+json/);
  assert.equal(answer.body.type, OUTSIDE_DEPARTMENT_PROBLEM);
  assert.equal(answer.body.department, department);
  assert.match(String(answer.body.detail), new RegExp(`department ${department}`));
  assert.match(String(answer.body.detail), /Break-Glass/);
  assert.doesNotMatch(JSON.stringify(answer.body), /Hong Gildong|P-/, 'the problem names no patient');
}

const REASON = 'Unconscious in the emergency room, on anticoagulants?';

/** A visit completed at the desk with `queueNumber`, registered by the service's own reaction: the diagnosis it opened. */
async function registerVisit(context: ServiceContext<DiagnosisDatabase>, department: string, queueNumber: number): Promise<Diagnosis> {
  const receptionId = nextId++;
  const event: CloudEvent<'ReceptionCompleted'> = {
    specversion: '1.0', id: randomUUID(), type: 'ReceptionCompleted', source: '/reception', time: at, subject: String(receptionId), datacontenttype: 'application/json',
    data: { receptionId, patientId: `P-queue-${receptionId}`, patientName: 'Hong Gildong', receivedAt: at, department, queueNumber, queueDay: '2025-03-01' },
  };
  await context.execute((trx, emit) => diagnosisEffect(context)(trx, event, emit));
  const { id } = await context.database.db.selectFrom('diagnoses').select(['id']).where('reception_id', '=', receptionId).executeTakeFirstOrThrow();
  return (await loadDiagnosis(context.database.db, id))!;
}

/** The events of `type` the service handed to the outbox about diagnosis `id`, since `from`. */
function emittedFor(emitted: Emitted[], type: string, id: number, from = 0): Array<Record<string, any>> {
  return emitted.slice(from).filter((e) => e.type === type && e.data.diagnosisId === id).map((e) => e.data);
}

for (const engine of engines) {
  describe(`departments and break-glass on the diagnosis routes (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let system: Awaited<ReturnType<typeof startDiagnosis>>;

    before(async () => {
      issuer = await startDevIssuer();
      system = await startDiagnosis(engine, issuer);
    });
    after(async () => {
      await system?.stop();
      await issuer?.close();
    });

    test('the worklist lists the doctor\'s departments only, in SQL: the page and its total; admin sees every one', async () => {
      const patientId = `P-list-${randomUUID()}`;
      const internal = [await seed(system.context, patientId, 'internal-medicine'), await seed(system.context, patientId, 'internal-medicine')];
      const surgery = [await seed(system.context, patientId, 'surgery'), await seed(system.context, patientId, 'surgery')];
      const legacy = await seed(system.context, patientId, undefined);
      const list = async (user: User, size = 20) => (await system.call(user, 'GET', `/diagnoses?patientId=${patientId}&size=${size}`)).body;
      const ids = (page: Record<string, any>) => (page.items as Diagnosis[]).map((d) => d.id);

      // A diagnosis without a department is the default department's (internal medicine).
      assert.deepEqual(ids(await list('doctor')), [internal[0]!.id, internal[1]!.id, legacy.id]);
      assert.equal((await list('doctor')).total, 3);
      assert.deepEqual(ids(await list('doctor-surgery')), surgery.map((d) => d.id));
      assert.equal((await list('doctor-surgery')).total, 2);
      const small = await list('doctor-surgery', 1);
      assert.deepEqual([ids(small), small.total], [[surgery[0]!.id], 2], 'a page counts only what the doctor may see');
      assert.equal((await list('admin')).total, 5);
      const shown = (await list('admin')).items as Diagnosis[];
      assert.deepEqual(shown.map((d) => d.department), ['internal-medicine', 'internal-medicine', 'surgery', 'surgery', undefined]);
      // A Break-Glass header does not widen a list.
      const asked = await system.call('doctor-surgery', 'GET', `/diagnoses?patientId=${patientId}`, { headers: { 'break-glass': REASON } });
      assert.equal(asked.body.total, 2);
    });

    test('another department\'s diagnosis: 403 on the read and on every command, naming its department, and nothing changes', async () => {
      const patientId = `P-403-${randomUUID()}`;
      const surgical = await seed(system.context, patientId, 'surgery');
      const legacy = await seed(system.context, patientId, undefined);
      assertOutsideDepartment(await system.call('doctor', 'GET', `/diagnoses/${surgical.id}`), 'surgery');
      assertOutsideDepartment(await system.call('doctor-surgery', 'GET', `/diagnoses/${legacy.id}`), 'internal-medicine');
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/prescriptions`, { json: { examinationType: 'CT_HEAD' } }), 'surgery');
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/complete`, { json: { opinion: 'fine' } }), 'surgery');
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/reject`, { json: { reason: 'no' } }), 'surgery');
      assert.deepEqual(await loadDiagnosis(system.context.database.db, surgical.id), surgical);
      assert.deepEqual(await auditOf(system.context, surgical.id), []);
      // Their own department, and admin anywhere, as before.
      assert.equal((await system.call('doctor-surgery', 'GET', `/diagnoses/${surgical.id}`)).body.department, 'surgery');
      assert.equal((await system.call('doctor', 'GET', `/diagnoses/${legacy.id}`)).status, 200);
      assert.equal((await system.call('admin', 'GET', `/diagnoses/${surgical.id}`)).status, 200);
      assert.equal((await system.call('admin', 'POST', `/diagnoses/${legacy.id}/prescriptions`, { json: { examinationType: 'CT_HEAD' } })).status, 201);
      // An unknown id is a 404 whoever asks.
      assert.equal((await system.call('doctor', 'GET', '/diagnoses/2000000000')).status, 404);
      assert.equal((await system.call('doctor', 'POST', '/diagnoses/2000000000/complete', { json: { opinion: 'x' } })).status, 404);
    });

    test('breaking the glass to read: allowed, audited with the reason (diagnosis.read), counted, logged at warn with ids only', async () => {
      const surgical = await seed(system.context, `P-read-${randomUUID()}`, 'surgery');
      const before = await breakGlassCount(system.context, '/diagnoses/:id');
      const logged = system.lines.length;
      const opened = await system.call('doctor', 'GET', `/diagnoses/${surgical.id}`, { headers: { 'break-glass': REASON } });
      assert.equal(opened.status, 200, JSON.stringify(opened.body));
      assert.deepEqual(opened.body, JSON.parse(JSON.stringify(surgical)), 'the diagnosis as it was: opening it changed nothing');

      const [row, ...more] = await auditOf(system.context, surgical.id);
      assert.deepEqual(more, []);
      assert.equal(row?.command, 'diagnosis.read');
      assert.equal(row?.break_glass_reason, REASON);
      assert.deepEqual([row?.actor_subject, row?.actor_role, Number(row?.reception_id)], ['dev:doctor', 'doctor', surgical.receptionId]);
      assert.equal((JSON.parse(row!.event_ids) as string[]).length, 1, 'BreakGlassAccessed went to the outbox with it');
      assert.equal(await breakGlassCount(system.context, '/diagnoses/:id'), before + 1);

      const warnings = system.lines.slice(logged).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 40);
      assert.equal(warnings.length, 1, system.lines.slice(logged).join(''));
      assert.deepEqual(
        { diagnosisId: warnings[0]!.diagnosisId, receptionId: warnings[0]!.receptionId, actor: warnings[0]!.actor, route: warnings[0]!.route, department: warnings[0]!.department },
        { diagnosisId: surgical.id, receptionId: surgical.receptionId, actor: 'dev:doctor', route: '/diagnoses/:id', department: 'surgery' },
      );
      assert.doesNotMatch(system.lines.slice(logged).join(''), /anticoagulants|Hong Gildong|P-read/, 'neither the reason nor the patient in the logs');
    });

    test('breaking the glass to act: the command runs, its audit row carries the reason and both events, counted on its route', async () => {
      const surgical = await seed(system.context, `P-act-${randomUUID()}`, 'surgery');
      const before = await breakGlassCount(system.context, '/diagnoses/:id/prescriptions');
      const encoded = encodeURIComponent('응급: 의식 저하');
      const prescribed = await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/prescriptions`, { json: { examinationType: 'CT_HEAD' }, headers: { 'break-glass': encoded } });
      assert.equal(prescribed.status, 201, JSON.stringify(prescribed.body));
      assert.equal(prescribed.body.status, 'EXAMINATION_PRESCRIBED');
      const [row] = await auditOf(system.context, surgical.id);
      assert.equal(row?.command, 'diagnosis.prescribe');
      assert.equal(row?.break_glass_reason, '응급: 의식 저하');
      assert.equal((JSON.parse(row!.event_ids) as string[]).length, 2, 'BreakGlassAccessed and ExaminationPrescribed');
      assert.equal(await breakGlassCount(system.context, '/diagnoses/:id/prescriptions'), before + 1);

      // A refused command (409) with the header leaves no trace: no audit row, no count.
      const refused = await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/complete`, { json: { opinion: 'x' }, headers: { 'break-glass': REASON } });
      assert.equal(refused.status, 409);
      assert.equal((await auditOf(system.context, surgical.id)).length, 1);
      assert.equal(await breakGlassCount(system.context, '/diagnoses/:id/complete'), 0);
    });

    test('a Break-Glass header on one\'s own department, or as admin, is not breaking the glass: nothing recorded', async () => {
      const internal = await seed(system.context, `P-own-${randomUUID()}`, 'internal-medicine');
      const counts = async () => Promise.all(['/diagnoses/:id', '/diagnoses/:id/reject'].map((route) => breakGlassCount(system.context, route)));
      const before = await counts();
      assert.equal((await system.call('doctor', 'GET', `/diagnoses/${internal.id}`, { headers: { 'break-glass': REASON } })).status, 200);
      assert.equal((await system.call('admin', 'GET', `/diagnoses/${internal.id}`, { headers: { 'break-glass': REASON } })).status, 200);
      assert.deepEqual(await auditOf(system.context, internal.id), [], 'a read within scope is not audited as one');
      assert.equal((await system.call('doctor', 'POST', `/diagnoses/${internal.id}/reject`, { json: { reason: 'left' }, headers: { 'break-glass': REASON } })).status, 200);
      const rows = await auditOf(system.context, internal.id);
      assert.deepEqual(rows.map((r) => [r.command, r.break_glass_reason, (JSON.parse(r.event_ids) as string[]).length]), [['diagnosis.reject', null, 1]]);
      assert.deepEqual(await counts(), before);
    });

    test('a bad Break-Glass header is a 400 naming the header, on the read and on the commands, and records nothing', async () => {
      const surgical = await seed(system.context, `P-bad-${randomUUID()}`, 'surgery');
      const internal = await seed(system.context, `P-bad-${randomUUID()}`, 'internal-medicine');
      for (const value of ['', '   ', 'x'.repeat(501), '%E2%80%8B']) {
        for (const [method, route, json] of [
          ['GET', `/diagnoses/${surgical.id}`, undefined],
          ['GET', `/diagnoses/${internal.id}`, undefined],
          ['POST', `/diagnoses/${surgical.id}/complete`, { opinion: 'x' }],
        ] as const) {
          const answer = await system.call('doctor', method, route, { headers: { 'break-glass': value }, ...(json ? { json } : {}) });
          assert.equal(answer.status, 400, `${method} ${route} with ${JSON.stringify(value)}: ${JSON.stringify(answer.body)}`);
          assert.match(answer.contentType, /^application\/problem\+json/);
          assert.deepEqual(answer.body.errors.map((e: { field: string; in: string }) => [e.field, e.in]), [['Break-Glass', 'header']]);
        }
      }
      assert.deepEqual(await auditOf(system.context, surgical.id), []);
    });

    test('ReceptionCompleted gives the diagnosis the visit\'s department: a code as it is, free text or none the default one', async () => {
      const effect = diagnosisEffect(system.context);
      const registered: Array<string | undefined> = [];
      for (const department of ['surgery', 'Internal medicine', undefined]) {
        const receptionId = nextId++;
        const event: CloudEvent<'ReceptionCompleted'> = {
          specversion: '1.0', id: randomUUID(), type: 'ReceptionCompleted', source: '/reception', time: at, subject: String(receptionId), datacontenttype: 'application/json',
          data: { receptionId, patientId: `P-event-${receptionId}`, patientName: 'Hong Gildong', receivedAt: at, ...(department ? { department } : {}) },
        };
        await system.context.execute((trx, emit) => effect(trx, event, emit));
        const row = await system.context.database.db.selectFrom('diagnoses').select(['department']).where('reception_id', '=', receptionId).executeTakeFirstOrThrow();
        registered.push(row.department ?? undefined);
      }
      assert.deepEqual(registered, ['surgery', 'internal-medicine', 'internal-medicine']);
    });

    test('ReceptionPatientMerged moves the diagnosis of the visit to the patient kept, audited once; without a diagnosis it throws (retried, then dead-lettered)', async () => {
      const effect = diagnosisEffect(system.context);
      const completed = await seed(system.context, `P-dup-${randomUUID()}`, 'surgery');
      const merged = (receptionId: number): CloudEvent<'ReceptionPatientMerged'> => ({
        specversion: '1.0', id: randomUUID(), type: 'ReceptionPatientMerged', source: '/reception', time: '2025-03-01T10:00:00.000Z', subject: String(receptionId), datacontenttype: 'application/json',
        data: { receptionId, patientId: 'P-kept', patientName: 'Hong Gil-dong', previousPatientId: completed.patientId, mergedAt: '2025-03-01T10:00:00.000Z' },
      });
      await system.context.execute((trx, emit) => effect(trx, merged(completed.receptionId), emit));
      // The same merge again (a redelivery under another id, as a replay would give): nothing more.
      await system.context.execute((trx, emit) => effect(trx, merged(completed.receptionId), emit));
      const moved = await loadDiagnosis(system.context.database.db, completed.id);
      assert.deepEqual(moved, { ...completed, patientId: 'P-kept', patientName: 'Hong Gil-dong', updatedAt: '2025-03-01T10:00:00.000Z' });
      // PatientMoved is never published (the reception published the merge): the audit row names no event.
      assert.deepEqual((await auditOf(system.context, completed.id)).map((row) => [row.command, JSON.parse(row.event_ids)]), [['diagnosis.movePatient', []]]);
      await assert.rejects(
        system.context.execute((trx, emit) => effect(trx, merged(nextId++), emit)),
        /ReceptionPatientMerged for reception \d+ that has no diagnosis/,
      );
    });

    test("calling the patient: 200 with the call; a recall counts on and keeps the room; PatientCalled goes out with the visit's queue number", async () => {
      const diagnosis = await registerVisit(system.context, 'internal-medicine', 12);
      assert.deepEqual([diagnosis.queueNumber, diagnosis.callCount], [12, 0]);
      const from = system.emitted.length;
      const started = Date.now();
      const first = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: { room: '진료실 3' } });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual([first.body.status, first.body.queueNumber, first.body.callCount, first.body.room], ['REGISTERED', 12, 1, '진료실 3']);
      assert.ok(Date.parse(first.body.calledAt) >= started - 1000 && Date.parse(first.body.calledAt) <= Date.now(), first.body.calledAt);
      assert.equal(first.body.noShowAt, undefined);

      // A recall with no body at all: the room of the call before.
      const again = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`);
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual([again.body.callCount, again.body.room], [2, '진료실 3']);
      const shown = (await system.call('doctor', 'GET', `/diagnoses/${diagnosis.id}`)).body;
      assert.deepEqual([shown.callCount, shown.room, shown.calledAt, shown.queueNumber], [2, '진료실 3', again.body.calledAt, 12]);

      const calls = emittedFor(system.emitted, 'PatientCalled', diagnosis.id, from);
      assert.deepEqual(
        calls.map(({ actor, ...data }) => data),
        [1, 2].map((callCount, i) => ({
          receptionId: diagnosis.receptionId, calledFor: 'DIAGNOSIS', diagnosisId: diagnosis.id, department: 'internal-medicine', queueNumber: 12,
          room: '진료실 3', callCount, calledAt: [first, again][i]!.body.calledAt,
        })),
      );
      assert.equal(calls[0]!.actor.subject, 'dev:doctor');
      assert.deepEqual((await auditOf(system.context, diagnosis.id)).map((row) => row.command), ['diagnosis.register', 'diagnosis.call', 'diagnosis.call']);
    });

    test('no-show: 409 before a call, 200 once called (PatientNoShow goes out), 409 again until the next call clears it', async () => {
      const diagnosis = await registerVisit(system.context, 'internal-medicine', 31);
      const noShow = () => system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/no-show`);
      const early = await noShow();
      assert.equal(early.status, 409);
      assert.match(early.contentType, /^application\/problem\+json/);
      assert.match(String(early.body.detail), /has not been called/);

      assert.equal((await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: { room: '3' } })).status, 200);
      const from = system.emitted.length;
      const marked = await noShow();
      assert.equal(marked.status, 200, JSON.stringify(marked.body));
      assert.deepEqual([marked.body.status, marked.body.callCount, marked.body.room], ['REGISTERED', 1, '3']);
      assert.ok(marked.body.noShowAt >= marked.body.calledAt);
      const [data, ...more] = emittedFor(system.emitted, 'PatientNoShow', diagnosis.id, from);
      assert.deepEqual(more, []);
      const { actor: _actor, ...shown } = data!;
      assert.deepEqual(shown, { receptionId: diagnosis.receptionId, calledFor: 'DIAGNOSIS', diagnosisId: diagnosis.id, department: 'internal-medicine', queueNumber: 31, markedAt: marked.body.noShowAt });

      const twice = await noShow();
      assert.equal(twice.status, 409);
      assert.match(String(twice.body.detail), /already marked as not come/);
      const recalled = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: {} });
      assert.deepEqual([recalled.status, recalled.body.callCount, recalled.body.noShowAt], [200, 2, undefined]);
      assert.equal((await noShow()).status, 200);
    });

    test('a call: 409 on an ended diagnosis, 400 on a bad room or body, 404 on an unknown id; a refusal changes nothing', async () => {
      const diagnosis = await seed(system.context, `P-bad-call-${randomUUID()}`, 'internal-medicine');
      for (const body of [{ room: '' }, { room: '   ' }, { room: 'x'.repeat(41) }, { room: 3 }, { room: '3', floor: 2 }]) {
        const answer = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: body });
        assert.equal(answer.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.contentType, /^application\/problem\+json/);
        const fields = new Set((answer.body.errors as Array<{ field: string; in: string }>).map((e) => `${e.in}:${e.field}`));
        assert.deepEqual([...fields], ['floor' in body ? 'body:floor' : 'body:room'], JSON.stringify(answer.body));
      }
      const noShowWithBody = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/no-show`, { json: { room: '3' } });
      assert.equal(noShowWithBody.status, 400);
      assert.equal((await loadDiagnosis(system.context.database.db, diagnosis.id))?.callCount, 0);
      assert.equal((await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: { room: 'R'.repeat(40) } })).body.room, 'R'.repeat(40));

      assert.equal((await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/complete`, { json: { opinion: 'Common cold' } })).status, 200);
      const ended = await loadDiagnosis(system.context.database.db, diagnosis.id);
      for (const route of ['call', 'no-show']) {
        const answer = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/${route}`, { json: route === 'call' ? { room: '3' } : {} });
        assert.equal(answer.status, 409, `${route}: ${JSON.stringify(answer.body)}`);
        assert.match(String(answer.body.detail), /is COMPLETED/);
      }
      assert.deepEqual(await loadDiagnosis(system.context.database.db, diagnosis.id), ended);
      assert.equal((await system.call('doctor', 'POST', '/diagnoses/2000000000/call', { json: {} })).status, 404);
      assert.equal((await system.call('doctor', 'POST', '/diagnoses/2000000000/no-show')).status, 404);
    });

    test("the department rule: another department's doctor is refused (403) unless breaking the glass, which is audited and counted", async () => {
      const surgical = await registerVisit(system.context, 'surgery', 4);
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/call`, { json: { room: '3' } }), 'surgery');
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/no-show`), 'surgery');
      assert.equal((await loadDiagnosis(system.context.database.db, surgical.id))?.callCount, 0);

      const before = await breakGlassCount(system.context, '/diagnoses/:id/call');
      const broken = await system.call('doctor', 'POST', `/diagnoses/${surgical.id}/call`, { json: { room: '3' }, headers: { 'break-glass': REASON } });
      assert.equal(broken.status, 200, JSON.stringify(broken.body));
      const row = (await auditOf(system.context, surgical.id)).at(-1);
      assert.deepEqual([row?.command, row?.break_glass_reason, (JSON.parse(row!.event_ids) as string[]).length], ['diagnosis.call', REASON, 2]);
      assert.equal(await breakGlassCount(system.context, '/diagnoses/:id/call'), before + 1);
      // The department's own doctor, and admin anywhere.
      assert.equal((await system.call('doctor-surgery', 'POST', `/diagnoses/${surgical.id}/no-show`)).status, 200);
      const recalled = await system.call('admin', 'POST', `/diagnoses/${surgical.id}/call`, { json: {} });
      assert.deepEqual([recalled.status, recalled.body.callCount, recalled.body.room], [200, 2, '3']);
    });

    test('an Idempotency-Key makes a call safe to retry: the same answer, replayed, and one call only', async () => {
      const diagnosis = await registerVisit(system.context, 'internal-medicine', 55);
      const from = system.emitted.length;
      const key = { 'idempotency-key': randomUUID() };
      const first = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: { room: '3' }, headers: key });
      const retried = await system.call('doctor', 'POST', `/diagnoses/${diagnosis.id}/call`, { json: { room: '3' }, headers: key });
      assert.deepEqual([first.status, retried.status], [200, 200]);
      assert.equal(retried.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retried.body, first.body);
      assert.equal((await loadDiagnosis(system.context.database.db, diagnosis.id))?.callCount, 1);
      assert.equal(emittedFor(system.emitted, 'PatientCalled', diagnosis.id, from).length, 1);
    });
  });

  describe(`a doctor whose token names no department (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let system: Awaited<ReturnType<typeof startDiagnosis>>;

    before(async () => {
      issuer = await startDevIssuer();
      // The service reads the departments from a claim the demo tokens do not have.
      system = await startDiagnosis(engine, issuer, { OIDC_DEPARTMENTS_CLAIM: 'hospital.departments' });
    });
    after(async () => {
      await system?.stop();
      await issuer?.close();
    });

    test('sees none and is refused every one (fail closed), unless breaking the glass', async () => {
      const patientId = `P-none-${randomUUID()}`;
      const internal = await seed(system.context, patientId, 'internal-medicine');
      const legacy = await seed(system.context, patientId, undefined);
      const page = await system.call('doctor', 'GET', `/diagnoses?patientId=${patientId}`);
      assert.deepEqual([page.status, page.body.items, page.body.total], [200, [], 0]);
      const refused = await system.call('doctor', 'GET', `/diagnoses/${internal.id}`);
      assertOutsideDepartment(refused, 'internal-medicine');
      assert.match(String(refused.body.detail), /grants no department/);
      assertOutsideDepartment(await system.call('doctor', 'POST', `/diagnoses/${legacy.id}/reject`, { json: { reason: 'x' } }), 'internal-medicine');
      assert.equal((await system.call('doctor', 'GET', `/diagnoses/${internal.id}`, { headers: { 'break-glass': REASON } })).status, 200);
      assert.equal((await auditOf(system.context, internal.id))[0]?.break_glass_reason, REASON);
      assert.equal((await system.call('admin', 'GET', `/diagnoses?patientId=${patientId}`)).body.total, 2);
    });
  });
}
