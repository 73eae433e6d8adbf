import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'fhir-kit-client';
import { freePort } from '../../scripts/lib/processes.ts';
import { validateR4 } from '../../services/interop/test/r4-validator.ts';
import {
  cancelReception,
  complete,
  confirm,
  describeEachProfile,
  eventually,
  ok,
  patience,
  perform,
  prescribe,
  registerPatient,
  registerVisit,
  reject,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForReception,
  type TestSystem,
} from './helpers.ts';
import { InterfaceEngine, Laboratory, laboratoryResult, sendRawFrame } from './support/hl7-peers.ts';
import { RestHookReceiver } from './support/rest-hook-receiver.ts';

/**
 * The hospital's other systems through the gateway (issue 22), on both profiles: a system signs in
 * with OAuth 2 client credentials, reads and searches the FHIR R4 resources of a finished, a
 * rejected and a cancelled visit with an independent FHIR client (fhir-kit-client), paging
 * included, each resource valid against the R4 definitions (@medplum/core's validator); its
 * subscription's rest-hook receiver gets the notifications, those of changes made while it was
 * down included. An independent HL7 v2 library plays the interface engine (node-hl7-server takes
 * the ADT, ORM and ORU of the visits, and NAKs some) and the laboratory (node-hl7-client sends the
 * ORU^R01 that performs an examination, and malformed ones that change nothing).
 */

type Resource = { resourceType: string; id: string; status?: string; [key: string]: unknown };
type Bundle = Resource & { total: number; link: { relation: string; url: string }[]; entry?: { fullUrl: string; resource: Resource; search: { mode: string } }[] };
type OperationOutcome = { resourceType: 'OperationOutcome'; issue: { severity: string; code: string; diagnostics: string; expression?: string[] }[] };

const DEMO_CLIENT = 'demo-integration';

/** A token of the demo system client, by the client-credentials grant (RFC 6749 §4.4), for `scope` or every scope it may ask for. */
async function systemToken(gatewayUrl: string, scope?: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const response = await fetch(`${gatewayUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${DEMO_CLIENT}:demo`).toString('base64')}` },
    body: form,
  });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { access_token: string }).access_token;
}

function assertValid(resource: Resource): void {
  const { errors } = validateR4(resource);
  assert.deepEqual(errors, [], `${resource.resourceType}/${resource.id} should be valid R4`);
}

/** Every resource of a bundle valid, and the bundle itself. */
function assertValidBundle(bundle: Bundle): void {
  assertValid(bundle);
  for (const entry of bundle.entry ?? []) assertValid(entry.resource);
}

async function fhirFetch(gatewayUrl: string, token: string | undefined, path: string, init: RequestInit = {}): Promise<{ status: number; type: string; body: any }> {
  const response = await fetch(`${gatewayUrl}/fhir/R4${path}`, {
    ...init,
    headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
  });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', body: text === '' ? undefined : JSON.parse(text) };
}

function assertOutcome(reply: { status: number; type: string; body: any }, status: number, code: string, pattern?: RegExp): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.match(reply.type, /^application\/fhir\+json/);
  const outcome = reply.body as OperationOutcome;
  assert.equal(outcome.resourceType, 'OperationOutcome');
  assert.equal(outcome.issue[0]!.code, code);
  if (pattern) assert.match(outcome.issue[0]!.diagnostics, pattern);
  assertValid(outcome as unknown as Resource);
}

describeEachProfile((profile) => {
  let running: TestSystem;
  const receiver = new RestHookReceiver();
  const engine = new InterfaceEngine();
  let laboratory: Laboratory;
  // Retries a second apart at most, so a subscriber back from its downtime is caught up within the test.
  const env: Record<string, string> = { DELIVERY_RETRY_BASE_MS: '100', DELIVERY_RETRY_MAX_MS: '1000', DELIVERY_POLL_INTERVAL_MS: '100' };
  // The peers first, on ports the system is then told of (its before hook runs after this one).
  before(async () => {
    await receiver.start();
    const enginePort = await freePort();
    await engine.start(enginePort);
    env.HL7_OUTBOUND_ADDRESS = `127.0.0.1:${enginePort}`;
    env.HL7_LISTEN_PORT = String(await freePort());
  });
  after(async () => {
    await laboratory?.close();
    await engine.stop();
    await receiver.stop();
  });
  useTestSystem('interop', profile, (system) => {
    running = system;
    laboratory = new Laboratory(Number(env.HL7_LISTEN_PORT));
  }, { env });

  let token: string;
  let fhir: Client;
  const visits = { finished: 0, rejected: 0, cancelled: 0 };
  let patientId: string;
  let prescriptions: { finished: string; rejected: string };
  let examinations: { finished: number; rejected: number };
  let subscriptions: { encounters: string; tasks: string };

  test('a system signs in with client credentials and subscribes to finished encounters and completed tasks', async () => {
    token = await systemToken(running.system.gatewayUrl);
    fhir = new Client({ baseUrl: `${running.system.gatewayUrl}/fhir/R4`, bearerToken: token });
    const metadata = (await fhir.capabilityStatement()) as unknown as Resource;
    assert.equal(metadata.resourceType, 'CapabilityStatement');
    assertValid(metadata);
    const subscribe = async (criteria: string) => {
      const reply = await fhirFetch(running.system.gatewayUrl, token, '/Subscription', {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Subscription',
          status: 'requested',
          reason: 'The EHR follows the outpatient visits',
          criteria,
          channel: { type: 'rest-hook', endpoint: receiver.url, payload: 'application/fhir+json', header: ['Authorization: Bearer receiver-secret'] },
        }),
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      assert.equal(reply.body.status, 'active');
      assert.deepEqual(reply.body.channel.header, ['Authorization: (kept, not shown)'], 'the header\'s secret is not read back');
      assertValid(reply.body);
      return reply.body.id as string;
    };
    subscriptions = { encounters: await subscribe('Encounter?status=finished'), tasks: await subscribe('Task?status=completed') };
  });

  test('three visits through the gateway: one finished, one rejected, one cancelled', async () => {
    const client = running.client;
    patientId = await registerPatient(client, { name: '김민지', birthDate: '1990-04-01', sex: 'female' });
    const finished = await registerVisit(client, { patientId, department: 'internal-medicine' });
    const rejected = await registerVisit(client, { patientId, department: 'internal-medicine' });
    const cancelled = await registerVisit(client, { patientId, department: 'internal-medicine' });
    Object.assign(visits, { finished: finished.id, rejected: rejected.id, cancelled: cancelled.id });
    await cancelReception(client, cancelled.id, 'The patient went home');

    const finishedDiagnosis = await waitForDiagnosis(client, finished.id);
    const finishedOrder = (await prescribe(client, finishedDiagnosis.id, 'CHEST_XRAY')).prescription.prescriptionId;
    const finishedExamination = await waitForExamination(client, finishedDiagnosis.id, finishedOrder);
    await perform(client, finishedExamination.id, 'No active lung lesion');
    await waitForDiagnosis(client, finished.id, (d) => d.status === 'EXAMINATION_DONE');
    await complete(client, finishedDiagnosis.id, 'Common cold; rest and fluids');
    await waitForReception(client, finished.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    await confirm(client, finished.id);

    const rejectedDiagnosis = await waitForDiagnosis(client, rejected.id);
    const rejectedOrder = (await prescribe(client, rejectedDiagnosis.id, 'ABDOMEN_US')).prescription.prescriptionId;
    const rejectedExamination = await waitForExamination(client, rejectedDiagnosis.id, rejectedOrder);
    await reject(client, rejectedDiagnosis.id, 'Referred to another hospital');
    prescriptions = { finished: finishedOrder, rejected: rejectedOrder };
    examinations = { finished: finishedExamination.id, rejected: rejectedExamination.id };
  });

  test('FHIR shows each visit as an Encounter in its status, read by id with an independent client, each resource valid R4', async () => {
    const expected = { [visits.finished]: 'finished', [visits.rejected]: 'finished', [visits.cancelled]: 'cancelled' };
    await eventually(
      async () => {
        for (const [id, status] of Object.entries(expected)) {
          const encounter = (await fhir.read({ resourceType: 'Encounter', id })) as unknown as Resource;
          assert.equal(encounter.status, status, `Encounter/${id}`);
        }
        const task = (await fhir.read({ resourceType: 'Task', id: String(examinations.rejected) })) as unknown as Resource;
        assert.equal(task.status, 'cancelled', 'the rejected visit\'s examination, cancelled by the compensation');
      },
      { timeoutMs: patience(20_000), message: 'the FHIR projection to catch up' },
    );
    const patient = (await fhir.read({ resourceType: 'Patient', id: patientId })) as unknown as Resource;
    assert.equal(patient.birthDate, '1990-04-01');
    assert.equal(patient.gender, 'female', 'the registry\'s sex, carried by the registration\'s event');
    assertValid(patient);
    for (const id of Object.keys(expected)) assertValid((await fhir.read({ resourceType: 'Encounter', id })) as unknown as Resource);
    const request = (await fhir.read({ resourceType: 'ServiceRequest', id: prescriptions.finished })) as unknown as Resource;
    assert.equal(request.status, 'completed');
    assertValid(request);
    const task = (await fhir.read({ resourceType: 'Task', id: String(examinations.finished) })) as unknown as Resource & { focus: { reference: string } };
    assert.equal(task.status, 'completed');
    assert.equal(task.focus.reference, `ServiceRequest/${prescriptions.finished}`);
    assertValid(task);
    const report = (await fhir.read({ resourceType: 'DiagnosticReport', id: String(examinations.finished) })) as unknown as Resource & { conclusion: string };
    assert.equal(report.conclusion, 'No active lung lesion');
    assertValid(report);
    assertValid((await fhir.read({ resourceType: 'Observation', id: String(examinations.finished) })) as unknown as Resource);
    assertValid((await fhir.read({ resourceType: 'ServiceRequest', id: prescriptions.rejected })) as unknown as Resource);
  });

  test('searches page with self and next links until the last page, and _include brings what the matches point to', async () => {
    const seen: string[] = [];
    let page = (await fhir.search({ resourceType: 'Encounter', searchParams: { patient: `Patient/${patientId}`, _count: 1 } })) as unknown as Bundle;
    assert.equal(page.total, 3);
    for (;;) {
      assertValidBundle(page);
      assert.ok(page.link.some((l) => l.relation === 'self'));
      seen.push(...(page.entry ?? []).map((e) => e.resource.id));
      const next = (await fhir.nextPage({ bundle: page as never })) as unknown as Bundle | undefined;
      if (next === undefined) break;
      page = next;
    }
    assert.deepEqual(seen.sort(), [visits.finished, visits.rejected, visits.cancelled].map(String).sort(), 'every encounter once over the pages');

    const finishedOnes = (await fhir.search({ resourceType: 'Encounter', searchParams: { patient: patientId, status: 'finished', _include: 'Encounter:patient' } })) as unknown as Bundle;
    assertValidBundle(finishedOnes);
    assert.deepEqual(finishedOnes.entry!.filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort(), [visits.finished, visits.rejected].map(String).sort());
    assert.deepEqual(finishedOnes.entry!.filter((e) => e.search.mode === 'include').map((e) => `${e.resource.resourceType}/${e.resource.id}`), [`Patient/${patientId}`]);

    const today = (await fhir.search({ resourceType: 'Encounter', searchParams: { patient: patientId, date: `ge${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}` } })) as unknown as Bundle;
    assert.equal(today.total, 3, 'registered since yesterday');
    const future = (await fhir.search({ resourceType: 'Encounter', searchParams: { patient: patientId, date: `gt${new Date(Date.now() + 60_000).toISOString()}` } })) as unknown as Bundle;
    assert.equal(future.total, 0);

    const orders = (await fhir.search({ resourceType: 'ServiceRequest', searchParams: { encounter: `Encounter/${visits.finished}`, _include: 'ServiceRequest:encounter' } })) as unknown as Bundle;
    assertValidBundle(orders);
    assert.deepEqual(orders.entry!.map((e) => `${e.search.mode} ${e.resource.resourceType}/${e.resource.id}`), [`match ServiceRequest/${prescriptions.finished}`, `include Encounter/${visits.finished}`]);

    const tasks = (await fhir.search({ resourceType: 'Task', searchParams: { focus: `ServiceRequest/${prescriptions.rejected}`, status: 'cancelled', _include: 'Task:focus' } })) as unknown as Bundle;
    assertValidBundle(tasks);
    assert.deepEqual(tasks.entry!.map((e) => `${e.search.mode} ${e.resource.resourceType}/${e.resource.id}`), [`match Task/${examinations.rejected}`, `include ServiceRequest/${prescriptions.rejected}`]);

    const reports = (await fhir.search({ resourceType: 'DiagnosticReport', searchParams: { encounter: visits.finished, _include: 'DiagnosticReport:result' } })) as unknown as Bundle;
    assertValidBundle(reports);
    assert.deepEqual(reports.entry!.map((e) => `${e.search.mode} ${e.resource.resourceType}`), ['match DiagnosticReport', 'include Observation']);
    const none = (await fhir.search({ resourceType: 'DiagnosticReport', searchParams: { encounter: visits.rejected } })) as unknown as Bundle;
    assert.equal(none.total, 0, 'a cancelled examination has no report');
  });

  test('errors are OperationOutcomes with the right status: an unknown id, a parameter the server does not take, a scope not granted, no token', async () => {
    const gateway = running.system.gatewayUrl;
    assertOutcome(await fhirFetch(gateway, token, '/Encounter/999999'), 404, 'not-found', /Encounter\/999999/);
    assertOutcome(await fhirFetch(gateway, token, '/Encounter?name=Kim'), 400, 'invalid', /cannot be searched by name/);
    assertOutcome(await fhirFetch(gateway, token, '/Encounter?status=done'), 400, 'invalid', /"done" is not one of/);
    assertOutcome(await fhirFetch(gateway, token, '/Task?_count=1000'), 400, 'invalid', /_count/);
    const patientsOnly = await systemToken(gateway, 'system/Patient.read');
    assertOutcome(await fhirFetch(gateway, patientsOnly, `/Encounter/${visits.finished}`), 403, 'forbidden', /system\/Encounter\.read/);
    assert.equal((await fhirFetch(gateway, patientsOnly, `/Patient/${patientId}`)).status, 200, 'the scope it has');
    // The gateway's own refusals on /fhir are OperationOutcomes too.
    assertOutcome(await fhirFetch(gateway, undefined, `/Encounter/${visits.finished}`), 401, 'security');
    const staff = await running.tokens.tokenFor('doctor');
    assertOutcome(await fhirFetch(gateway, staff, `/Encounter/${visits.finished}`), 403, 'forbidden');
    assertOutcome(await fhirFetch(gateway, token, '/Medication/1'), 404, 'not-found');
    const badSubscription = await fhirFetch(gateway, token, '/Subscription', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Subscription', status: 'requested', reason: 'x', criteria: 'Encounter?status=finished', channel: { type: 'rest-hook', endpoint: 'https://elsewhere.example/hook' } }),
    });
    assertOutcome(badSubscription, 400, 'invalid', /endpoint.*not among the endpoints/);
  });

  test('every FHIR read of the patient\'s records is in the patient\'s access log, under the system that read', async () => {
    type Entry = { subject: string; role: string; route: string; status: number; receptionId?: number };
    const entries = await eventually(
      async () => {
        const log = ok(await running.client.get<{ items: Entry[] }>(`/patients/${patientId}/access-log?size=100`, { auth: 'auditor' }));
        const reads = log.items.filter((e) => e.subject === `client:${DEMO_CLIENT}`);
        assert.ok(reads.some((e) => e.route === '/fhir/R4/Encounter/:id' && e.receptionId === visits.finished && e.status === 200));
        assert.ok(reads.some((e) => e.route === '/fhir/R4/Encounter' && e.status === 200));
        assert.ok(reads.some((e) => e.route === '/fhir/R4/Patient/:id'));
        return reads;
      },
      { timeoutMs: patience(20_000), message: 'the FHIR reads in the access log' },
    );
    assert.ok(entries.every((e) => e.role === 'integration'));
  });

  test('what was pushed to other systems is in the patient\'s access log too: each notification under its subscriber, each HL7 message under the engine', async () => {
    type Entry = { subject: string; role: string; method: string; route: string; receptionId?: number };
    await eventually(
      async () => {
        const log = ok(await running.client.get<{ items: Entry[] }>(`/patients/${patientId}/access-log?size=100`, { auth: 'auditor' }));
        const pushed = log.items.filter((e) => e.route === '/fhir/R4/Subscription/:id/notification');
        assert.ok(pushed.some((e) => e.subject === `client:${DEMO_CLIENT}` && e.receptionId === visits.finished && e.method === 'POST'), 'the notification of the finished encounter');
        const sent = log.items.filter((e) => e.method === 'MLLP');
        assert.deepEqual([...new Set(sent.filter((e) => e.receptionId === visits.finished).map((e) => e.route))].sort(), ['HL7 ADT^A04', 'HL7 ORM^O01', 'HL7 ORU^R01']);
        assert.ok(sent.every((e) => e.subject === 'hl7:ENGINE@HOSPITAL' && e.role === 'integration'));
      },
      { timeoutMs: patience(20_000), message: 'the deliveries in the access log' },
    );
  });

  test('the subscriber gets a notification of each matching change, with its header', async () => {
    await eventually(
      () => {
        for (const id of [visits.finished, visits.rejected]) assert.ok(receiver.about(`Encounter/${id}`).some((n) => n.resource?.status === 'finished'), `Encounter/${id} finished`);
        assert.ok(receiver.about(`Task/${examinations.finished}`).some((n) => n.resource?.status === 'completed'));
      },
      { timeoutMs: patience(20_000), message: 'the notifications' },
    );
    assert.equal(receiver.about(`Encounter/${visits.cancelled}`).length, 0, 'a cancelled encounter is not finished');
    assert.equal(receiver.about(`Task/${examinations.rejected}`).length, 0, 'a cancelled task is not completed');
    for (const notification of receiver.notifications) {
      assert.equal(notification.headers.authorization, 'Bearer receiver-secret');
      assert.match(String(notification.headers['content-type']), /^application\/fhir\+json/);
      assertValid(notification.resource as Resource);
    }
  });

  test('a subscriber down for a while gets, once back, the notifications of what changed meanwhile, and the Subscription says it was failing', async () => {
    await receiver.stop();
    const client = running.client;
    const visit = await registerVisit(client, { patientId, department: 'internal-medicine' });
    const diagnosis = await waitForDiagnosis(client, visit.id);
    await complete(client, diagnosis.id, 'Nothing more to do');
    const status = async () => (await fhirFetch(running.system.gatewayUrl, token, `/Subscription/${subscriptions.encounters}`)).body as Resource & { error?: string };
    const failing = await eventually(
      async () => {
        const subscription = await status();
        assert.equal(subscription.status, 'error');
        return subscription;
      },
      { timeoutMs: patience(20_000), message: 'the subscription in error while its endpoint is down' },
    );
    assert.match(failing.error ?? '', /could not be reached/);
    assert.equal(receiver.about(`Encounter/${visit.id}`).length, 0);
    await receiver.start();
    await eventually(() => assert.ok(receiver.about(`Encounter/${visit.id}`).some((n) => n.resource?.status === 'finished')), {
      timeoutMs: patience(20_000),
      message: 'the notification made while the subscriber was down',
    });
    await eventually(async () => assert.equal((await status()).status, 'active'), { timeoutMs: patience(10_000), message: 'the subscription active again' });
    const reply = await fhirFetch(running.system.gatewayUrl, token, `/Subscription/${subscriptions.tasks}`, { method: 'DELETE' });
    assert.equal(reply.status, 204);
    assert.equal((await fhirFetch(running.system.gatewayUrl, token, '/Subscription')).body.total, 1, 'the one turned off is no longer listed');
  });

  test('the interface engine receives the ADT^A04, ORM^O01 and ORU^R01 of a visit in order, each once acknowledged; a NAK is sent again', async () => {
    await eventually(
      () => {
        const types = engine.ofVisit(visits.finished).filter((m) => m.acknowledged === 'AA').map((m) => m.type);
        assert.deepEqual(types, ['ADT^A04', 'ORM^O01', 'ORU^R01']);
      },
      { timeoutMs: patience(20_000), message: 'the HL7 messages of the finished visit' },
    );
    const [admission, order, result] = engine.ofVisit(visits.finished).filter((m) => m.acknowledged === 'AA');
    assert.equal(admission!.message.get('PID.3.1').toString(), patientId);
    assert.equal(admission!.message.get('PID.8').toString(), 'F');
    assert.equal(order!.message.get('ORC.2.1').toString(), prescriptions.finished);
    assert.equal(order!.message.get('OBR.3.1').toString(), String(examinations.finished));
    assert.equal(result!.message.get('OBX.5').toString(), 'No active lung lesion');
    const cancelledOrder = engine.ofVisit(visits.rejected).filter((m) => m.message.get('ORC.1').toString() === 'CA');
    assert.equal(cancelledOrder.length, 1, 'the rejected visit\'s order is cancelled to the laboratory');

    // The engine refuses the next two messages (AE): the registration is sent again until it takes it, with the same control id.
    engine.nak = 2;
    const visit = await registerVisit(running.client, { patientId, department: 'internal-medicine' });
    const tries = await eventually(
      () => {
        const sent = engine.ofVisit(visit.id);
        assert.deepEqual(sent.map((m) => m.acknowledged), ['AE', 'AE', 'AA']);
        return sent;
      },
      { timeoutMs: patience(20_000), message: 'the registration sent again after two NAKs' },
    );
    assert.equal(new Set(tries.map((m) => m.controlId)).size, 1, 'one message, sent three times');
  });

  test('a laboratory\'s ORU^R01 performs the examination it names; a malformed one gets AR, an inapplicable one AE with its reason, and neither changes anything', async () => {
    const client = running.client;
    const visit = await registerVisit(client, { patientId, department: 'internal-medicine' });
    const diagnosis = await waitForDiagnosis(client, visit.id);
    const orderId = (await prescribe(client, diagnosis.id, 'CBC')).prescription.prescriptionId;
    const examination = await waitForExamination(client, diagnosis.id, orderId);
    const send = (controlId: string, fields: Partial<Parameters<typeof laboratoryResult>[0]> = {}) =>
      laboratory.send(laboratoryResult({ controlId, patientId, examinationId: String(examination.id), placer: orderId, value: 'WBC 6.1 10*3/uL', ...fields }));

    const garbage = await sendRawFrame(Number(env.HL7_LISTEN_PORT), 'this is not an HL7 message');
    assert.equal(garbage.code, 'AR');
    const unknown = await send('LAB-1', { examinationId: '999999' });
    assert.deepEqual([unknown.code, unknown.controlId], ['AE', 'LAB-1']);
    assert.match(unknown.reason, /examination 999999 is not known/);
    const otherPatient = await send('LAB-2', { patientId: 'P-NOBODY' });
    assert.equal(otherPatient.code, 'AE');
    assert.match(otherPatient.reason, /PID-3 names patient P-NOBODY/);
    const noFiller = await send('LAB-3', { examinationId: '' });
    assert.equal(noFiller.code, 'AE');
    assert.match(noFiller.reason, /OBR-3/);
    assert.equal((await waitForExamination(client, diagnosis.id, orderId)).status, 'REQUESTED', 'nothing changed');

    const performed = await send('LAB-4');
    assert.deepEqual([performed.code, performed.controlId], ['AA', 'LAB-4']);
    const done = await waitForExamination(client, diagnosis.id, orderId, (e) => e.status === 'PERFORMED');
    assert.equal(done.result, 'WBC 6.1 10*3/uL');
    assert.equal((await send('LAB-4')).code, 'AA', 'the same message again (its ACK was lost): acknowledged, performed once');
    const twice = await send('LAB-5', { value: 'another value' });
    assert.equal(twice.code, 'AE', 'a second result for a performed examination');
    assert.match(twice.reason, /cannot take a result/);
    assert.equal((await waitForExamination(client, diagnosis.id, orderId)).result, 'WBC 6.1 10*3/uL', 'the first result stands');
    await eventually(async () => assert.equal(((await fhir.read({ resourceType: 'Task', id: String(examination.id) })) as unknown as Resource).status, 'completed'), {
      timeoutMs: patience(20_000),
      message: 'the FHIR Task completed',
    });
  });
});
