import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  describeEachProfile,
  describeProduction,
  eventually,
  uniquePatientId,
  useTestSystem,
  visitWithPendingExamination,
  type TestSystem,
} from './helpers.ts';
import { EventStreamReader } from './support/event-stream.ts';

/**
 * The live stream of visit changes (GET /patientManagements/stream) that the console's screens
 * refresh from: through the gateway, on both profiles. Every committed change of a visit's view
 * arrives in order with no patient data; the gateway relays it past its upstream timeout; a
 * replica that stops ends its streams cleanly, and the next stream starts with `ready`.
 */
type Change = { receptionId: number; stage: string; updatedAt: string };

const PATH = '/patientManagements/stream';
/** Short, so the test proves the stream's own proxy client, not the API's, carries the stream. */
const UPSTREAM_TIMEOUT_MS = 3_000;

const readers: EventStreamReader[] = [];
after(() => {
  for (const reader of readers) reader.close();
});

async function follow(system: TestSystem, role: 'receptionist' | 'doctor' | 'examiner' | 'manager', baseUrl = system.system.gatewayUrl): Promise<EventStreamReader> {
  const reader = new EventStreamReader(`${baseUrl}${PATH}`, await system.tokens.tokenFor(role));
  readers.push(reader);
  await reader.open();
  assert.equal(reader.status, 200, `the stream answers ${role} with 200`);
  assert.match(reader.contentType, /^text\/event-stream/);
  await eventually(() => assert.ok(reader.events.some((event) => event.event === 'ready'), 'a `ready` event first'));
  assert.equal(reader.events[0]!.event, 'ready', 'the first event is `ready`');
  return reader;
}

/**
 * The stages a visit went through on `reader`, in order. Every change of the view is an event,
 * and some keep the stage (an examination ordered for a prescription already made), so a stage
 * may repeat: consecutive repeats count once.
 */
const stagesOf = (reader: EventStreamReader, receptionId: number) =>
  reader
    .data<Change>('visit')
    .filter((change) => change.receptionId === receptionId)
    .map((change) => change.stage)
    .filter((stage, index, stages) => index === 0 || stages[index - 1] !== stage);

describeEachProfile((profile) => {
  let running: TestSystem;
  useTestSystem('live-stream', profile, (system) => {
    running = system;
  }, { env: { UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS) } });

  test('every committed change of a visit arrives, in order, with its stage and no patient data', async () => {
    const reader = await follow(running, 'examiner');
    const patientName = `Stream Patient ${uniquePatientId('N')}`;
    const { reception } = await visitWithPendingExamination(running.client, 'CT_HEAD', { patientName, symptom: 'live stream symptom' });
    await eventually(() => assert.deepEqual(stagesOf(reader, reception.id), ['RECEIVED', 'WAITING_FOR_DOCTOR', 'IN_EXAMINATION']), {
      message: 'the stages of the visit, in order',
    });
    for (const change of reader.data<Change>('visit')) {
      assert.deepEqual(Object.keys(change).sort(), ['receptionId', 'stage', 'updatedAt']);
      assert.ok(!Number.isNaN(Date.parse(change.updatedAt)));
    }
    assert.ok(!reader.raw.includes(patientName), 'no patient name in the stream');
    assert.ok(!reader.raw.includes('live stream symptom'), 'no clinical text in the stream');
  });

  test("the gateway relays a quiet stream past its upstream timeout, and every staff role may follow it", async () => {
    const readersByRole = await Promise.all((['receptionist', 'doctor', 'examiner', 'manager'] as const).map((role) => follow(running, role)));
    // Quiet for longer than UPSTREAM_TIMEOUT_MS: the API's proxy client would have cut it by now.
    await new Promise((resolve) => setTimeout(resolve, UPSTREAM_TIMEOUT_MS + 2_000));
    const { reception } = await visitWithPendingExamination(running.client, 'MRI_BRAIN');
    for (const reader of readersByRole) {
      await eventually(() => assert.ok(stagesOf(reader, reception.id).includes('IN_EXAMINATION'), 'the change arrived after the quiet'));
    }
    const refused = new EventStreamReader(`${running.system.gatewayUrl}${PATH}`, undefined);
    readers.push(refused);
    await refused.open();
    assert.equal(refused.status, 401, 'no token, no stream');
  });

  test('HEAD answers the headers of a stream and holds none open', async () => {
    const token = await running.tokens.tokenFor('manager');
    const openStreams = async () => {
      const text = await (await fetch(`${running.system.services['patient-management'].url}/metrics`)).text();
      return Number(/^medical_live_streams\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    };
    const before = await openStreams();
    assert.ok(Number.isInteger(before), 'the gauge of open streams');
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${running.system.gatewayUrl}${PATH}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) });
      assert.equal(answer.status, 200);
      assert.match(answer.headers.get('content-type') ?? '', /^text\/event-stream/);
    }
    assert.equal(await openStreams(), before, 'no stream left open by a HEAD');
  });

  test('a patient-management restart ends its streams cleanly; the next stream starts with `ready` and carries on', async () => {
    const reader = await follow(running, 'manager');
    // `restart` stops the process gracefully and fails unless it exits 0: an open stream must not hold the shutdown up.
    await running.system.restart('patient-management');
    const ended = await Promise.race([reader.ended, new Promise((resolve) => setTimeout(() => resolve('open'), 10_000))]);
    assert.notEqual(ended, 'open', 'the stream ended when its replica stopped');
    const again = await follow(running, 'manager');
    const { reception } = await visitWithPendingExamination(running.client, 'CHEST_XRAY');
    await eventually(() => assert.ok(stagesOf(again, reception.id).includes('IN_EXAMINATION')));
  });
});

describeProduction('live stream across patient-management replicas', () => {
  let running: TestSystem;
  useTestSystem('live-stream-replicas', 'production', (system) => {
    running = system;
  }, { replicas: { 'patient-management': 2 } });

  test('a change applied by either replica reaches the streams of both (PostgreSQL NOTIFY)', async () => {
    const [first, second] = running.system.replicasOf('patient-management');
    const streams = [await follow(running, 'manager', first!.url), await follow(running, 'manager', second!.url)];
    // Visits spread over the topic's partitions, so over both replicas' consumers.
    const visits = await Promise.all([1, 2, 3, 4].map((n) => visitWithPendingExamination(running.client, 'CT_HEAD')));
    for (const reader of streams) {
      for (const { reception } of visits) {
        await eventually(() => assert.deepEqual(stagesOf(reader, reception.id), ['RECEIVED', 'WAITING_FOR_DOCTOR', 'IN_EXAMINATION']));
      }
    }
  });
});
