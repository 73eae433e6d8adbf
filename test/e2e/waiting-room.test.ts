import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { hospitalDayOf, hospitalHourOf } from '@medical/platform/edge';
import {
  assertProblem,
  Client,
  complete,
  confirm,
  describeEachProfile,
  eventually,
  ok,
  perform,
  prescribe,
  query,
  registerPatient,
  registerVisit,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForReception,
  type Diagnosis,
  type Examination,
  type Reception,
  type TestSystem,
} from './helpers.ts';

/**
 * The waiting room through the gateway (issue 21), on both profiles: queue numbers per department
 * per hospital day (two reception replicas on the production profile, and a day boundary in the
 * hospital's zone), the doctor's and the examiners' calls, recalls and no-shows, the call screen's
 * queue, the patient's ticket, and the waiting time of each stage of a visit whose times are known.
 *
 * The hospital's zone is UTC-12 (Etc/GMT+12) for the whole file; the last test restarts reception
 * in UTC+14 (Pacific/Kiritimati), whose date always differs from UTC-12's: the next hospital day,
 * reached without waiting for midnight or faking a clock.
 */

const ZONE = 'Etc/GMT+12';
const NEXT_DAY_ZONE = 'Pacific/Kiritimati';

type Called = { queueNumber: number; maskedName: string; from?: string; room?: string; calledAt: string; callCount: number };
type Queue = { department: string; day: string; calling: Called[]; waiting: Array<{ queueNumber: number; maskedName: string; from?: string }>; waitingCount: number; medianWaitMinutes: number | null };
type Ticket = { department: string; queueNumber: number; maskedName: string; status: string; ahead: number; expectedWaitMinutes: number | null; room?: string; validUntil: string };
type StageWaits = { department: string; stage: string; count: number; p50Minutes: number; p90Minutes: number };
type WaitingTimes = { stages: StageWaits[]; byHour: Array<StageWaits & { hour: number }>; waitingNow: Array<{ department: string; waitingCount: number }> };
type QueuedReception = Reception & { queueNumber: number; queueDay: string; ticket: string; department: string };

describeEachProfile((profile) => {
  let running: TestSystem;
  let client: Client;
  // Two desks of one hospital on the production profile: the numbers must not repeat across them.
  useTestSystem('waiting-room', profile, (system) => {
    running = system;
    client = system.client;
  }, { env: { HOSPITAL_TIME_ZONE: ZONE }, ...(profile === 'production' ? { replicas: { reception: 2 } } : {}) });

  const desks = (): Client[] => [client, ...running.system.replicasOf('reception').map((replica) => new Client(replica.url))];
  const register = async (department?: string, name = '김민지', desk = client): Promise<QueuedReception> =>
    (await registerVisit(desk, { patientId: await registerPatient(client, { name }), ...(department ? { department } : {}) })) as QueuedReception;
  const queueOf = async (department: string): Promise<Queue> => ok(await client.get<Queue>(`/queues/${department}`, { auth: 'display' }));
  const numbers = (list: Array<{ queueNumber: number }>) => list.map((entry) => entry.queueNumber);
  // The demo doctor works in internal medicine; the visits of the other departments are the admin's to act on here.
  const staff = () => client.as('admin');
  const call = (what: 'diagnoses' | 'examinations', id: number, room?: string) => staff().post(`/${what}/${id}/call`, room === undefined ? {} : { room });

  test('a visit takes the next number of its department\'s queue for the hospital day; each department counts from 1; no department is the default one', async () => {
    const today = hospitalDayOf(new Date(), ZONE);
    const internal = [await register('internal-medicine'), await register('internal-medicine'), await register('internal-medicine')];
    assert.deepEqual(numbers(internal), [1, 2, 3]);
    for (const reception of internal) {
      assert.equal(reception.queueDay, today, 'the day of the hospital\'s zone, not the server\'s');
      assert.match(reception.ticket, /^[A-Za-z0-9_-]{22}$/, 'the ticket\'s token: 128 random bits');
    }
    assert.equal(new Set(internal.map((r) => r.ticket)).size, 3, 'a token per visit');
    assert.equal((await register('surgery')).queueNumber, 1, 'surgery counts on its own');
    const unnamed = await register();
    assert.equal(unnamed.department, 'internal-medicine', 'a visit registered without a department is the default department\'s');
    assert.equal(unnamed.queueNumber, 4);
    // The number travels with the visit: the doctor's list and the board show it.
    assert.equal((await waitForDiagnosis(staff(), unnamed.id)).queueNumber, 4);
    const visit = await eventually(async () => ok(await client.get(`/patientManagements/${unnamed.id}`)));
    assert.equal(visit.queueNumber, 4);
  });

  test('registrations at the same moment at several desks get distinct numbers, 1 to n, none lost', async () => {
    const at = desks();
    const registered = await Promise.all(Array.from({ length: 12 }, (_, i) => register('pediatrics', `이서연${i}`, at[i % at.length])));
    assert.deepEqual(numbers(registered).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
  });

  test('the doctor calls, recalls and marks a no-show; the examiners call; the call screen\'s queue and the timeline follow', async () => {
    const first = await register('family-medicine', '남궁민수');
    const second = await register('family-medicine', 'Jane Doe');
    const [diagnosis] = await Promise.all([waitForDiagnosis(staff(), first.id), waitForDiagnosis(staff(), second.id)]);
    assert.ok(diagnosis);
    await eventually(async () => assert.deepEqual(numbers((await queueOf('family-medicine')).waiting), [1, 2]));
    const before = await queueOf('family-medicine');
    assert.deepEqual(before.waiting.map((w) => w.maskedName), ['남**수', 'J**e D*e'], 'names masked, never whole');
    assert.equal(before.waitingCount, 2);
    assert.deepEqual(before.calling, []);

    // Refused: no-show before a call, a room that is no room.
    assertProblem(await staff().post(`/diagnoses/${diagnosis.id}/no-show`), 409);
    assertProblem(await call('diagnoses', diagnosis.id, ''), 400, { fields: ['room'] });
    assertProblem(await call('diagnoses', diagnosis.id, 'x'.repeat(41)), 400, { fields: ['room'] });

    const called = ok(await call('diagnoses', diagnosis.id, '3')) as Diagnosis & { calledAt: string; callCount: number; room: string };
    assert.equal(called.callCount, 1);
    assert.equal(called.room, '3');
    await eventually(async () => {
      const queue = await queueOf('family-medicine');
      assert.deepEqual(queue.calling.map((c) => [c.queueNumber, c.room, c.callCount, c.maskedName]), [[1, '3', 1, '남**수']]);
      assert.deepEqual(numbers(queue.waiting), [2]);
    });
    const recalled = ok(await call('diagnoses', diagnosis.id)) as Diagnosis & { callCount: number; room: string };
    assert.deepEqual([recalled.callCount, recalled.room], [2, '3'], 'a recall without a room calls to the same room');
    await eventually(async () => assert.equal((await queueOf('family-medicine')).calling[0]?.callCount, 2));

    const absent = ok(await staff().post(`/diagnoses/${diagnosis.id}/no-show`)) as Diagnosis & { noShowAt?: string };
    assert.ok(absent.noShowAt);
    assertProblem(await staff().post(`/diagnoses/${diagnosis.id}/no-show`), 409);
    await eventually(async () => {
      const queue = await queueOf('family-medicine');
      assert.deepEqual(queue.calling, [], 'a patient who did not come leaves the screen');
      assert.deepEqual(numbers(queue.waiting), [2]);
    });
    // The visit stays open: called again, the patient comes, and is sent for an X-ray.
    ok(await call('diagnoses', diagnosis.id, '3'));
    const { prescription } = await prescribe(staff(), diagnosis.id, 'CHEST_XRAY');
    const examination = (await waitForExamination(staff(), diagnosis.id, prescription.prescriptionId)) as Examination & { department?: string };
    assert.equal(examination.department, 'radiology', 'called in the waiting room of the department that performs it');
    await eventually(async () => {
      const radiology = await queueOf('radiology');
      assert.deepEqual(radiology.waiting.map((w) => [w.queueNumber, w.from]), [[1, 'family-medicine']], 'a number of another department\'s queue says whose');
      assert.deepEqual((await queueOf('family-medicine')).calling, [], 'with the doctor now, off the screen');
    });
    const examinerCall = ok(await call('examinations', examination.id, 'CT-1')) as Examination & { callCount: number };
    assert.equal(examinerCall.callCount, 1);
    await eventually(async () => assert.deepEqual((await queueOf('radiology')).calling.map((c) => [c.queueNumber, c.room, c.from]), [[1, 'CT-1', 'family-medicine']]));
    await perform(staff(), examination.id, 'No infiltrates');
    await eventually(async () => {
      assert.deepEqual((await queueOf('radiology')).calling, []);
      assert.deepEqual(numbers((await queueOf('family-medicine')).waiting), [1, 2], 'back in the doctor\'s queue, in order, after the examination');
    });
    assertProblem(await call('examinations', examination.id), 409, {});

    const steps = await eventually(async () => {
      const { steps } = ok(await client.get<{ steps: Array<{ event: string; service: string; description: string }> }>(`/patientManagements/${first.id}/timeline`));
      assert.equal(steps.filter((s) => s.event === 'PatientCalled').length, 4);
      return steps;
    });
    assert.deepEqual(steps.filter((s) => s.event === 'PatientCalled').map((s) => s.service), ['diagnosis', 'diagnosis', 'diagnosis', 'examination']);
    assert.equal(steps.filter((s) => s.event === 'PatientNoShow').length, 1);
    for (const step of steps) assert.doesNotMatch(step.description, /남궁민수/, 'the timeline names no patient');

    await complete(staff(), diagnosis.id, 'Resolved');
    assertProblem(await call('diagnoses', diagnosis.id), 409);
  });

  test('the call screen\'s queue: for the display and every staff role; the display reads nothing else; an unknown department is a 404', async () => {
    for (const role of ['display', 'receptionist', 'doctor', 'examiner', 'manager', 'auditor', 'admin'] as const) {
      ok(await client.get('/queues/internal-medicine', { auth: role }), 200, role);
    }
    assertProblem(await client.get('/queues/internal-medicine', { auth: 'none' }), 401);
    for (const path of ['/patientManagements', '/receptions', '/diagnoses', '/patients?q=김']) assertProblem(await client.get(path, { auth: 'display' }), 403);
    assertProblem(await client.get('/queues/no-such-department'), 404);
    assertProblem(await client.get('/queues/Not_A_Code'), 400);
  });

  test('the patient\'s ticket: the number, how many are ahead, the room once called; refused after the visit ends; a token names nothing else', async () => {
    const ahead = await register('cardiology', '박지훈');
    const mine = await register('cardiology', '최유나');
    const anonymous = client.as('none');
    const ticket = await eventually(async () => ok(await anonymous.get<Ticket>(`/tickets/${mine.ticket}`)));
    assert.equal(ticket.queueNumber, 2);
    assert.equal(ticket.department, 'cardiology');
    assert.equal(ticket.maskedName, '최*나');
    assert.equal(ticket.status, 'WAITING');
    assert.equal(ticket.ahead, 1);
    assert.doesNotMatch(JSON.stringify(ticket), /최유나|박지훈|patientId|receptionId/, 'nothing beyond the masked name');
    assert.ok(Date.parse(ticket.validUntil) > Date.now());

    const diagnosis = await waitForDiagnosis(staff(), mine.id);
    ok(await call('diagnoses', diagnosis.id, '7'));
    const calledTicket = await eventually(async () => {
      const found = ok(await anonymous.get<Ticket>(`/tickets/${mine.ticket}`));
      assert.equal(found.status, 'CALLED');
      return found;
    });
    assert.equal(calledTicket.room, '7');
    assert.equal(calledTicket.ahead, 0);
    assert.equal(ok(await anonymous.get<Ticket>(`/tickets/${ahead.ticket}`)).ahead, 0, 'the one before is first now: the called one is no longer waiting');

    assertProblem(await anonymous.get(`/tickets/${'A'.repeat(22)}`), 404);
    assertProblem(await anonymous.get('/tickets/not-a-token'), 400);
    await complete(staff(), diagnosis.id, 'Fine');
    await waitForReception(client, mine.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    await confirm(client, mine.id);
    await eventually(async () => assertProblem(await anonymous.get(`/tickets/${mine.ticket}`), 410));
  });

  test('the waiting time of each stage of a visit whose times are known, per department and hour, and as a Prometheus histogram', async () => {
    const minutes = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 60_000;
    const since = new Date(Date.now() - 1000).toISOString();
    const reception = await register('orthopedics', '정하늘');
    const diagnosis = await waitForDiagnosis(staff(), reception.id);
    await sleep(1_500);
    const called = ok(await call('diagnoses', diagnosis.id, '2')) as Diagnosis & { calledAt: string };
    await sleep(3_000);
    const { prescription } = await prescribe(staff(), diagnosis.id, 'CBC');
    const examination = await waitForExamination(staff(), diagnosis.id, prescription.prescriptionId);
    await sleep(1_000);
    const performed = (await perform(staff(), examination.id, 'Normal')) as Examination & { performedAt: string };
    await waitForDiagnosis(staff(), reception.id, (d) => d.status === 'EXAMINATION_DONE');
    await sleep(2_000);
    const completed = await complete(staff(), diagnosis.id, 'Sprain');
    await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    await sleep(1_000);
    const confirmed = (await confirm(client, reception.id)) as Reception & { confirmedAt: string; receivedAt: string };

    const expected: Record<string, [string, number]> = {
      RECEPTION_TO_CALL: ['orthopedics', minutes(confirmed.receivedAt, called.calledAt)],
      CALL_TO_DIAGNOSIS: ['orthopedics', minutes(called.calledAt, prescription.prescribedAt as string)],
      PRESCRIPTION_TO_EXAMINATION: ['laboratory-medicine', minutes(prescription.prescribedAt as string, performed.performedAt)],
      EXAMINATIONS_TO_COMPLETION: ['orthopedics', minutes(performed.performedAt, completed.updatedAt)],
      COMPLETION_TO_CONFIRMATION: ['orthopedics', minutes(completed.updatedAt, confirmed.confirmedAt)],
      VISIT: ['orthopedics', minutes(confirmed.receivedAt, confirmed.confirmedAt)],
    };
    const figures = await eventually(async () => {
      const found = ok(await client.get<WaitingTimes>(`/patientManagements/waiting-times${query({ from: since })}`));
      const ours = found.stages.filter((s) => s.department === 'orthopedics' || s.department === 'laboratory-medicine');
      assert.equal(ours.length, 6, JSON.stringify(found.stages));
      return found;
    });
    for (const [stage, [department, wait]] of Object.entries(expected)) {
      const row = figures.stages.find((s) => s.stage === stage && s.department === department);
      assert.ok(row, `${stage} of ${department}: ${JSON.stringify(figures.stages)}`);
      assert.equal(row.count, 1, stage);
      // Rounded to a hundredth of a minute (0.6 s); the events' own times are those of the answers within milliseconds.
      assert.ok(Math.abs(row.p50Minutes - wait) <= 0.011, `${stage}: ${row.p50Minutes} min, expected ${wait.toFixed(3)}`);
      assert.equal(row.p90Minutes, row.p50Minutes, `${stage}: one visit, one wait`);
    }
    const hour = hospitalHourOf(confirmed.receivedAt, ZONE);
    assert.ok(figures.byHour.some((h) => h.stage === 'VISIT' && h.department === 'orthopedics' && h.hour === hour && h.count === 1), `by the hour of the hospital's clock (${hour})`);
    const filtered = ok(await client.get<WaitingTimes>(`/patientManagements/waiting-times${query({ from: since, department: 'laboratory-medicine' })}`));
    assert.deepEqual(filtered.stages.map((s) => s.stage), ['PRESCRIPTION_TO_EXAMINATION']);
    assertProblem(await client.get(`/patientManagements/waiting-times${query({ from: since, to: since })}`), 400, { fields: ['to'] });
    assertProblem(await client.get(`/patientManagements/waiting-times${query({ from: '2026-01-01T00:00:00Z', to: '2026-12-01T00:00:00Z' })}`), 400);
    assertProblem(await client.get('/patientManagements/waiting-times', { auth: 'doctor' }), 403);

    const metrics = await (await fetch(`${running.system.services['patient-management'].url}/metrics`)).text();
    assert.match(metrics, /medical_wait_seconds_count\{[^}]*department="orthopedics"[^}]*stage="VISIT"[^}]*\} 1/);
    assert.match(metrics, /medical_queue_waiting\{[^}]*department="internal-medicine"[^}]*\} \d+/);
    assert.match(metrics, /medical_queue_waiting_limit\{[^}]*department="orthopedics"[^}]*\} 30/);
  });

  test('the next hospital day begins every queue at 1 again', async () => {
    const before = await register('internal-medicine');
    assert.ok(before.queueNumber > 1);
    await running.system.restart('reception', undefined, { env: { HOSPITAL_TIME_ZONE: NEXT_DAY_ZONE } });
    const next = await register('internal-medicine');
    assert.equal(next.queueDay, hospitalDayOf(new Date(), NEXT_DAY_ZONE));
    assert.notEqual(next.queueDay, before.queueDay);
    assert.equal(next.queueNumber, 1);
    assert.equal((await register('internal-medicine')).queueNumber, 2);
  });
});

