import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { validateAccessRecord, type AccessRecord, type Role } from '@medical/contracts';
import { AccessRecordPublisher } from '../src/access/access-record-publisher.ts';
import { startService, type RunningService } from '../src/service/service.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import type { TransportMessage } from '../src/transport/transport.ts';
import { platformTables } from '../src/service/platform-tables.ts';
import { receptionService } from '../../../services/reception/src/service.ts';
import { defer, silentLogger, startDevIssuer, tempDir, waitFor, type DevIssuer } from './helpers.ts';

/**
 * The access log's writing side, on a real service (reception, embedded profile): every answer
 * of an API route is recorded before it leaves, with who asked, the route's pattern, the ids the
 * request named and the visits the answer showed; records of concurrent answers share commits;
 * a read whose record cannot be written is not answered. And the gateway's publisher, which
 * holds refusal records while the transport is away.
 */

type Started = { service: RunningService; issuer: DevIssuer; records: AccessRecord[] };

async function startReception(t: TestContext): Promise<Started> {
  const issuer = await startDevIssuer(t);
  const service = await startService(receptionService, { DATA_DIR: tempDir(t, 'access-log-'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...issuer.env });
  defer(t, () => service.stop());
  const records: AccessRecord[] = [];
  const subscription = await service.transport.subscribe({
    group: 'access-log-test',
    topic: service.context.config.accessLogTopic,
    handle: async (delivery) => {
      const checked = validateAccessRecord(JSON.parse(delivery.value));
      assert.ok(checked.ok, `a valid access record: ${delivery.value}`);
      records.push(checked.record);
    },
  });
  defer(t, () => subscription.stop());
  return { service, issuer, records };
}

async function call(started: Started, method: string, path: string, as?: Role, body?: unknown): Promise<{ status: number; requestId: string; body: any }> {
  const headers: Record<string, string> = as ? await started.issuer.authorization(as) : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${started.service.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, requestId: response.headers.get('x-request-id')!, body: await response.json().catch(() => undefined) };
}

async function recordOf(started: Started, requestId: string): Promise<AccessRecord> {
  return waitFor(`the access record of request ${requestId}`, () => started.records.find((record) => record.requestId === requestId));
}

async function metric(service: RunningService, name: string): Promise<number> {
  const values = await service.context.metrics.registry.getSingleMetric(name)?.get();
  return (values?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

describe('access records of a service', () => {
  test('a read, a command and each kind of refusal: who, the route pattern, what the request named, what the answer showed', async (t) => {
    const started = await startReception(t);
    // The registry's answers name the patients they show, by number.
    const patient = await call(started, 'POST', '/patients', 'receptionist', { name: '김민지', birthDate: '1987-04-12', sex: 'female' });
    assert.equal(patient.status, 201);
    const patientId = patient.body.patientId as string;
    const registration = await recordOf(started, patient.requestId);
    assert.deepEqual([registration.action, registration.route, registration.answered], ['command', '/patients', [{ patientId }]]);
    const found = await call(started, 'GET', `/patients?q=${encodeURIComponent('ㄱㅁㅈ')}`, 'receptionist');
    assert.deepEqual(found.body.items.map((p: { patientId: string }) => p.patientId), [patientId]);
    const search = await recordOf(started, found.requestId);
    assert.deepEqual([search.action, search.route, search.resources, search.answered], ['read', '/patients', {}, [{ patientId }]]);
    // A look-alike refused: the candidates it shows are named as read.
    const lookalike = await call(started, 'POST', '/patients', 'receptionist', { name: '김 민지', birthDate: '1987-04-12', sex: 'female' });
    assert.equal(lookalike.status, 409);
    assert.deepEqual((await recordOf(started, lookalike.requestId)).answered, [{ patientId }]);

    const created = await call(started, 'POST', '/receptions', 'receptionist', { patientId });
    assert.equal(created.status, 201);
    const receptionId = created.body.id as number;

    const command = await recordOf(started, created.requestId);
    assert.equal(command.service, 'reception');
    assert.deepEqual(
      { action: command.action, method: command.method, route: command.route, status: command.status, answered: command.answered },
      { action: 'command', method: 'POST', route: '/receptions', status: 201, answered: [{ receptionId, patientId }] },
    );
    assert.deepEqual(command.actor, { subject: 'dev:receptionist', name: 'Demo Receptionist', role: 'receptionist' });

    const listed = await call(started, 'GET', `/receptions?patientId=${patientId}`, 'admin');
    const list = await recordOf(started, listed.requestId);
    assert.deepEqual([list.action, list.route, list.resources, list.answered], ['read', '/receptions', { patientId }, [{ receptionId, patientId }]]);
    assert.equal(list.actor.role, 'admin');

    const missing = await recordOf(started, (await call(started, 'GET', '/receptions/999999', 'receptionist')).requestId);
    assert.deepEqual([missing.action, missing.status, missing.route, missing.resources, missing.answered], ['read', 404, '/receptions/:id', { receptionId: 999999 }, []]);

    // The manager holds a valid token without the route's role: named, in the role they hold.
    const forbidden = await recordOf(started, (await call(started, 'GET', `/receptions/${receptionId}`, 'manager')).requestId);
    assert.deepEqual([forbidden.action, forbidden.status, forbidden.actor.subject, forbidden.actor.role, forbidden.resources, forbidden.answered], ['refused', 403, 'dev:manager', 'manager', { receptionId }, []]);

    const anonymous = await recordOf(started, (await call(started, 'GET', `/receptions/${receptionId}`)).requestId);
    assert.deepEqual([anonymous.action, anonymous.status, anonymous.actor.role, anonymous.resources], ['refused', 401, 'anonymous', { receptionId }]);

    // Probes, scrapes and the API document concern no patient: not recorded.
    const before = await metric(started.service, 'medical_access_records_total');
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) assert.equal((await fetch(`${started.service.url}${path}`)).status, 200, path);
    assert.equal(await metric(started.service, 'medical_access_records_total'), before);
  });

  test('the records of answers given at the same time share commits (group commit)', async (t) => {
    const started = await startReception(t);
    const [records, commits] = [await metric(started.service, 'medical_access_records_total'), await metric(started.service, 'medical_access_record_commits_total')];
    const reads = 60;
    const answers = await Promise.all(Array.from({ length: reads }, () => call(started, 'GET', '/receptions', 'receptionist')));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    assert.equal((await metric(started.service, 'medical_access_records_total')) - records, reads);
    const used = (await metric(started.service, 'medical_access_record_commits_total')) - commits;
    assert.ok(used >= 1 && used < reads, `${reads} records took ${used} commits`);
    await waitFor('every record published', () => started.records.length >= reads);
  });

  test('a read whose record cannot be written is not answered (503); a refusal is answered as ever', async (t) => {
    const started = await startReception(t);
    assert.equal((await call(started, 'GET', '/receptions', 'receptionist')).status, 200);
    // The outbox gone behind the service's back: no record can be written.
    await sql`drop table outbox`.execute(platformTables(started.service.context.database.db));
    const read = await call(started, 'GET', '/receptions', 'receptionist');
    assert.equal(read.status, 503);
    assert.equal(read.body.type, 'urn:medical:problem:service-unavailable');
    assert.match(read.body.detail, /could not be logged/);
    assert.equal((await call(started, 'GET', '/receptions')).status, 401);
  });
});

describe("the gateway's publisher of refusal records", () => {
  const record = (n: number): AccessRecord => ({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    at: new Date().toISOString(),
    service: 'gateway',
    actor: { subject: 'anonymous', role: 'anonymous' },
    action: 'refused',
    method: 'GET',
    route: '/receptions/:id',
    status: 401,
    resources: { receptionId: n },
    answered: [],
    requestId: `r-${n}`,
  });

  test('holds records while the transport refuses them, and sends each once it takes them', async (t) => {
    const sent: TransportMessage[] = [];
    let failures = 2;
    const transport = {
      async publish(messages: TransportMessage[]) {
        if (failures-- > 0) throw new Error('broker unavailable');
        sent.push(...messages);
      },
    };
    const publisher = new AccessRecordPublisher({ transport: Promise.resolve(transport), topic: 'medical.access-log', logger: silentLogger, metrics: createMetrics('gateway'), retryBaseDelayMs: 5 });
    defer(t, () => publisher.close(100));
    for (let n = 1; n <= 5; n++) publisher.publish(record(n));
    await waitFor('the records sent once the transport is back', () => sent.length >= 5);
    assert.deepEqual(
      sent.map((m) => [m.topic, m.key, (JSON.parse(m.value) as AccessRecord).requestId]),
      [1, 2, 3, 4, 5].map((n) => ['medical.access-log', record(n).id, `r-${n}`]),
    );
  });

  test('past its queue, records are counted as dropped, not held without bound', async (t) => {
    const metrics = createMetrics('gateway');
    const never = new Promise<never>(() => undefined);
    const publisher = new AccessRecordPublisher({ transport: never, topic: 'medical.access-log', logger: silentLogger, metrics, maxQueued: 3 });
    defer(t, () => publisher.close(10));
    for (let n = 1; n <= 5; n++) publisher.publish(record(n));
    const dropped = await metrics.registry.getSingleMetric('medical_access_records_dropped_total')!.get();
    assert.equal(dropped.values[0]!.value, 2);
    const queued = await metrics.registry.getSingleMetric('medical_access_records_queued')!.get();
    assert.equal(queued.values[0]!.value, 3);
  });
});
