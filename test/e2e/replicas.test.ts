import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  Client,
  client,
  complete,
  confirm,
  describeProduction,
  diagnosesOf,
  eventually,
  examinationsOf,
  expectStatus,
  listAll,
  ok,
  patience,
  perform,
  prescribe,
  registerVisit,
  running,
  registerPatient,
  useTestSystem,
  visitWithPendingExamination,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForReception,
  waitForVisit,
  type Diagnosis,
  type Reception,
} from './helpers.ts';
import { BACKEND_SERVICES } from '../../scripts/lib/processes.ts';

/**
 * Replicas (production profile only: on the embedded profile each service owns its SQLite file,
 * and startSystem refuses replicas there; see processes.test.ts). Two processes of every backend
 * service share its database and consumer group; the gateway balances across them. Each event
 * is applied once whichever replica consumes it, and a replica that stops or dies leaves its
 * work to the other.
 */

/** The total of a Prometheus counter (every label set) on one process. */
async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A visit registered, prescribed, performed, completed and confirmed through the gateway. */
async function wholeVisit(patientId: string, i: number): Promise<number> {
  const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'CBC', { patientId, symptom: `replica visit ${i}` });
  await perform(client, examination.id, `result ${i}`);
  await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE');
  await complete(client, diagnosis.id, `opinion ${i}`);
  await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
  await confirm(client, reception.id);
  return reception.id;
}

/** Exactly one diagnosis per reception and one examination per prescription, the view at CONFIRMED. */
async function assertEachVisitOnce(receptionIds: number[]): Promise<void> {
  for (const id of receptionIds) {
    const diagnoses = await diagnosesOf(client, id);
    assert.equal(diagnoses.length, 1, `reception ${id}: exactly one diagnosis, got ${JSON.stringify(diagnoses)}`);
    const diagnosis = diagnoses[0]!;
    assert.equal(diagnosis.status, 'COMPLETED');
    const examinations = await examinationsOf(client, diagnosis.id);
    assert.equal(examinations.length, diagnosis.prescriptions.length, `diagnosis ${diagnosis.id}: one examination per prescription`);
    const view = await waitForVisit(client, id, (v) => v.stage === 'CONFIRMED');
    assert.equal(view.examinations.length, diagnosis.prescriptions.length);
  }
}

describeProduction('production: two replicas of every backend service', () => {
  useTestSystem('replicas', 'production', { replicas: { reception: 2, diagnosis: 2, examination: 2, 'patient-management': 2, interop: 2 } });

  test('each replica runs on its own port, is ready, and serves the one shared database', async () => {
    const { system } = running;
    const patientId = await registerPatient(client, { name: 'Shared patient' });
    const reception = await registerVisit(client, { patientId });
    await waitForDiagnosis(client, reception.id);
    await waitForVisit(client, reception.id, (v) => v.stage === 'WAITING_FOR_DOCTOR');
    const paths: Record<string, string> = {
      reception: `/receptions/${reception.id}`,
      diagnosis: `/diagnoses?receptionId=${reception.id}`,
      examination: '/examinations?size=1',
      'patient-management': `/patientManagements/${reception.id}`,
      interop: `/fhir/R4/Encounter/${reception.id}`,
    };
    // interop's projection has the visit too (as another system reads it, with its client's token).
    await eventually(async () => expectStatus(await client.get(paths.interop!), 200, 'the visit in interop'), { message: 'the visit in interop\'s projection' });
    for (const name of BACKEND_SERVICES) {
      const replicas = system.replicasOf(name);
      assert.equal(replicas.length, 2, `${name}: two replicas`);
      assert.equal(system.replicaCounts[name], 2);
      assert.equal(system.services[name], replicas[0], `services.${name} is its first replica`);
      assert.notEqual(replicas[0]!.port, replicas[1]!.port);
      const answers: string[] = [];
      for (const replica of replicas) {
        expectStatus(await new Client(replica.url).get('/readyz'), 200, `${name} at ${replica.url}`);
        const reply = await new Client(replica.url).get(paths[name]!);
        expectStatus(reply, 200, `${name} at ${replica.url}`);
        answers.push(reply.text);
      }
      assert.equal(answers[0], answers[1], `${name}: both replicas answer from the same database`);
    }
  });

  test('the events are shared out between the replicas of a service, and each is applied once', async () => {
    const patientId = await registerPatient(client, { name: 'Spread patient' });
    const consumedBefore = await Promise.all(running.system.replicasOf('diagnosis').map((r) => counter(r.url, 'medical_events_consumed_total')));
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => wholeVisit(patientId, i)));
    await waitForQuiescence(running);
    await assertEachVisitOnce(ids);
    // With three partitions and two members, each replica owns at least one: 20 visits keyed
    // by reception id all landing on one replica would take 2^-20-ish luck.
    const consumedAfter = await Promise.all(running.system.replicasOf('diagnosis').map((r) => counter(r.url, 'medical_events_consumed_total')));
    const byReplica = consumedAfter.map((n, i) => n - consumedBefore[i]!);
    assert.ok(byReplica.every((n) => n > 0), `both diagnosis replicas consumed events: ${JSON.stringify(byReplica)}`);
    // Each visit's facts reached the diagnosis service once in total (ReceptionCompleted,
    // ExaminationRequested, ExaminationPerformed): duplicates are not counted by the metric.
    assert.equal(byReplica[0]! + byReplica[1]!, 20 * 3, `diagnosis consumed ${JSON.stringify(byReplica)}`);
    assert.deepEqual(await running.events.deadLetters(), []);
  });

  test('one replica stopped, another killed: the other replica of each takes the work over, nothing lost or doubled', async () => {
    const { system } = running;
    const patientId = await registerPatient(client, { name: 'Failover patient' });

    // A graceful stop leaves the group at once: the other diagnosis replica gets every partition.
    assert.deepEqual(await system.stop('diagnosis', 0), { code: 0, signal: null });
    const whileStopped: Reception[] = [];
    for (let i = 0; i < 6; i++) whileStopped.push(await registerVisit(client, { patientId }));
    const diagnoses: Diagnosis[] = [];
    for (const r of whileStopped) diagnoses.push(await waitForDiagnosis(client, r.id));
    ok(await client.get('/diagnoses?size=1'), 200, 'the gateway sends the diagnosis routes to the replica still running');

    // SIGKILL: the dead examination replica keeps its partitions until its session expires (6 s).
    const killed = await system.kill('examination', 1);
    assert.equal(killed.signal, 'SIGKILL');
    const prescriptions = [];
    for (const d of diagnoses) prescriptions.push({ diagnosisId: d.id, ...(await prescribe(client, d.id, 'CBC')).prescription });
    const examinations = [];
    for (const p of prescriptions) {
      examinations.push(await waitForExamination(client, p.diagnosisId, p.prescriptionId, () => true, { timeoutMs: patience(20_000) }));
    }
    // Reads through the gateway succeed once it has noticed the dead replica.
    await eventually(async () => expectStatus(await client.get('/examinations?size=1'), 200), { message: 'the gateway avoids the dead examination replica' });

    await system.restart('diagnosis', 0);
    await system.restart('examination', 1);
    for (const e of examinations) await perform(client, e.id, 'fine');
    for (const d of diagnoses) {
      await waitForDiagnosis(client, d.receptionId, (x) => x.status === 'EXAMINATION_DONE');
      await complete(client, d.id, 'after failover');
      await waitForReception(client, d.receptionId, (r) => r.status === 'DIAGNOSIS_COMPLETED');
      await confirm(client, d.receptionId);
    }
    await waitForQuiescence(running);
    await assertEachVisitOnce(whileStopped.map((r) => r.id));
    assert.equal((await listAll(client, '/diagnoses', { patientId })).length, whileStopped.length, 'one diagnosis per reception');
    assert.deepEqual(await running.events.deadLetters(), []);
    for (const name of BACKEND_SERVICES) {
      for (const replica of system.replicasOf(name)) expectStatus(await new Client(replica.url).get('/readyz'), 200, `${name} at ${replica.url} after the restarts`);
    }
  });
});
