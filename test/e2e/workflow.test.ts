import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  assertProblem,
  assertTimestamp,
  cancelExamination,
  cancelReception,
  client,
  complete,
  confirm,
  describeEachProfile,
  examinationsOf,
  getDiagnosis,
  getExamination,
  getReception,
  getVisit,
  ok,
  perform,
  prescribe,
  query,
  registerVisit,
  reject,
  running,
  registerPatient,
  uniquePatientId,
  useTestSystem,
  waitFor,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForReception,
  waitForVisit,
  type Diagnosis,
  type Examination,
  type Page,
  type Reception,
  type Visit,
} from './helpers.ts';

/**
 * The outpatient visit of DESIGN.md section 1, end to end through the gateway: the happy path,
 * the doctor's rejection and the desk's cancellation with their compensation, the lists, and
 * every transition the state machines of section 5 refuse.
 */

describeEachProfile((profile) => {
  useTestSystem('workflow', profile);

  /** Registers a visit and waits until the doctor has it; returns both. */
  async function visitAtTheDoctor(patientName = 'Kim Minsu'): Promise<{ reception: Reception; diagnosis: Diagnosis }> {
    const reception = await registerVisit(client, { patientName });
    const diagnosis = await waitForDiagnosis(client, reception.id, (d) => d.status === 'REGISTERED');
    return { reception, diagnosis };
  }

  describe('the eight steps of a visit', () => {
    test('register, prescribe, perform, complete and confirm, with every service and the view following', async () => {
      // 1. The receptionist registers the visit.
      const patientId = await registerPatient(client, { name: 'Lee Jiyoung', birthDate: '1984-03-12', sex: 'female' });
      const registered = await client.post<Reception>('/receptions', {
        patientId,
        department: 'internal-medicine',
        symptom: 'Cough for two weeks',
      });
      const reception = ok(registered, 201);
      assert.equal(registered.headers.get('location'), `/receptions/${reception.id}`);
      assert.ok(Number.isInteger(reception.id) && reception.id > 0, `a positive integer id, got ${reception.id}`);
      assert.equal(reception.status, 'RECEIVED');
      assert.equal(reception.patientId, patientId);
      assert.equal(reception.patientName, 'Lee Jiyoung');
      assert.equal(reception.birthDate, '1984-03-12');
      assert.equal(reception.department, 'internal-medicine');
      assert.equal(reception.symptom, 'Cough for two weeks');
      assertTimestamp(reception.createdAt, 'reception.createdAt');
      assertTimestamp(reception.updatedAt, 'reception.updatedAt');
      assert.deepEqual(await getReception(client, reception.id), reception, 'GET Location answers the reception just created');

      // 2. The patient is registered for the doctor.
      const diagnosis = await waitForDiagnosis(client, reception.id);
      assert.equal(diagnosis.status, 'REGISTERED');
      assert.equal(diagnosis.receptionId, reception.id);
      assert.equal(diagnosis.patientId, patientId);
      assert.equal(diagnosis.patientName, 'Lee Jiyoung');
      assert.deepEqual(diagnosis.prescriptions, []);
      assertTimestamp(diagnosis.createdAt, 'diagnosis.createdAt');
      assertTimestamp(diagnosis.updatedAt, 'diagnosis.updatedAt');
      assert.deepEqual(await getDiagnosis(client, diagnosis.id), diagnosis);

      const waiting = await waitForVisit(client, reception.id, (v) => v.stage === 'WAITING_FOR_DOCTOR');
      assert.equal(waiting.receptionStatus, 'RECEIVED');
      assert.equal(waiting.diagnosisId, diagnosis.id);
      assert.equal(waiting.diagnosisStatus, 'REGISTERED');
      assert.equal(waiting.patientId, patientId);
      assert.equal(waiting.patientName, 'Lee Jiyoung');
      assert.deepEqual(waiting.examinations, []);

      // 3. The doctor prescribes two examinations.
      const first = await prescribe(client, diagnosis.id, 'CHEST_XRAY', 'PA and lateral');
      assert.equal(first.diagnosis.status, 'EXAMINATION_PRESCRIBED');
      assert.equal(first.prescription.status, 'REQUESTED');
      assert.match(first.prescription.prescriptionId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
      const second = await prescribe(client, diagnosis.id, 'CBC');
      assert.equal(second.diagnosis.status, 'EXAMINATION_PRESCRIBED');
      assert.equal(second.diagnosis.prescriptions.length, 2);
      assert.notEqual(first.prescription.prescriptionId, second.prescription.prescriptionId);

      // 4. Each prescription becomes an examination order; the diagnosis links them.
      const xray = await waitForExamination(client, diagnosis.id, first.prescription.prescriptionId);
      const blood = await waitForExamination(client, diagnosis.id, second.prescription.prescriptionId);
      for (const [examination, type] of [
        [xray, 'CHEST_XRAY'],
        [blood, 'CBC'],
      ] as const) {
        assert.equal(examination.status, 'REQUESTED');
        assert.equal(examination.examinationType, type);
        assert.equal(examination.diagnosisId, diagnosis.id);
        assert.equal(examination.receptionId, reception.id);
        assertTimestamp(examination.createdAt, 'examination.createdAt');
        assertTimestamp(examination.updatedAt, 'examination.updatedAt');
      }
      assert.notEqual(xray.id, blood.id);
      assert.equal((await examinationsOf(client, diagnosis.id)).length, 2, 'two prescriptions, two examinations');

      const linked = await waitForDiagnosis(client, reception.id, (d) => d.prescriptions.every((p) => p.examinationId !== undefined));
      assert.equal(linked.status, 'EXAMINATION_PRESCRIBED');
      assert.deepEqual(
        linked.prescriptions.map((p) => [p.prescriptionId, p.examinationId, p.status]).sort(),
        [
          [first.prescription.prescriptionId, xray.id, 'REQUESTED'],
          [second.prescription.prescriptionId, blood.id, 'REQUESTED'],
        ].sort(),
      );
      const inExamination = await waitForVisit(client, reception.id, (v) => v.stage === 'IN_EXAMINATION' && v.examinations.every((e) => e.examinationId !== undefined));
      assert.equal(inExamination.diagnosisStatus, 'EXAMINATION_PRESCRIBED');
      assert.equal(inExamination.examinations.length, 2);

      // 5. The examiner performs the first; the diagnosis still waits for the second.
      const performedXray = await perform(client, xray.id, 'No infiltrates');
      assert.equal(performedXray.status, 'PERFORMED');
      assert.equal(performedXray.result, 'No infiltrates');
      assertTimestamp(performedXray.performedAt, 'examination.performedAt');
      const halfway = await waitForDiagnosis(client, reception.id, (d) =>
        d.prescriptions.some((p) => p.prescriptionId === first.prescription.prescriptionId && p.status === 'PERFORMED'),
      );
      assert.equal(halfway.status, 'EXAMINATION_PRESCRIBED', 'one prescription is still pending');
      assertProblem(await client.post(`/diagnoses/${diagnosis.id}/complete`, { opinion: 'too early' }), 409, {
        context: 'complete while a prescription is pending',
      });
      assert.equal((await getDiagnosis(client, diagnosis.id)).status, 'EXAMINATION_PRESCRIBED', 'a refused completion changes nothing');

      await perform(client, blood.id, 'WBC 7.2, Hb 13.9');

      // 6. The doctor sees the results.
      const done = await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE');
      const results = Object.fromEntries(done.prescriptions.map((p) => [p.examinationType, [p.status, p.result, p.examinationId]]));
      assert.deepEqual(results, {
        CHEST_XRAY: ['PERFORMED', 'No infiltrates', xray.id],
        CBC: ['PERFORMED', 'WBC 7.2, Hb 13.9', blood.id],
      });
      await waitForVisit(client, reception.id, (v) => v.stage === 'EXAMINATIONS_DONE' && v.diagnosisStatus === 'EXAMINATION_DONE');

      // 7. The doctor completes the diagnosis.
      const completed = await complete(client, diagnosis.id, 'Viral bronchitis; rest and fluids');
      assert.equal(completed.status, 'COMPLETED');
      assert.equal(completed.opinion, 'Viral bronchitis; rest and fluids');
      assert.ok(Date.parse(completed.updatedAt) >= Date.parse(done.updatedAt), 'updatedAt moves forward');

      // 8. The desk sees the outcome and confirms it.
      const outcome = await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
      assert.equal(outcome.diagnosisId, diagnosis.id);
      assert.equal(outcome.diagnosisOutcome, 'COMPLETED');
      // Minimum necessary: the desk sees the outcome it confirms, not the doctor's opinion; a clinician (or admin) does.
      assert.equal(outcome.diagnosisOpinion, undefined);
      assert.equal((await getReception(client.as('admin'), reception.id)).diagnosisOpinion, 'Viral bronchitis; rest and fluids');
      await waitForVisit(client, reception.id, (v) => v.stage === 'DIAGNOSIS_COMPLETED');

      const confirmed = await confirm(client, reception.id);
      assert.equal(confirmed.status, 'CONFIRMED');
      assert.ok(Date.parse(confirmed.updatedAt) >= Date.parse(outcome.updatedAt));

      // The patient-management view ends where the services are.
      // Minimum necessary: the manager sees where each examination stands, not its result; admin sees it.
      const managersView = await waitForVisit(client, reception.id, (v) => v.stage === 'CONFIRMED');
      assert.deepEqual(managersView.examinations.map((e) => e.result), [undefined, undefined]);
      const view = await getVisit(client.as('admin'), reception.id);
      assert.deepEqual({ ...managersView, examinations: [] }, { ...view, examinations: [] }, 'otherwise the same view');
      assert.equal(view.receptionId, reception.id);
      assert.equal(view.patientId, patientId);
      assert.equal(view.patientName, 'Lee Jiyoung');
      assert.equal(view.receptionStatus, 'CONFIRMED');
      assert.equal(view.diagnosisId, diagnosis.id);
      assert.equal(view.diagnosisStatus, 'COMPLETED');
      assert.equal(view.status, 'CONFIRMED', 'every resource carries a status; for a visit it is its stage');
      assertTimestamp(view.createdAt, 'visit.createdAt');
      assertTimestamp(view.updatedAt, 'visit.updatedAt');
      assert.deepEqual(
        view.examinations.map((e) => ({ ...e })).sort((a, b) => a.examinationType.localeCompare(b.examinationType)),
        [
          {
            examinationId: blood.id,
            prescriptionId: second.prescription.prescriptionId,
            examinationType: 'CBC',
            status: 'PERFORMED',
            result: 'WBC 7.2, Hb 13.9',
          },
          { examinationId: xray.id, prescriptionId: first.prescription.prescriptionId, examinationType: 'CHEST_XRAY', status: 'PERFORMED', result: 'No infiltrates' },
        ],
      );
      // The examinations and the diagnosis did not move after the outcome.
      assert.equal((await getExamination(client, xray.id)).status, 'PERFORMED');
      assert.equal((await getDiagnosis(client, diagnosis.id)).status, 'COMPLETED');
    });

    test('an examination cancelled by the examiner counts as done for the doctor, and a new prescription reopens the diagnosis', async () => {
      const { reception, diagnosis } = await visitAtTheDoctor();
      const { prescription } = await prescribe(client, diagnosis.id, 'ABDOMEN_US');
      const examination = await waitForExamination(client, diagnosis.id, prescription.prescriptionId);
      const cancelled = await cancelExamination(client, examination.id, 'Patient could not fast');
      assert.equal(cancelled.status, 'CANCELLED');

      const done = await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE');
      assert.equal(done.prescriptions[0]?.status, 'CANCELLED');
      assert.equal(done.prescriptions[0]?.examinationId, examination.id);
      const view = await waitForVisit(client, reception.id, (v) => v.stage === 'EXAMINATIONS_DONE');
      assert.equal(view.examinations[0]?.status, 'CANCELLED');

      const again = await prescribe(client, diagnosis.id, 'CT_HEAD');
      assert.equal(again.diagnosis.status, 'EXAMINATION_PRESCRIBED', 'a new prescription returns it to EXAMINATION_PRESCRIBED');
      const ct = await waitForExamination(client, diagnosis.id, again.prescription.prescriptionId);
      await perform(client, ct.id, 'Normal');
      await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE' && d.prescriptions.length === 2);
      const completed = await complete(client, diagnosis.id, 'Functional dyspepsia');
      assert.equal(completed.status, 'COMPLETED');
    });
  });

  describe('compensation', () => {
    test('the doctor rejects with one examination performed and one pending: the pending one is cancelled, the performed one untouched', async () => {
      const { reception, diagnosis } = await visitAtTheDoctor('Park Seojun');
      const performedRx = await prescribe(client, diagnosis.id, 'ECG');
      const pendingRx = await prescribe(client, diagnosis.id, 'MRI_BRAIN');
      const ecg = await waitForExamination(client, diagnosis.id, performedRx.prescription.prescriptionId);
      const echo = await waitForExamination(client, diagnosis.id, pendingRx.prescription.prescriptionId);
      const ecgPerformed = await perform(client, ecg.id, 'Sinus rhythm');
      await waitForDiagnosis(client, reception.id, (d) =>
        d.prescriptions.some((p) => p.prescriptionId === performedRx.prescription.prescriptionId && p.status === 'PERFORMED'),
      );

      const rejected = await reject(client, diagnosis.id, 'Refer to cardiology');
      assert.equal(rejected.status, 'REJECTED');
      assert.equal(rejected.rejectReason, 'Refer to cardiology');

      // The pending examination is cancelled automatically; the performed one stays as it was.
      const echoCancelled = await waitForExamination(client, diagnosis.id, pendingRx.prescription.prescriptionId, (e) => e.status === 'CANCELLED');
      assert.equal(echoCancelled.id, echo.id);
      assert.deepEqual(await getExamination(client, ecg.id), ecgPerformed, 'the performed examination is untouched, updatedAt included');

      // The diagnosis records both outcomes and stays REJECTED.
      const after = await waitForDiagnosis(client, reception.id, (d) =>
        d.prescriptions.some((p) => p.prescriptionId === pendingRx.prescription.prescriptionId && p.status === 'CANCELLED'),
      );
      assert.equal(after.status, 'REJECTED');
      const byType = Object.fromEntries(after.prescriptions.map((p) => [p.examinationType, p.status]));
      assert.deepEqual(byType, { ECG: 'PERFORMED', MRI_BRAIN: 'CANCELLED' });

      // The desk sees the rejection, and the view follows.
      const atDesk = await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_REJECTED');
      assert.equal(atDesk.diagnosisOutcome, 'REJECTED');
      assert.equal(atDesk.diagnosisRejectReason, undefined, 'the desk sees the outcome, not the reason');
      assert.equal((await getReception(client.as('admin'), reception.id)).diagnosisRejectReason, 'Refer to cardiology');
      const view = await waitForVisit(
        client.as('admin'),
        reception.id,
        (v) => v.stage === 'DIAGNOSIS_REJECTED' && v.examinations.every((e) => e.status !== 'REQUESTED'),
      );
      assert.equal(view.diagnosisStatus, 'REJECTED');
      assert.equal(view.receptionStatus, 'DIAGNOSIS_REJECTED');
      assert.deepEqual(Object.fromEntries(view.examinations.map((e) => [e.examinationType, [e.status, e.result]])), {
        ECG: ['PERFORMED', 'Sinus rhythm'],
        MRI_BRAIN: ['CANCELLED', undefined],
      });

      // The desk confirms the rejection: the visit is over.
      const confirmed = await confirm(client, reception.id);
      assert.equal(confirmed.status, 'CONFIRMED');
      assert.equal(confirmed.diagnosisOutcome, 'REJECTED');
      await waitForVisit(client, reception.id, (v) => v.stage === 'CONFIRMED' && v.receptionStatus === 'CONFIRMED');
    });

    test('the receptionist cancels: the diagnosis and the pending examinations are cancelled, the view shows CANCELLED', async () => {
      const { reception, diagnosis } = await visitAtTheDoctor('Choi Yuna');
      const rx1 = await prescribe(client, diagnosis.id, 'URINALYSIS');
      const rx2 = await prescribe(client, diagnosis.id, 'CMP');
      await waitForExamination(client, diagnosis.id, rx1.prescription.prescriptionId);
      await waitForExamination(client, diagnosis.id, rx2.prescription.prescriptionId);

      const cancelled = await cancelReception(client, reception.id, 'Patient left');
      assert.equal(cancelled.status, 'CANCELLED');
      assert.equal(cancelled.cancelReason, 'Patient left');

      const cancelledDiagnosis = await waitForDiagnosis(
        client,
        reception.id,
        (d) => d.status === 'CANCELLED' && d.prescriptions.every((p) => p.status === 'CANCELLED'),
      );
      assert.equal(cancelledDiagnosis.prescriptions.length, 2);
      const examinations = await waitFor(
        () => examinationsOf(client, diagnosis.id),
        (list) => list.length === 2 && list.every((e) => e.status === 'CANCELLED'),
        { message: 'both pending examinations cancelled' },
      );
      assert.equal(examinations.length, 2);
      const view = await waitForVisit(client, reception.id, (v) => v.stage === 'CANCELLED' && v.diagnosisStatus === 'CANCELLED');
      assert.equal(view.receptionStatus, 'CANCELLED');
      assert.deepEqual(view.examinations.map((e) => e.status), ['CANCELLED', 'CANCELLED']);
      assert.equal((await getReception(client, reception.id)).status, 'CANCELLED', 'the reception stays CANCELLED');
    });

    test('a reception cancelled before the doctor saw it still ends CANCELLED everywhere', async () => {
      const reception = await registerVisit(client);
      const cancelled = await cancelReception(client, reception.id);
      assert.equal(cancelled.status, 'CANCELLED');
      // Whichever of ReceptionCompleted and ReceptionCancelled the diagnosis service read first, it ends CANCELLED.
      const diagnosis = await waitForDiagnosis(client, reception.id, (d) => d.status === 'CANCELLED');
      assertProblem(await client.post(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'CT_HEAD' }), 409, {
        context: 'prescribe on a cancelled diagnosis',
      });
      await waitForVisit(client, reception.id, (v) => v.stage === 'CANCELLED');
    });
  });

  describe('refused transitions answer 409 problem+json and change nothing', () => {
    let completedReception: Reception;
    let completedDiagnosis: Diagnosis;
    let performedExamination: Examination;
    let cancelledExamination: Examination;

    before(async () => {
      const { reception, diagnosis } = await visitAtTheDoctor('Jung Hana');
      const rx1 = await prescribe(client, diagnosis.id, 'HBA1C');
      const rx2 = await prescribe(client, diagnosis.id, 'ABDOMEN_US');
      const e1 = await waitForExamination(client, diagnosis.id, rx1.prescription.prescriptionId);
      const e2 = await waitForExamination(client, diagnosis.id, rx2.prescription.prescriptionId);
      performedExamination = await perform(client, e1.id, 'TSH 2.1');
      cancelledExamination = await cancelExamination(client, e2.id);
      await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE');
      completedDiagnosis = await complete(client, diagnosis.id, 'Euthyroid');
      completedReception = await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    });

    async function refused(path: string, body: unknown, context: string): Promise<void> {
      assertProblem(await client.post(path, body), 409, { context });
    }

    test('complete with a pending prescription', async () => {
      const { reception, diagnosis } = await visitAtTheDoctor();
      await prescribe(client, diagnosis.id, 'ECG');
      const before = await getDiagnosis(client, diagnosis.id);
      await refused(`/diagnoses/${diagnosis.id}/complete`, { opinion: 'Asthma' }, 'complete with a pending prescription');
      const now = await getDiagnosis(client, diagnosis.id);
      assert.equal(now.status, 'EXAMINATION_PRESCRIBED');
      assert.equal(now.opinion, undefined);
      assert.equal(now.prescriptions.length, before.prescriptions.length);
      assert.equal((await getReception(client, reception.id)).status, 'RECEIVED');
    });

    test('perform or cancel an examination that is no longer REQUESTED', async () => {
      for (const examination of [performedExamination, cancelledExamination]) {
        await refused(`/examinations/${examination.id}/perform`, { result: 'again' }, `perform a ${examination.status} examination`);
        await refused(`/examinations/${examination.id}/cancel`, { reason: 'again' }, `cancel a ${examination.status} examination`);
        await refused(`/examinations/${examination.id}/cancel`, undefined, `cancel (no body) a ${examination.status} examination`);
        assert.deepEqual(await getExamination(client, examination.id), examination, 'a refused command changes nothing');
      }
    });

    test('cancel a reception that is not RECEIVED', async () => {
      await refused(`/receptions/${completedReception.id}/cancel`, { reason: 'too late' }, 'cancel a DIAGNOSIS_COMPLETED reception');
      assert.deepEqual(await getReception(client, completedReception.id), completedReception);

      const cancelled = await cancelReception(client, (await registerVisit(client)).id);
      await refused(`/receptions/${cancelled.id}/cancel`, {}, 'cancel a CANCELLED reception');
      assert.deepEqual(await getReception(client, cancelled.id), cancelled);
    });

    test('confirm before an outcome, and confirm twice', async () => {
      const { reception } = await visitAtTheDoctor();
      await refused(`/receptions/${reception.id}/confirm`, undefined, 'confirm a RECEIVED reception');
      assert.equal((await getReception(client, reception.id)).status, 'RECEIVED');

      const cancelled = await cancelReception(client, (await registerVisit(client)).id);
      await refused(`/receptions/${cancelled.id}/confirm`, undefined, 'confirm a CANCELLED reception');

      const other = await visitAtTheDoctor();
      const confirmed = await (async () => {
        await complete(client, other.diagnosis.id, 'Nothing abnormal');
        await waitForReception(client, other.reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
        return confirm(client, other.reception.id);
      })();
      await refused(`/receptions/${other.reception.id}/confirm`, undefined, 'confirm a CONFIRMED reception');
      assert.deepEqual(await getReception(client, other.reception.id), confirmed);
    });

    test('prescribe on, complete or reject an ended diagnosis', async () => {
      const path = `/diagnoses/${completedDiagnosis.id}`;
      await refused(`${path}/prescriptions`, { examinationType: 'MRI_BRAIN' }, 'prescribe on a COMPLETED diagnosis');
      await refused(`${path}/reject`, { reason: 'changed my mind' }, 'reject a COMPLETED diagnosis');
      await refused(`${path}/complete`, { opinion: 'again' }, 'complete a COMPLETED diagnosis');
      assert.deepEqual(await getDiagnosis(client, completedDiagnosis.id), completedDiagnosis);

      const { diagnosis } = await visitAtTheDoctor();
      const rejected = await reject(client, diagnosis.id, 'Wrong department');
      await refused(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'MRI_BRAIN' }, 'prescribe on a REJECTED diagnosis');
      await refused(`/diagnoses/${diagnosis.id}/reject`, { reason: 'twice' }, 'reject a REJECTED diagnosis');
      await refused(`/diagnoses/${diagnosis.id}/complete`, { opinion: 'after all' }, 'complete a REJECTED diagnosis');
      assert.deepEqual(await getDiagnosis(client, diagnosis.id), rejected);
    });
  });

  describe('lists: filters and paging', () => {
    const receptions: Reception[] = [];
    let patientId: string;

    before(async () => {
      patientId = await registerPatient(client, { name: 'List Patient' });
      for (let i = 0; i < 5; i++) receptions.push(await registerVisit(client, { patientId, symptom: `visit ${i}` }));
      await cancelReception(client, receptions[4]!.id, 'duplicate registration');
      for (const r of receptions) await waitForDiagnosis(client, r.id);
      await waitForVisit(client, receptions[4]!.id, (v) => v.stage === 'CANCELLED');
    });

    async function page<T>(path: string, parameters: Record<string, string | number | undefined>): Promise<Page<T>> {
      return ok(await client.get<Page<T>>(`${path}${query(parameters)}`));
    }

    test('receptions: the envelope, paging, and the patientId and status filters', async () => {
      const ids = receptions.map((r) => r.id);
      const first = await page<Reception>('/receptions', { patientId, size: 2 });
      assert.deepEqual(Object.keys(first).sort(), ['items', 'page', 'size', 'total']);
      assert.equal(first.page, 0);
      assert.equal(first.size, 2);
      assert.equal(first.total, 5);
      const second = await page<Reception>('/receptions', { patientId, size: 2, page: 1 });
      const third = await page<Reception>('/receptions', { patientId, size: 2, page: 2 });
      assert.equal(second.page, 1);
      assert.equal(third.items.length, 1);
      assert.deepEqual([...first.items, ...second.items, ...third.items].map((r) => r.id), ids, 'the pages cover the list once, in order');
      const beyond = await page<Reception>('/receptions', { patientId, size: 2, page: 9 });
      assert.deepEqual(beyond.items, []);
      assert.equal(beyond.total, 5);

      const defaults = await page<Reception>('/receptions', {});
      assert.equal(defaults.page, 0);
      assert.equal(defaults.size, 20);
      assert.ok(defaults.total >= 5);

      const cancelled = await page<Reception>('/receptions', { patientId, status: 'CANCELLED' });
      assert.equal(cancelled.total, 1);
      assert.deepEqual(cancelled.items.map((r) => r.id), [receptions[4]!.id]);
      const received = await page<Reception>('/receptions', { patientId, status: 'RECEIVED' });
      assert.deepEqual(received.items.map((r) => r.id), ids.slice(0, 4));
      assert.ok(received.items.every((r) => r.status === 'RECEIVED' && r.patientId === patientId));
      const nobody = await page<Reception>('/receptions', { patientId: uniquePatientId('NOBODY') });
      assert.deepEqual(nobody, { items: [], page: 0, size: 20, total: 0 });
    });

    test('diagnoses: by patient, by reception, by status', async () => {
      const all = await page<Diagnosis>('/diagnoses', { patientId, size: 100 });
      assert.equal(all.total, 5);
      assert.deepEqual(all.items.map((d) => d.receptionId).sort((a, b) => a - b), receptions.map((r) => r.id));
      const one = await page<Diagnosis>('/diagnoses', { receptionId: receptions[2]!.id });
      assert.equal(one.total, 1);
      assert.equal(one.items[0]?.receptionId, receptions[2]!.id);

      const cancelledDiagnosis = await waitForDiagnosis(client, receptions[4]!.id, (d) => d.status === 'CANCELLED');
      const cancelled = await page<Diagnosis>('/diagnoses', { patientId, status: 'CANCELLED' });
      assert.deepEqual(cancelled.items.map((d) => d.id), [cancelledDiagnosis.id]);
      const registered = await page<Diagnosis>('/diagnoses', { patientId, status: 'REGISTERED', size: 3, page: 1 });
      assert.equal(registered.total, 4);
      assert.equal(registered.items.length, 1);
      assert.equal(registered.size, 3);
      assert.equal(registered.page, 1);
    });

    test('examinations: by diagnosis, by reception, by status', async () => {
      const diagnosis = await waitForDiagnosis(client, receptions[0]!.id);
      const rx = [
        await prescribe(client, diagnosis.id, 'CBC'),
        await prescribe(client, diagnosis.id, 'CMP'),
        await prescribe(client, diagnosis.id, 'HBA1C'),
      ];
      const examinations: Examination[] = [];
      for (const { prescription } of rx) examinations.push(await waitForExamination(client, diagnosis.id, prescription.prescriptionId));
      await perform(client, examinations[1]!.id, 'fine');

      const byDiagnosis = await page<Examination>('/examinations', { diagnosisId: diagnosis.id });
      assert.equal(byDiagnosis.total, 3);
      const byReception = await page<Examination>('/examinations', { receptionId: receptions[0]!.id, size: 2 });
      assert.equal(byReception.total, 3);
      assert.equal(byReception.items.length, 2);
      const performed = await page<Examination>('/examinations', { diagnosisId: diagnosis.id, status: 'PERFORMED' });
      assert.deepEqual(performed.items.map((e) => e.id), [examinations[1]!.id]);
      const requested = await page<Examination>('/examinations', { receptionId: receptions[0]!.id, status: 'REQUESTED' });
      assert.deepEqual(requested.items.map((e) => e.id).sort((a, b) => a - b), [examinations[0]!.id, examinations[2]!.id].sort((a, b) => a - b));
    });

    test('patientManagements: by patient and by stage', async () => {
      const all = await page<Visit>('/patientManagements', { patientId, size: 100 });
      assert.equal(all.total, 5);
      assert.deepEqual(all.items.map((v) => v.receptionId).sort((a, b) => a - b), receptions.map((r) => r.id));
      const cancelled = await page<Visit>('/patientManagements', { patientId, stage: 'CANCELLED' });
      assert.deepEqual(cancelled.items.map((v) => v.receptionId), [receptions[4]!.id]);
      const paged = await page<Visit>('/patientManagements', { patientId, size: 2, page: 2 });
      assert.equal(paged.items.length, 1);
      assert.equal(paged.total, 5);
      const one = await getVisit(client, receptions[1]!.id);
      assert.equal(one.patientId, patientId);
      assert.equal(one.patientName, 'List Patient');
    });
  });

  test('no event was dead-lettered by any of the flows above', async () => {
    await waitForQuiescence(running);
    assert.deepEqual(await running.events.deadLetters(), []);
  });
});
