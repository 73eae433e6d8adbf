import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { CONSUMER_GROUPS } from './event-log.ts';
import {
  cancelExamination,
  cancelReception,
  client,
  complete,
  confirm,
  describeEachProfile,
  diagnosesOf,
  eventually,
  examinationsOf,
  getDiagnosis,
  getExamination,
  getReception,
  getVisit,
  inServiceDatabase,
  listAll,
  ok,
  patience,
  perform,
  prescribe,
  rawPages,
  registerVisit,
  reject,
  running,
  registerPatient,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForReception,
  waitForVisit,
  type Diagnosis,
  type Examination,
  type HttpReply,
  type Reception,
  type Visit,
} from './helpers.ts';

/**
 * DESIGN.md section 4, delivery: at-least-once transport, exactly-once effect. A consumer that
 * reads the whole log again changes nothing; a service killed mid-flow loses nothing and applies
 * nothing twice.
 */

describeEachProfile((profile) => {
  useTestSystem('delivery', profile);

  const LISTS = ['/receptions', '/diagnoses', '/examinations', '/patientManagements'] as const;

  /** The raw JSON of every page of every list: the whole visible state of the system. */
  async function snapshot(): Promise<Record<string, string[]>> {
    const state: Record<string, string[]> = {};
    for (const path of LISTS) state[path] = await rawPages(client, path);
    return state;
  }

  /** Visits in every state the state machines allow, so a replay has every kind of event to re-apply. */
  async function driveVisitsInEveryState(): Promise<void> {
    // Completed and confirmed, two examinations.
    {
      const r = await registerVisit(client, { patientName: 'Replay confirmed' });
      const d = await waitForDiagnosis(client, r.id);
      const a = await prescribe(client, d.id, 'CHEST_XRAY');
      const b = await prescribe(client, d.id, 'CBC');
      await perform(client, (await waitForExamination(client, d.id, a.prescription.prescriptionId)).id, 'clear');
      await perform(client, (await waitForExamination(client, d.id, b.prescription.prescriptionId)).id, 'normal');
      await waitForDiagnosis(client, r.id, (x) => x.status === 'EXAMINATION_DONE');
      await complete(client, d.id, 'healthy');
      await waitForReception(client, r.id, (x) => x.status === 'DIAGNOSIS_COMPLETED');
      await confirm(client, r.id);
    }
    // Rejected with one performed and one compensated examination, confirmed.
    {
      const r = await registerVisit(client, { patientName: 'Replay rejected' });
      const d = await waitForDiagnosis(client, r.id);
      const a = await prescribe(client, d.id, 'ECG');
      await prescribe(client, d.id, 'HBA1C');
      await perform(client, (await waitForExamination(client, d.id, a.prescription.prescriptionId)).id, 'sinus');
      await reject(client, d.id, 'refer');
      await waitForReception(client, r.id, (x) => x.status === 'DIAGNOSIS_REJECTED');
      await confirm(client, r.id);
    }
    // Cancelled at the desk with a pending examination.
    {
      const r = await registerVisit(client, { patientName: 'Replay cancelled' });
      const d = await waitForDiagnosis(client, r.id);
      const a = await prescribe(client, d.id, 'MRI_BRAIN');
      await waitForExamination(client, d.id, a.prescription.prescriptionId);
      await cancelReception(client, r.id, 'left');
      await waitForDiagnosis(client, r.id, (x) => x.status === 'CANCELLED' && x.prescriptions.every((p) => p.status === 'CANCELLED'));
    }
    // Open: one examination performed, one cancelled by the examiner, one pending.
    {
      const r = await registerVisit(client, { patientName: 'Replay open' });
      const d = await waitForDiagnosis(client, r.id);
      const a = await prescribe(client, d.id, 'URINALYSIS');
      const b = await prescribe(client, d.id, 'CMP');
      const c = await prescribe(client, d.id, 'HBA1C');
      await perform(client, (await waitForExamination(client, d.id, a.prescription.prescriptionId)).id, 'ok');
      await cancelExamination(client, (await waitForExamination(client, d.id, b.prescription.prescriptionId)).id, 'no sample');
      await waitForExamination(client, d.id, c.prescription.prescriptionId);
    }
    // Waiting for the doctor.
    await waitForDiagnosis(client, (await registerVisit(client, { patientName: 'Replay waiting' })).id);
    await waitForQuiescence(running);
  }

  describe('the same event delivered twice changes nothing', () => {
    before(driveVisitsInEveryState);

    for (const group of CONSUMER_GROUPS) {
      test(`${group}: the whole log delivered again leaves every list byte for byte as it was`, async () => {
        await waitForQuiescence(running);
        const before = await snapshot();
        const { events } = running;
        const end = await events.end();
        const messages = await events.messageCount();
        assert.ok(end > 0 && messages > 0, 'the log has events to replay');

        const exit = await running.system.stop(group);
        assert.deepEqual(exit, { code: 0, signal: null }, `${group} should exit 0 on SIGTERM`);
        assert.equal(await events.lag(group), 0, `${group} had consumed the whole log before it stopped`);
        await events.rewind(group);
        assert.equal(await events.lag(group), messages, `${group} was rewound: the whole log is to be delivered again`);
        // The service resumes where its own database says, not where the transport's offset was
        // moved to: forget those positions too, so every event really is delivered again.
        await inServiceDatabase(running, group, 'delete from consumer_positions');

        await running.system.restart(group);
        await eventually(
          async () => {
            const lag = await events.lag(group);
            assert.equal(lag, 0, `${group} has ${lag} of ${messages} events left to consume`);
          },
          { timeoutMs: patience(30_000), message: `${group} consumed the log again (lag 0)` },
        );
        await waitForQuiescence(running);

        assert.equal(await events.end(), end, 'the replay published no new event');
        assert.equal(await events.messageCount(), messages, 'the replay published no new event');
        const afterReplay = await snapshot();
        for (const path of LISTS) {
          assert.deepEqual(afterReplay[path]!.map((p) => JSON.parse(p)), before[path]!.map((p) => JSON.parse(p)), `${path} changed after ${group} replayed the log`);
          assert.deepEqual(afterReplay[path], before[path], `${path} is not byte-identical after ${group} replayed the log`);
        }
        assert.deepEqual(await running.events.deadLetters(), [], 'nothing dead-lettered');
      });
    }

    test('after the replays the services still move visits on', async () => {
      const r = await registerVisit(client);
      const d = await waitForDiagnosis(client, r.id);
      const { prescription } = await prescribe(client, d.id, 'CBC');
      await perform(client, (await waitForExamination(client, d.id, prescription.prescriptionId)).id, 'fine');
      await waitForDiagnosis(client, r.id, (x) => x.status === 'EXAMINATION_DONE');
      await complete(client, d.id, 'fine');
      await waitForReception(client, r.id, (x) => x.status === 'DIAGNOSIS_COMPLETED');
      await confirm(client, r.id);
      await waitForVisit(client, r.id, (v) => v.stage === 'CONFIRMED');
    });
  });

  // ---- SIGKILL mid-flow -------------------------------------------------------------------------

  const BURST = 30;
  const TYPES = ['CHEST_XRAY', 'CBC'] as const;

  function isUnavailable(reply: HttpReply | undefined): boolean {
    return reply === undefined || reply.status === 502 || reply.status === 503 || reply.status === 504;
  }

  /**
   * Sends a command until it is known to have taken effect. A request cut by the kill may or may
   * not have been committed, so after an unavailable answer the state is read back (`applied`)
   * before sending again: a command is never sent twice once it took effect.
   */
  async function commandUntilApplied(send: () => Promise<HttpReply>, applied: () => Promise<boolean>, expected: number, what: string): Promise<void> {
    await eventually(
      async () => {
        let reply: HttpReply | undefined;
        try {
          reply = await send();
        } catch {
          reply = undefined; // the connection itself failed
        }
        if (reply && reply.status === expected) return;
        if (!isUnavailable(reply)) assert.fail(`${what}: ${reply!.request} → ${reply!.status} ${reply!.text}`);
        // Unavailable: find out (once the service answers again) whether the command took effect.
        const done = await eventually(applied, { timeoutMs: patience(30_000), message: `${what}: reading the state back` });
        if (!done) throw new Error(`${what}: not applied yet, sending again`);
      },
      { timeoutMs: patience(45_000), intervalMs: 100, message: what },
    );
  }

  /** A read that throws while the service is unavailable, so `eventually` tries again. */
  async function read<T>(reply: Promise<HttpReply<T>>): Promise<T> {
    return ok(await reply);
  }

  type Progress = { prescribed: number; performed: number; finished: number };

  /**
   * Drives one visit to its end. The last step (the desk's confirmation) waits for `chaosOver`,
   * so no visit can end before the last kill: on a loaded machine a restart can take long enough
   * for every visit to finish meanwhile, and a kill after that would test nothing.
   */
  async function driveOneVisit(i: number, patientId: string, progress: Progress, chaosOver: Promise<void>): Promise<number> {
    const long = { timeoutMs: patience(45_000) };
    const reception = await registerVisit(client, { patientId, symptom: `burst visit ${i}` });
    const diagnosis = await waitForDiagnosis(client, reception.id, () => true, long);

    for (const t of TYPES) {
      const type = t;
      await commandUntilApplied(
        () => client.post(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: type }),
        async () => (await read(client.get<Diagnosis>(`/diagnoses/${diagnosis.id}`))).prescriptions.some((p) => p.examinationType === type),
        201,
        `prescribe ${type}`,
      );
      progress.prescribed += 1;
    }
    const prescriptions = (await eventually(() => getDiagnosis(client, diagnosis.id), long)).prescriptions;
    assert.equal(prescriptions.length, 2, `visit ${i}: two prescriptions, got ${JSON.stringify(prescriptions)}`);

    for (const p of prescriptions) {
      const examination = await waitForExamination(client, diagnosis.id, p.prescriptionId, () => true, long);
      await commandUntilApplied(
        () => client.post(`/examinations/${examination.id}/perform`, { result: `result of ${p.examinationType}` }),
        async () => (await read(client.get<Examination>(`/examinations/${examination.id}`))).status === 'PERFORMED',
        200,
        `perform examination ${examination.id}`,
      );
      progress.performed += 1;
    }

    await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE', long);
    await commandUntilApplied(
      () => client.post(`/diagnoses/${diagnosis.id}/complete`, { opinion: `opinion ${i}` }),
      async () => (await read(client.get<Diagnosis>(`/diagnoses/${diagnosis.id}`))).status === 'COMPLETED',
      200,
      `complete diagnosis ${diagnosis.id}`,
    );
    await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED', long);
    await chaosOver;
    await confirm(client, reception.id);
    progress.finished += 1;
    return reception.id;
  }

  async function until(condition: () => boolean, what: string): Promise<void> {
    await eventually(() => assert.ok(condition(), what), { timeoutMs: patience(60_000), intervalMs: 10, message: what });
  }

  test('services killed with SIGKILL mid-flow lose nothing and apply nothing twice', async () => {
    const patientId = await registerPatient(client, { name: 'Burst patient' });
    const progress: Progress = { prescribed: 0, performed: 0, finished: 0 };
    let endChaos = () => {};
    const chaosOver = new Promise<void>((resolve) => {
      endChaos = resolve;
    });
    const flows = Promise.all(Array.from({ length: BURST }, (_, i) => driveOneVisit(i, patientId, progress, chaosOver)));
    // Fail fast if a flow breaks while the chaos below is still waiting for progress.
    let flowError: unknown;
    flows.catch((error: unknown) => {
      flowError = error;
    });

    const kills: Array<{ service: string; at: Progress }> = [];
    const killAndRestart = async (service: 'diagnosis' | 'examination' | 'patient-management') => {
      const exit = await running.system.kill(service);
      assert.equal(exit.signal, 'SIGKILL', `${service} was killed`);
      kills.push({ service, at: { ...progress } });
      await running.system.restart(service);
    };
    const reached = (condition: () => boolean) => () => flowError !== undefined || condition();

    try {
      await until(reached(() => progress.prescribed >= 15), 'a quarter of the prescriptions made');
      await killAndRestart('diagnosis');
      await until(reached(() => progress.performed >= 10), 'ten examinations performed');
      await killAndRestart('examination');
      await until(reached(() => progress.performed >= 30), 'half of the examinations performed');
      await killAndRestart('patient-management');
    } finally {
      endChaos();
    }

    const receptionIds = await flows;
    for (const kill of kills) {
      assert.ok(kill.at.finished < BURST, `${kill.service} was killed mid-flow (${JSON.stringify(kill.at)})`);
    }

    await waitForQuiescence(running, { timeoutMs: patience(30_000) });

    // Exactly one diagnosis per reception, one examination per prescription, every visit at its end.
    const diagnoses = await listAll<Diagnosis>(client, '/diagnoses', { patientId });
    assert.equal(diagnoses.length, BURST, 'one diagnosis per reception');
    const events = await running.events.eventTypesByKey();
    for (const receptionId of receptionIds) {
      const reception = await getReception(client, receptionId);
      assert.equal(reception.status, 'CONFIRMED', `reception ${receptionId}`);
      assert.equal(reception.diagnosisOutcome, 'COMPLETED');

      const ofReception = await diagnosesOf(client, receptionId);
      assert.equal(ofReception.length, 1, `reception ${receptionId}: exactly one diagnosis`);
      const diagnosis = ofReception[0]!;
      assert.equal(diagnosis.status, 'COMPLETED');
      assert.equal(diagnosis.prescriptions.length, 2, `diagnosis ${diagnosis.id}: ${JSON.stringify(diagnosis.prescriptions)}`);

      const examinations = await examinationsOf(client, diagnosis.id);
      assert.equal(examinations.length, 2, `diagnosis ${diagnosis.id}: one examination per prescription, got ${JSON.stringify(examinations)}`);
      for (const p of diagnosis.prescriptions) {
        const own = examinations.filter((e) => e.prescriptionId === p.prescriptionId);
        assert.equal(own.length, 1, `prescription ${p.prescriptionId}: exactly one examination`);
        const e = own[0]!;
        assert.equal(e.status, 'PERFORMED');
        assert.equal(e.result, `result of ${p.examinationType}`);
        assert.equal(p.status, 'PERFORMED');
        assert.equal(p.examinationId, e.id);
        assert.equal(p.result, e.result);
      }

      // As admin: the manager's view carries no examination results (minimum necessary).
      const view: Visit = await getVisit(client.as('admin'), receptionId);
      assert.equal(view.stage, 'CONFIRMED', `visit ${receptionId}: ${JSON.stringify(view)}`);
      assert.equal(view.receptionStatus, 'CONFIRMED');
      assert.equal(view.diagnosisId, diagnosis.id);
      assert.equal(view.diagnosisStatus, 'COMPLETED');
      const fromView = view.examinations.map((e) => [e.prescriptionId, e.examinationId, e.status, e.result]).sort();
      const fromServices = diagnosis.prescriptions.map((p) => [p.prescriptionId, p.examinationId, 'PERFORMED', p.result]).sort();
      assert.deepEqual(fromView, fromServices, `visit ${receptionId}: the view matches the services`);

      // On the log: each fact of the visit exactly once (a republished event keeps its id and is dropped).
      const types = [...(events.get(String(receptionId)) ?? [])].sort();
      assert.deepEqual(
        types,
        [
          'DiagnosisCompleted',
          'DiagnosisRegistered',
          'ExaminationPerformed',
          'ExaminationPerformed',
          'ExaminationPrescribed',
          'ExaminationPrescribed',
          'ExaminationRequested',
          'ExaminationRequested',
          'ReceptionCompleted',
          'ReceptionConfirmed',
        ],
        `reception ${receptionId}: the events on the log`,
      );
    }
    const ours = new Set(receptionIds);
    const examinations = (await listAll<Examination>(client, '/examinations')).filter((e) => ours.has(e.receptionId));
    assert.equal(examinations.length, BURST * TYPES.length, 'one examination per prescription in total');
    const visits = (await listAll<Visit>(client, '/patientManagements', { patientId })).filter((v) => v.stage === 'CONFIRMED');
    assert.equal(visits.length, BURST, 'every visit CONFIRMED in the view');
    const receptions = await listAll<Reception>(client, '/receptions', { patientId, status: 'CONFIRMED' });
    assert.equal(receptions.length, BURST);
    assert.deepEqual(await running.events.deadLetters(), [], 'nothing dead-lettered');
    // The examinations read through the list match the ones read one by one.
    const sample = examinations[0]!;
    assert.deepEqual(await getExamination(client, sample.id), sample);
  });
});
