import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertProblem,
  client,
  describeEachProfile,
  diagnosesOf,
  examinationsOf,
  expectStatus,
  listAll,
  ok,
  patience,
  perform,
  prescribe,
  registerVisit,
  reject,
  running,
  registerPatient,
  useTestSystem,
  waitFor,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForVisit,
  type Diagnosis,
  type Examination,
  type Reception,
} from './helpers.ts';

/**
 * DESIGN.md section 1, fault isolation: receptions are accepted while the diagnosis service is
 * down, prescriptions while the examination service is down; the gateway answers 503 for the
 * missing service only; when the service returns, the work catches up exactly once.
 */

describeEachProfile((profile) => {
  useTestSystem('fault-isolation', profile);

  const routesByService = {
    reception: '/receptions',
    diagnosis: '/diagnoses',
    examination: '/examinations',
    'patient-management': '/patientManagements',
  } as const;
  type Backend = keyof typeof routesByService;

  /** The down service's routes answer 503 problem+json; every other service's routes answer 200. */
  async function assertOnlyDown(down: Backend): Promise<void> {
    for (const [service, path] of Object.entries(routesByService) as Array<[Backend, string]>) {
      const list = await client.get(`${path}?size=1`);
      const one = await client.get(`${path}/1`);
      if (service === down) {
        assertProblem(list, 503, { context: `${service} is down` });
        assertProblem(one, 503, { context: `${service} is down` });
      } else {
        expectStatus(list, 200, `${service} is up while ${down} is down`);
        assert.ok([200, 404].includes(one.status), `${one.request} while ${down} is down: expected 200 or 404, got ${one.status} ${one.text}`);
      }
    }
    for (const path of ['/healthz', '/readyz']) {
      expectStatus(await client.get(path), 200, `the gateway stays ${path === '/healthz' ? 'alive' : 'ready'} while ${down} is down`);
    }
  }

  async function stopCleanly(name: Backend): Promise<void> {
    const exit = await running.system.stop(name);
    assert.deepEqual(exit, { code: 0, signal: null }, `${name} should exit 0 on SIGTERM`);
  }

  test('receptions are accepted while the diagnosis service is down, and each reaches the doctor exactly once when it returns', async () => {
    const patientId = await registerPatient(client, { name: 'Outage patient' });
    await stopCleanly('diagnosis');

    const receptions: Reception[] = [];
    for (let i = 0; i < 6; i++) receptions.push(await registerVisit(client, { patientId, symptom: `outage visit ${i}` }));
    await assertOnlyDown('diagnosis');
    assertProblem(await client.get(`/diagnoses?receptionId=${receptions[0]!.id}`), 503);
    assertProblem(await client.post('/diagnoses/1/complete', { opinion: 'x' }), 503, { context: 'a command to the down service' });
    assertProblem(await client.post('/diagnoses/1/prescriptions', { examinationType: 'x' }), 503, { context: 'a command to the down service' });

    // The desk keeps working: listing, and cancelling a visit the doctor has not seen yet.
    const listed = await listAll<Reception>(client, '/receptions', { patientId });
    assert.deepEqual(listed.map((r) => r.id), receptions.map((r) => r.id));
    ok(await client.post(`/receptions/${receptions[5]!.id}/cancel`, { reason: 'Went home' }));
    // The view keeps working too: the visits are on it, not yet with the doctor.
    for (const r of receptions.slice(0, 5)) {
      const view = await waitForVisit(client, r.id, () => true);
      assert.equal(view.stage, 'RECEIVED', `visit ${r.id} cannot have reached the doctor: ${JSON.stringify(view)}`);
      assert.equal(view.diagnosisId, undefined);
    }

    await running.system.restart('diagnosis');

    for (const r of receptions.slice(0, 5)) {
      const diagnosis = await waitForDiagnosis(client, r.id, () => true, { timeoutMs: patience(20_000) });
      assert.equal(diagnosis.status, 'REGISTERED');
      assert.equal(diagnosis.patientName, r.patientName);
    }
    await waitForDiagnosis(client, receptions[5]!.id, (d) => d.status === 'CANCELLED');

    // Exactly once: after the log is fully consumed, one diagnosis per reception and no more.
    await waitForQuiescence(running);
    const diagnoses = await listAll<Diagnosis>(client, '/diagnoses', { patientId });
    assert.equal(diagnoses.length, receptions.length, `one diagnosis per reception: ${JSON.stringify(diagnoses.map((d) => d.receptionId))}`);
    for (const r of receptions) {
      assert.equal((await diagnosesOf(client, r.id)).length, 1, `reception ${r.id} should have exactly one diagnosis`);
    }
    for (const r of receptions.slice(0, 5)) await waitForVisit(client, r.id, (v) => v.stage === 'WAITING_FOR_DOCTOR');
    await waitForVisit(client, receptions[5]!.id, (v) => v.stage === 'CANCELLED' && v.diagnosisStatus === 'CANCELLED');
    assert.deepEqual(await running.events.deadLetters(), [], 'nothing dead-lettered');
  });

  test('prescriptions are accepted while the examination service is down, and each becomes exactly one examination when it returns', async () => {
    const patientId = await registerPatient(client, { name: 'Examination outage patient' });
    const diagnoses: Diagnosis[] = [];
    for (let i = 0; i < 3; i++) {
      const reception = await registerVisit(client, { patientId });
      diagnoses.push(await waitForDiagnosis(client, reception.id));
    }
    await stopCleanly('examination');

    const prescriptions = new Map<string, number>(); // prescriptionId -> diagnosisId
    for (const d of diagnoses) {
      for (const type of ['CBC', 'CT_HEAD']) {
        const { diagnosis, prescription } = await prescribe(client, d.id, type);
        assert.equal(diagnosis.status, 'EXAMINATION_PRESCRIBED');
        assert.equal(prescription.examinationId, undefined, 'no examination can exist yet');
        prescriptions.set(prescription.prescriptionId, d.id);
      }
    }
    await assertOnlyDown('examination');
    assertProblem(await client.get(`/examinations?diagnosisId=${diagnoses[0]!.id}`), 503);
    assertProblem(await client.post('/examinations/1/perform', { result: 'x' }), 503, { context: 'a command to the down service' });
    assertProblem(await client.post('/examinations/1/cancel', {}), 503, { context: 'a command to the down service' });

    // The doctor can still end a visit; its pending examinations are compensated when the service returns.
    const rejected = await reject(client, diagnoses[2]!.id, 'Transferred to another hospital');
    assert.equal(rejected.status, 'REJECTED');
    await waitForVisit(client, diagnoses[0]!.receptionId, (v) => v.stage === 'IN_EXAMINATION' && v.examinations.length === 2);

    await running.system.restart('examination');

    const examinations = new Map<string, Examination>();
    for (const [prescriptionId, diagnosisId] of prescriptions) {
      const pending = diagnosisId !== diagnoses[2]!.id;
      const examination = await waitForExamination(client, diagnosisId, prescriptionId, (e) => e.status === (pending ? 'REQUESTED' : 'CANCELLED'), {
        timeoutMs: patience(20_000),
      });
      examinations.set(prescriptionId, examination);
    }

    await waitForQuiescence(running);
    for (const d of diagnoses) {
      const list = await examinationsOf(client, d.id);
      assert.equal(list.length, 2, `diagnosis ${d.id}: one examination per prescription, got ${JSON.stringify(list)}`);
      assert.equal(new Set(list.map((e) => e.prescriptionId)).size, 2);
      const linked = await waitForDiagnosis(client, d.receptionId, (x) => x.prescriptions.every((p) => p.examinationId !== undefined));
      for (const p of linked.prescriptions) assert.equal(p.examinationId, examinations.get(p.prescriptionId)?.id);
    }
    const all = await listAll<Examination>(client, '/examinations', {});
    const ours = all.filter((e) => prescriptions.has(e.prescriptionId));
    assert.equal(ours.length, prescriptions.size, 'exactly one examination per prescription');

    // The restarted service works: performing its examinations moves the open diagnoses on.
    for (const d of diagnoses.slice(0, 2)) {
      for (const e of await examinationsOf(client, d.id)) await perform(client, e.id, 'negative');
      await waitForDiagnosis(client, d.receptionId, (x) => x.status === 'EXAMINATION_DONE');
    }
    const closed = await waitForDiagnosis(client, diagnoses[2]!.receptionId, (x) => x.prescriptions.every((p) => p.status === 'CANCELLED'));
    assert.equal(closed.status, 'REJECTED');
    await waitForVisit(client, diagnoses[2]!.receptionId, (v) => v.stage === 'DIAGNOSIS_REJECTED' && v.examinations.every((e) => e.status === 'CANCELLED'));
    assert.deepEqual(await running.events.deadLetters(), [], 'nothing dead-lettered');
  });

  test('the patient-management view and the reception desk are isolated the same way, and the view catches up', async () => {
    await stopCleanly('patient-management');
    await assertOnlyDown('patient-management');
    const reception = await registerVisit(client);
    const diagnosis = await waitForDiagnosis(client, reception.id);
    await prescribe(client, diagnosis.id, 'CMP');
    await running.system.restart('patient-management');
    const view = await waitForVisit(client, reception.id, (v) => v.stage === 'IN_EXAMINATION', { timeoutMs: patience(20_000) });
    assert.equal(view.diagnosisId, diagnosis.id);
    assert.equal(view.examinations.length, 1);

    await stopCleanly('reception');
    await assertOnlyDown('reception');
    assertProblem(await client.post('/receptions', { patientId: 'P-1', patientName: 'Nobody' }), 503, { context: 'register while reception is down' });
    // The doctor finishes the visit while the desk is down; the desk sees the outcome when it returns.
    const examination = await waitForExamination(client, diagnosis.id, view.examinations[0]!.prescriptionId);
    await perform(client, examination.id, 'clear');
    await waitFor(() => client.get<Diagnosis>(`/diagnoses/${diagnosis.id}`), (r) => r.body.status === 'EXAMINATION_DONE');
    ok(await client.post(`/diagnoses/${diagnosis.id}/complete`, { opinion: 'Recovered' }));
    await running.system.restart('reception');
    await waitFor(() => client.get<Reception>(`/receptions/${reception.id}`), (r) => r.body.status === 'DIAGNOSIS_COMPLETED', {
      timeoutMs: patience(20_000),
      message: 'the desk sees the outcome reached while it was down',
    });
    await waitForVisit(client, reception.id, (v) => v.stage === 'DIAGNOSIS_COMPLETED');
  });
});
