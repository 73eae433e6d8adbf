import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { SERVICE_NAMES, type Env, type ServiceName } from '../../scripts/lib/processes.ts';
import {
  describeEachProfile,
  eventually,
  patience,
  useTestSystem,
  waitForQuiescence,
  waitForVisit,
  type TestSystem,
} from './helpers.ts';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.ts';
import { driveVisit, metricSum } from './support/visits.ts';

/**
 * Watching the system (issue 6): after one full visit through the gateway every service's
 * /metrics shows its counters moved, the visit is one trace whose spans come from all six
 * services (exported over OTLP to a receiver this test runs, in http/json on the embedded
 * profile and http/protobuf on the production one), and the services' log lines carry trace
 * ids but never the patient's name or clinical texts.
 */

type Snapshot = Record<ServiceName, Record<string, number>>;

/** What one visit must move on each service: [metric, labels] pairs, read as sums. */
const expectedMovements: Record<ServiceName, Array<[string, Record<string, string>]>> = {
  gateway: [
    ['http_request_duration_seconds_count', { method: 'POST', route: '/receptions', status_code: '201' }],
    ['http_request_duration_seconds_count', { method: 'POST', route: '/diagnoses/*', status_code: '201' }],
    ['http_request_duration_seconds_count', { method: 'POST', route: '/examinations/*', status_code: '200' }],
  ],
  reception: [
    ['http_request_duration_seconds_count', { method: 'POST', route: '/receptions', status_code: '201' }],
    ['http_request_duration_seconds_count', { method: 'POST', route: '/receptions/:id/confirm', status_code: '200' }],
    ['medical_events_published_total', { type: 'ReceptionCompleted' }],
    ['medical_events_published_total', { type: 'ReceptionConfirmed' }],
    ['medical_events_consumed_total', { type: 'DiagnosisCompleted' }],
  ],
  diagnosis: [
    ['http_request_duration_seconds_count', { method: 'POST', route: '/diagnoses/:id/prescriptions', status_code: '201' }],
    ['http_request_duration_seconds_count', { method: 'POST', route: '/diagnoses/:id/complete', status_code: '200' }],
    ['medical_events_consumed_total', { type: 'ReceptionCompleted' }],
    ['medical_events_consumed_total', { type: 'ExaminationRequested' }],
    ['medical_events_consumed_total', { type: 'ExaminationPerformed' }],
    ['medical_events_published_total', { type: 'DiagnosisRegistered' }],
    ['medical_events_published_total', { type: 'ExaminationPrescribed' }],
    ['medical_events_published_total', { type: 'DiagnosisCompleted' }],
  ],
  examination: [
    ['http_request_duration_seconds_count', { method: 'POST', route: '/examinations/:id/perform', status_code: '200' }],
    ['medical_events_consumed_total', { type: 'ExaminationPrescribed' }],
    ['medical_events_published_total', { type: 'ExaminationRequested' }],
    ['medical_events_published_total', { type: 'ExaminationPerformed' }],
  ],
  'patient-management': [
    ['http_request_duration_seconds_count', { method: 'GET', route: '/patientManagements/:receptionId' }],
    ...['ReceptionCompleted', 'DiagnosisRegistered', 'ExaminationPrescribed', 'ExaminationRequested', 'ExaminationPerformed', 'DiagnosisCompleted', 'ReceptionConfirmed'].map(
      (type): [string, Record<string, string>] => ['medical_events_consumed_total', { type }],
    ),
    ...['RECEIVED', 'WAITING_FOR_DOCTOR', 'IN_EXAMINATION', 'EXAMINATIONS_DONE', 'DIAGNOSIS_COMPLETED', 'CONFIRMED'].map(
      (stage): [string, Record<string, string>] => ['medical_visit_stage_seconds_count', { stage }],
    ),
  ],
  interop: ['ReceptionCompleted', 'ExaminationPrescribed', 'ExaminationRequested', 'ExaminationPerformed', 'DiagnosisCompleted', 'ReceptionConfirmed'].map(
    (type): [string, Record<string, string>] => ['medical_events_consumed_total', { type }],
  ),
};

const key = (name: string, labels: Record<string, string>) => `${name}${JSON.stringify(labels)}`;

async function snapshot(running: TestSystem): Promise<Snapshot> {
  const result = {} as Snapshot;
  for (const service of SERVICE_NAMES) {
    result[service] = {};
    for (const [name, labels] of expectedMovements[service]) {
      result[service][key(name, labels)] = await metricSum(running.system.services[service].url, name, labels);
    }
  }
  return result;
}

async function metricsText(running: TestSystem, service: ServiceName): Promise<string> {
  const response = await fetch(`${running.system.services[service].url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200, `${service} /metrics`);
  return response.text();
}

/** The sample lines of one metric family (with or without labels). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describeEachProfile((profile) => {
  const protocol = profile === 'embedded' ? 'http/json' : 'http/protobuf';
  const receiver = new OtlpReceiver();
  // Filled in once the receiver listens, before the system starts (useTestSystem reads it then).
  const env: Env = { LOG_LEVEL: 'info', OTEL_EXPORTER_OTLP_PROTOCOL: protocol };
  before(async () => {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = await receiver.start();
  });
  after(() => receiver.stop());

  let running: TestSystem;
  let before_: Snapshot;
  let receptionId: number;
  const label = `observed-${randomBytes(4).toString('hex')}`;
  // What driveVisit sends (commandBodies) that is personal: it must never reach a log.
  const personal = { name: `Patient ${label}`, result: `result of ${label} exam 0`, opinion: `opinion on ${label}` };
  const commands: Record<string, string> = {};

  useTestSystem(
    'observability',
    profile,
    async (system) => {
      running = system;
      before_ = await snapshot(system);
      const visit = await driveVisit(system.client, { label, examinations: ['perform'], outcome: 'complete' });
      receptionId = visit.receptionId;
      await waitForVisit(system.client, visit.receptionId, (v) => v.stage === 'CONFIRMED');
      await waitForQuiescence(system);
      commands.prescribe = `/diagnoses/${visit.diagnosisId}/prescriptions`;
      commands.perform = `/examinations/${visit.prescriptions[0]!.examinationId}/perform`;
      commands.complete = `/diagnoses/${visit.diagnosisId}/complete`;
      commands.confirm = `/receptions/${visit.receptionId}/confirm`;
    },
    { env },
  );

  test("after one visit every service's counters have moved", async () => {
    const after_ = await snapshot(running);
    const unmoved: string[] = [];
    for (const service of SERVICE_NAMES) {
      for (const [name, labels] of expectedMovements[service]) {
        const k = key(name, labels);
        if (!(after_[service][k]! > before_[service][k]!)) unmoved.push(`${service}: ${k} stayed at ${after_[service][k]}`);
      }
    }
    assert.deepEqual(unmoved, [], 'counters a visit should move');
  });

  test('every service serves the process metrics, and the backlog gauges read zero once the visit is done', async () => {
    for (const service of SERVICE_NAMES) {
      const text = await metricsText(running, service);
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds']) {
        assert.equal(samples(text, name).length, 1, `${service} serves ${name}`);
      }
      // The route label is the route pattern, never a raw URL with its ids.
      for (const line of samples(text, 'http_request_duration_seconds_count')) {
        assert.doesNotMatch(line, /route="[^"]*\/\d+/, `${service}: a route label holds an id: ${line}`);
      }
      if (service === 'gateway') continue;
      const pending = samples(text, 'medical_outbox_pending');
      assert.equal(pending.length, 1, `${service} serves medical_outbox_pending`);
      assert.match(pending[0]!, / 0$/, `${service}: nothing left in the outbox`);
      const lag = samples(text, 'medical_consumer_lag');
      assert.ok(lag.length >= 1, `${service} serves medical_consumer_lag per partition: ${lag.join(' | ')}`);
      for (const line of lag) {
        assert.match(line, /partition="\d+"/, `${service}: lag per partition`);
        assert.match(line, / 0$/, `${service}: caught up: ${line}`);
      }
    }
  });

  test(`one visit is one trace with spans from all six services (OTLP ${protocol})`, async () => {
    const id = String(receptionId);
    const visitTrace = await eventually(
      () => {
        const visitSpans = receiver.spans.filter((s) => s.attributes['medical.reception_id'] === id);
        const traceIds = [...new Set(visitSpans.map((s) => s.traceId))];
        assert.equal(traceIds.length, 1, `the spans about visit ${id} should share one trace; they are in ${traceIds.length}`);
        const spans = receiver.trace(traceIds[0]!);
        const services = [...new Set(spans.map((s) => s.service))].sort();
        assert.deepEqual(services, [...SERVICE_NAMES].sort(), 'services with spans in the visit trace');
        // The saga's last step reached the read model: every event of the visit is in there.
        const processed = spans.filter((s) => s.name === 'process ReceptionConfirmed' && s.service === 'patient-management');
        assert.equal(processed.length, 1, 'patient-management processed ReceptionConfirmed in the visit trace');
        return spans;
      },
      { timeoutMs: patience(20_000), intervalMs: 200, message: 'the visit trace' },
    );
    assert.deepEqual(receiver.rejected, [], 'export requests the receiver could not decode');
    assert.deepEqual([...receiver.contentTypes], [protocol === 'http/json' ? 'application/json' : 'application/x-protobuf'], 'the encoding used');

    const byId = new Map(visitTrace.map((s) => [s.spanId, s]));
    const roots = visitTrace.filter((s) => !s.parentSpanId);
    assert.equal(roots.length, 1, `one root span: ${roots.map(spanLabel).join(', ')}`);
    assert.equal(roots[0]!.service, 'gateway', 'the visit starts at the gateway');
    assert.equal(roots[0]!.name, 'POST /receptions', 'with the registration');
    await eventually(
      () => {
        const orphans = receiver.trace(roots[0]!.traceId).filter((s) => s.parentSpanId && !receiver.spans.some((p) => p.spanId === s.parentSpanId));
        assert.deepEqual(orphans.map(spanLabel), [], 'spans whose parent never arrived');
      },
      { timeoutMs: patience(10_000), intervalMs: 200, message: 'a complete trace' },
    );

    // The causal chain of the registration: gateway → reception → the published event → diagnosis.
    const chain = (span: ReceivedSpan): string[] => {
      const parent = byId.get(span.parentSpanId);
      return parent ? [...chain(parent), `${span.service}:${span.name}`] : [`${span.service}:${span.name}`];
    };
    const registered = visitTrace.find((s) => s.service === 'diagnosis' && s.name === 'process ReceptionCompleted');
    assert.ok(registered, 'diagnosis processed ReceptionCompleted in the visit trace');
    const path = chain(registered);
    for (const step of ['gateway:POST /receptions', 'reception:POST /receptions', 'reception:db.transaction', 'reception:publish ReceptionCompleted']) {
      assert.ok(path.includes(step), `the chain ${path.join(' → ')} should pass through ${step}`);
    }

    // Each later command has a request trace of its own, which the visit trace links to. Each
    // process exports on its own schedule (a batch a second): the gateway's span of the last
    // command may arrive after the read model's, so this waits for them too.
    await eventually(
      () => {
        for (const [command, url] of Object.entries(commands)) {
          const requestSpan = receiver.spans.find((s) => s.service === 'gateway' && s.kind === 2 && s.attributes['url.path'] === url);
          assert.ok(requestSpan, `the gateway's span for ${command} (${url})`);
          assert.notEqual(requestSpan.traceId, roots[0]!.traceId, `${command} has a trace of its own`);
          const joined = receiver.trace(roots[0]!.traceId).filter((s) => s.name.startsWith('emit ') && s.links.some((l) => l.traceId === requestSpan.traceId));
          assert.equal(joined.length, 1, `the visit trace links ${command}'s request trace once`);
        }
      },
      { timeoutMs: patience(10_000), intervalMs: 200, message: "the commands' own traces, linked from the visit trace" },
    );
  });

  test('log lines carry trace, request and event ids, and no personal data', async () => {
    const lines: Array<Record<string, unknown>> = [];
    for (const service of SERVICE_NAMES) {
      const output = running.system.services[service].output();
      for (const [what, text] of Object.entries(personal)) assert.ok(!output.includes(text), `${service}'s log holds the ${what}: ${text}`);
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
    }
    const traceId = receiver.spans.find((s) => s.attributes['medical.reception_id'] === String(receptionId))?.traceId;
    assert.ok(traceId, 'the visit trace');
    const requestLine = lines.find((l) => l.service === 'reception' && l.trace_id === traceId && typeof l.reqId === 'string');
    assert.ok(requestLine, "a line of reception's request carries its request id and the visit's trace id");
    const eventLine = lines.find((l) => l.service === 'diagnosis' && l.msg === 'event applied' && l.eventType === 'ReceptionCompleted' && l.receptionId === String(receptionId));
    assert.ok(eventLine, 'diagnosis logs the event it applied');
    assert.equal(typeof eventLine.eventId, 'string', 'with its event id');
    assert.equal(eventLine.trace_id, traceId, "and the visit's trace id");
  });
});

function spanLabel(span: ReceivedSpan): string {
  return `${span.service}:${span.name}`;
}
