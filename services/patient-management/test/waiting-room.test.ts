import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { sourceOf, type CloudEvent, type EventDataOf, type EventType, type MedicalEvent, type QueueView, type Role, type TicketView, type WaitingTimesView } from '@medical/contracts';
import { endOfHospitalDay, hospitalDayOf, startOfHospitalDay, startService, type RunningService, type ServiceContext } from '@medical/platform';
import { projectionEffect } from '../src/app/projection.ts';
import { loadVisit } from '../src/db/repository.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';
import { patientManagementService } from '../src/service.ts';
import { startDevIssuer, serviceEngines, type DevIssuer } from '../../../packages/platform/test/helpers.ts';

/**
 * The waiting room on one patient-management service started in process, its events applied by
 * the service's own projection: the call screen's queue through calls, a no-show, a recall, an
 * examination and the return to the doctor, a cancellation; the patient's ticket; the waits of the
 * stages and their percentiles; the live stream of a queue; the gauges and the histogram of
 * /metrics. Each test keeps to departments of its own. On SQLite, and on PostgreSQL when
 * DATABASE_URL is set.
 */
const engines = serviceEngines('pmwait');
const TIME_ZONE = 'Asia/Seoul';
const today = hospitalDayOf(new Date(), TIME_ZONE);
/** `hh:mm` of today on the hospital's clock, as an instant. */
const at = (hhmm: string, day = today) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return new Date(startOfHospitalDay(day, TIME_ZONE).getTime() + (h * 60 + m) * 60_000).toISOString();
};
const yesterday = new Date(Date.parse(at('12:00')) - 24 * 3600_000).toISOString().slice(0, 10);

function event<T extends EventType>(type: T, data: EventDataOf<T>, time: string): CloudEvent<T> {
  const receptionId = (data as { receptionId: number }).receptionId;
  return { specversion: '1.0', id: randomUUID(), type, source: sourceOf({ type, data } as MedicalEvent), time, subject: String(receptionId), datacontenttype: 'application/json', data };
}

const ticketToken = () => randomUUID().replaceAll('-', '').slice(0, 22);
const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** The events of a visit of `department` numbered `queueNumber`: each builder names its time. */
function visitOf(receptionId: number, department: string, queueNumber: number, options: { token?: string; day?: string; name?: string } = {}) {
  const diagnosisId = receptionId;
  const ids = { receptionId, diagnosisId };
  const prescriptionId = randomUUID();
  const examinationId = receptionId;
  const patientName = options.name ?? '김민지';
  return {
    prescriptionId,
    received: (time: string) =>
      event('ReceptionCompleted', {
        receptionId,
        patientId: `P-${receptionId}`,
        patientName,
        department,
        queueNumber,
        queueDay: options.day ?? today,
        receivedAt: time,
        ...(options.token ? { ticketDigest: digestOf(options.token) } : {}),
      }, time),
    called: (time: string, callCount = 1, room = '3') => event('PatientCalled', { ...ids, calledFor: 'DIAGNOSIS', department, queueNumber, room, callCount, calledAt: time }, time),
    noShow: (time: string) => event('PatientNoShow', { ...ids, calledFor: 'DIAGNOSIS', department, queueNumber, markedAt: time }, time),
    prescribed: (time: string, examinationType = 'CHEST_XRAY') =>
      event('ExaminationPrescribed', { ...ids, prescriptionId, patientId: `P-${receptionId}`, patientName, examinationType, visitDepartment: department, queueNumber }, time),
    requested: (time: string, where = 'radiology') =>
      event('ExaminationRequested', { ...ids, prescriptionId, examinationId, examinationType: 'CHEST_XRAY', department: where, visitDepartment: department, queueNumber }, time),
    examinerCalled: (time: string, where = 'radiology') =>
      event('PatientCalled', { ...ids, calledFor: 'EXAMINATION', examinationId, examinationType: 'CHEST_XRAY', department: where, visitDepartment: department, queueNumber, room: 'CT-1', callCount: 1, calledAt: time }, time),
    performed: (time: string) => event('ExaminationPerformed', { ...ids, prescriptionId, examinationId, result: 'clear', performedAt: time }, time),
    completed: (time: string) => event('DiagnosisCompleted', { ...ids, opinion: 'healthy' }, time),
    confirmed: (time: string) => event('ReceptionConfirmed', { receptionId, outcome: 'COMPLETED' }, time),
    cancelled: (time: string) => event('ReceptionCancelled', { receptionId, reason: 'left' }, time),
  };
}

for (const engine of engines) {
  describe(`the waiting room (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let service: RunningService;
    let context: ServiceContext<PatientManagementDatabase> | undefined;
    let dataDir: string;
    let env: Record<string, string>;
    let effect: ReturnType<typeof projectionEffect>;

    before(async () => {
      const { routes } = patientManagementService;
      assert.ok(routes);
      issuer = await startDevIssuer();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-waiting-room-'));
      env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', HOSPITAL_TIME_ZONE: TIME_ZONE, ...engine.env(), ...issuer.env };
      service = await startService({ ...patientManagementService, routes: (app, given) => ((context = given), routes(app, given)) }, env);
      // The service's own projection (its consumer's runs beside, with the metrics registered already).
      effect = projectionEffect({ ...context!, metrics: { ...context!.metrics, registry: new Registry() } });
    });
    after(async () => {
      await service?.stop();
      await issuer?.close();
      await engine.drop(env);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const apply = async (...events: CloudEvent[]) => {
      for (const e of events) await context!.execute((trx) => effect(trx, e));
    };
    const get = async (url: string, role: Role | null = 'display') => fetch(`${service.url}${url}`, { headers: role ? await issuer.authorization(role) : {} });
    const json = async <T>(url: string, role: Role | null = 'display'): Promise<T> => {
      const response = await get(url, role);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text) as T;
    };
    const queue = (department: string) => json<QueueView>(`/queues/${department}`);
    const numbers = (view: QueueView) => ({
      calling: view.calling.map((p) => `${p.queueNumber}${p.from ? `@${p.from}` : ''}${p.room ? ` ${p.room}` : ''} x${p.callCount}`),
      waiting: view.waiting.map((p) => `${p.queueNumber}${p.from ? `@${p.from}` : ''}`),
      waitingCount: view.waitingCount,
    });

    test('the call screen through calls, a no-show, a recall, an examination and the return to the doctor, a cancellation', async () => {
      const [a, b, c] = [visitOf(1001, 'surgery', 1), visitOf(1002, 'surgery', 2, { name: 'Jane Doe' }), visitOf(1003, 'surgery', 3)];
      await apply(a.received(at('08:00')), b.received(at('08:01')), c.received(at('08:02')));
      const first = await queue('surgery');
      assert.deepEqual(numbers(first), { calling: [], waiting: ['1', '2', '3'], waitingCount: 3 });
      assert.deepEqual([first.department, first.day, first.medianWaitMinutes, first.waiting[1]?.maskedName], ['surgery', today, null, 'J**e D*e']);

      await apply(a.called(at('08:10')), b.called(at('08:12')));
      assert.deepEqual(numbers(await queue('surgery')), { calling: ['2 3 x1', '1 3 x1'], waiting: ['3'], waitingCount: 1 });
      await apply(b.noShow(at('08:14')));
      assert.deepEqual(numbers(await queue('surgery')), { calling: ['1 3 x1'], waiting: ['3'], waitingCount: 1 }, 'not come: off the screen');
      await apply(b.called(at('08:16'), 2, '4'));
      assert.deepEqual(numbers(await queue('surgery')), { calling: ['2 4 x2', '1 3 x1'], waiting: ['3'], waitingCount: 1 }, 'recalled');

      // The doctor prescribes a chest X-ray: the patient leaves the doctor's screen and waits in radiology's, under surgery's number.
      await apply(a.prescribed(at('08:20')), a.requested(at('08:21')));
      assert.deepEqual(numbers(await queue('surgery')), { calling: ['2 4 x2'], waiting: ['3'], waitingCount: 1 });
      assert.deepEqual(numbers(await queue('radiology')), { calling: [], waiting: ['1@surgery'], waitingCount: 1 });
      await apply(a.examinerCalled(at('08:30')));
      assert.deepEqual(numbers(await queue('radiology')), { calling: ['1@surgery CT-1 x1'], waiting: [], waitingCount: 0 });
      await apply(a.performed(at('08:40')));
      assert.deepEqual(numbers(await queue('radiology')), { calling: [], waiting: [], waitingCount: 0 });
      assert.deepEqual(numbers(await queue('surgery')), { calling: ['2 4 x2'], waiting: ['1', '3'], waitingCount: 2 }, 'back to the doctor, in line where it joined');

      await apply(c.cancelled(at('08:45')));
      const last = await queue('surgery');
      assert.deepEqual(numbers(last), { calling: ['2 4 x2'], waiting: ['1'], waitingCount: 1 });
      // First calls after 10 and 11 minutes.
      assert.equal(last.medianWaitMinutes, 10.5);
      assert.equal((await queue('radiology')).medianWaitMinutes, 10, 'radiology called 10 minutes after the prescription');
      assert.doesNotMatch(JSON.stringify(last), /김민지|Jane|P-100/, 'numbers and masked names only');

      // The visit view has its department and number; the timeline says who was called where.
      const view = await json<Record<string, unknown>>('/patientManagements/1002', 'manager');
      assert.deepEqual([view.department, view.queueNumber, view.receivedAt, view.firstCalledAt], ['surgery', 2, undefined, undefined]);
      const timeline = await json<{ steps: Array<{ description: string; stage: string }> }>('/patientManagements/1002/timeline', 'manager');
      assert.deepEqual(timeline.steps.slice(1).map((s) => [s.description, s.stage]), [
        ['Called to room 3 by the doctor', 'RECEIVED'],
        ['Did not come when called by the doctor', 'RECEIVED'],
        ['Recalled (2nd call) to room 4 by the doctor', 'RECEIVED'],
      ]);
    });

    test('a department the catalog does not have is a 404; a malformed code a 400; every staff role and the screen may read a queue', async () => {
      for (const [url, status] of [['/queues/dermatology', 404], ['/queues/Not_A_Code', 400], ['/queues/dermatology/stream', 404]] as const) {
        const response = await get(url);
        assert.equal(response.status, status, url);
        assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
      for (const role of ['receptionist', 'doctor', 'examiner', 'manager', 'auditor', 'admin', 'display'] as const) assert.equal((await get('/queues/pediatrics', role)).status, 200, role);
      assert.equal((await get('/queues/pediatrics', null)).status, 401);
    });

    test("the patient's ticket: public, waiting with how many ahead and the pace, called, and gone after the day or the visit", async () => {
      const tokens = [ticketToken(), ticketToken(), ticketToken(), ticketToken()];
      const [a, b, c] = [1, 2, 3].map((n, i) => visitOf(2000 + n, 'orthopedics', n, { token: tokens[i]! }));
      await apply(a!.received(at('08:00')), b!.received(at('08:01')), c!.received(at('08:02')));
      const ticket = async (token: string) => {
        const response = await get(`/tickets/${token}`, null);
        assert.equal(response.headers.get('cache-control'), 'no-store');
        return { status: response.status, body: (await response.json()) as TicketView & { detail?: string } };
      };
      const waiting = await ticket(tokens[2]!);
      assert.equal(waiting.status, 200, JSON.stringify(waiting.body));
      assert.deepEqual(waiting.body, {
        department: 'orthopedics',
        day: today,
        queueNumber: 3,
        maskedName: '김*지',
        status: 'WAITING',
        ahead: 2,
        expectedWaitMinutes: null,
        validUntil: endOfHospitalDay(today, TIME_ZONE).toISOString(),
      });

      await apply(a!.called(at('08:10')), b!.called(at('08:25'), 1, '7'));
      const paced = (await ticket(tokens[2]!)).body;
      assert.deepEqual([paced.status, paced.ahead, paced.expectedWaitMinutes], ['WAITING', 0, 15], 'one call every 15 minutes');
      const called = (await ticket(tokens[1]!)).body;
      assert.deepEqual([called.status, called.room, called.calledAt, called.ahead], ['CALLED', '7', at('08:25'), 0]);

      const unknown = await ticket(ticketToken());
      assert.equal(unknown.status, 404);
      assert.equal((await get('/tickets/not-a-token', null)).status, 400);

      await apply(a!.completed(at('08:30')), a!.confirmed(at('08:35')));
      const ended = await ticket(tokens[0]!);
      assert.deepEqual([ended.status, ended.body.detail], [410, 'this visit has ended; the ticket is no longer needed']);
      const old = visitOf(2004, 'orthopedics', 9, { token: tokens[3]!, day: yesterday });
      await apply(old.received(at('09:00', yesterday)));
      const expired = await ticket(tokens[3]!);
      assert.deepEqual([expired.status, expired.body.detail], [410, `this ticket was valid on ${yesterday} only`]);
    });

    test('the waits of the stages: exact to the second, p50 and p90 per department and stage and per hour, only from and to the span asked', async () => {
      const [a, b, c] = [visitOf(3001, 'pediatrics', 1), visitOf(3002, 'pediatrics', 2), visitOf(3003, 'pediatrics', 3)];
      // a: called after 20 minutes, the X-ray 09:40 to 10:00 in radiology, back, completed 10:15, confirmed 10:30.
      await apply(a.received(at('09:00')), a.called(at('09:20')), a.prescribed(at('09:40')), a.requested(at('09:41')), a.performed(at('10:00')), a.completed(at('10:15')), a.confirmed(at('10:30')));
      // b: called after 40 minutes, completed without examinations 10 minutes later; c waits.
      await apply(b.received(at('09:00')), b.called(at('09:40')), b.completed(at('09:50')), c.received(at('09:05')));
      const span = `from=${encodeURIComponent(at('00:00'))}&to=${encodeURIComponent(at('23:59'))}`;
      const times = await json<WaitingTimesView>(`/patientManagements/waiting-times?${span}&department=pediatrics`, 'manager');
      assert.deepEqual(times.stages, [
        { department: 'pediatrics', stage: 'RECEPTION_TO_CALL', count: 2, p50Minutes: 20, p90Minutes: 40 },
        { department: 'pediatrics', stage: 'CALL_TO_DIAGNOSIS', count: 2, p50Minutes: 10, p90Minutes: 20 },
        { department: 'pediatrics', stage: 'EXAMINATIONS_TO_COMPLETION', count: 1, p50Minutes: 15, p90Minutes: 15 },
        { department: 'pediatrics', stage: 'COMPLETION_TO_CONFIRMATION', count: 1, p50Minutes: 15, p90Minutes: 15 },
        { department: 'pediatrics', stage: 'VISIT', count: 1, p50Minutes: 90, p90Minutes: 90 },
      ]);
      // By the hour of the hospital's clock at which each stage began.
      assert.deepEqual(times.byHour.map((h) => `${h.stage} ${h.hour} ${h.count}`), [
        'RECEPTION_TO_CALL 9 2',
        'CALL_TO_DIAGNOSIS 9 2',
        'EXAMINATIONS_TO_COMPLETION 10 1',
        'COMPLETION_TO_CONFIRMATION 10 1',
        'VISIT 9 1',
      ]);
      assert.deepEqual([times.from, times.to, times.timeZone, times.waitingNow], [at('00:00'), at('23:59'), TIME_ZONE, [{ department: 'pediatrics', waitingCount: 1 }]]);
      // The examination's wait is radiology's (from 09:30: the other tests' examinations were before).
      const radiology = await json<WaitingTimesView>(`/patientManagements/waiting-times?from=${encodeURIComponent(at('09:30'))}&to=${encodeURIComponent(at('23:59'))}&department=radiology`, 'manager');
      assert.deepEqual(radiology.stages, [{ department: 'radiology', stage: 'PRESCRIPTION_TO_EXAMINATION', count: 1, p50Minutes: 20, p90Minutes: 20 }]);
      // Applied again (a replay), no wait counts twice.
      await apply(a.confirmed(at('10:30')));
      assert.deepEqual((await json<WaitingTimesView>(`/patientManagements/waiting-times?${span}&department=pediatrics`, 'manager')).stages.at(-1)?.count, 1);
      // Outside the span: none.
      const before = await json<WaitingTimesView>(`/patientManagements/waiting-times?from=${encodeURIComponent(at('00:00'))}&to=${encodeURIComponent(at('09:00'))}&department=pediatrics`, 'manager');
      assert.deepEqual(before.stages, []);
    });

    test('a span that is empty or longer than the limit is a 400 naming the field; the list of visits is not taken for a visit', async () => {
      const problem = async (query: string) => {
        const response = await get(`/patientManagements/waiting-times?${query}`, 'manager');
        assert.equal(response.status, 400, query);
        return ((await response.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field);
      };
      assert.deepEqual(await problem(`from=${encodeURIComponent(at('10:00'))}&to=${encodeURIComponent(at('09:00'))}`), ['to']);
      assert.deepEqual(await problem(`from=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`), ['from']);
      assert.deepEqual(await problem(`from=2020-01-01T00:00:00.000Z&to=2020-06-01T00:00:00.000Z`), ['from']);
      assert.deepEqual(await problem(`from=2020-01-01T00:00:00.000Z`), ['from']);
      assert.deepEqual(await problem(`to=2099-01-01T00:00:00.000Z`), ['to']);
      assert.deepEqual(await problem('from=yesterday'), ['from']);
      const defaults = await json<WaitingTimesView>('/patientManagements/waiting-times', 'manager');
      assert.deepEqual([defaults.from, defaults.timeZone], [startOfHospitalDay(today, TIME_ZONE).toISOString(), TIME_ZONE]);
      assert.ok(defaults.waitingNow.some((w) => w.department === 'laboratory-medicine'), 'every department of the catalog');
      assert.equal((await get('/patientManagements/waiting-times', 'doctor')).status, 403);
    });

    test("a queue's live stream: the queue at once, and again shortly after each change", async () => {
      const response = await get('/queues/family-medicine/stream');
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const nextQueue = async (seen: number): Promise<QueueView> => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const events = text.split('\n\n').filter((block) => block.includes('event: queue'));
          if (events.length > seen) return JSON.parse(events[seen]!.split('data: ')[1]!) as QueueView;
          assert.ok(Date.now() < deadline, `no queue event ${seen + 1} within 10 s: ${text}`);
          const { value, done } = await reader.read();
          assert.ok(!done, 'the stream ended');
          text += value;
        }
      };
      try {
        assert.deepEqual(numbers(await nextQueue(0)), { calling: [], waiting: [], waitingCount: 0 });
        const v = visitOf(4001, 'family-medicine', 1);
        const changed = Date.now();
        await apply(v.received(at('08:00')));
        assert.deepEqual(numbers(await nextQueue(1)), { calling: [], waiting: ['1'], waitingCount: 1 });
        const took = Date.now() - changed;
        assert.ok(took < 2_000, `the change arrived after ${took} ms`);
        await apply(v.called(at('08:05')));
        assert.deepEqual(numbers(await nextQueue(2)), { calling: ['1 3 x1'], waiting: [], waitingCount: 0 });
        // A change of another department's queue is not sent here.
        await apply(visitOf(4002, 'cardiology', 1).received(at('08:06')), v.noShow(at('08:07')));
        assert.deepEqual(numbers(await nextQueue(3)), { calling: [], waiting: [], waitingCount: 0 });
        assert.doesNotMatch(text, /cardiology/);
      } finally {
        await reader.cancel();
      }
    });

    test('/metrics: the waiting rooms of every department today with their limits, and the waits of the stages as they end', async () => {
      // Through the service's own consumer, so that its histogram counts the waits.
      const v = visitOf(5001, 'laboratory-medicine', 1);
      const waiting = visitOf(5002, 'laboratory-medicine', 2);
      const events = [v.received(at('07:00')), v.called(at('07:30')), v.completed(at('07:45')), v.confirmed(at('08:00')), waiting.received(at('07:10'))];
      await service.transport.publish(events.map((e) => ({
        topic: 'medical',
        key: e.subject,
        headers: { ce_specversion: '1.0', ce_id: e.id, ce_type: e.type, ce_source: e.source, ce_time: e.time, ce_subject: e.subject, 'content-type': 'application/json' },
        value: JSON.stringify(e.data),
      })));
      const deadline = Date.now() + 20_000;
      while ((await loadVisit(context!.database.db, 5002)) === null || (await loadVisit(context!.database.db, 5001))?.stage !== 'CONFIRMED') {
        assert.ok(Date.now() < deadline, 'the consumer did not apply the events');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const text = await (await fetch(`${service.url}/metrics`)).text();
      const sample = (name: string, labels: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((label) => l.includes(label)));
        assert.ok(line, `${name}{${labels}} in /metrics`);
        return Number(line.split(' ').at(-1));
      };
      assert.equal(sample('medical_queue_waiting', 'department="laboratory-medicine"'), 1);
      assert.equal(sample('medical_queue_median_wait_seconds', 'department="laboratory-medicine"'), 1800);
      assert.ok(sample('medical_queue_waiting', 'department="radiology"') >= 0, 'every department of the catalog');
      assert.equal(sample('medical_queue_waiting_limit', 'department="laboratory-medicine"'), 30);
      assert.equal(sample('medical_queue_median_wait_limit_seconds', 'department="laboratory-medicine"'), 3600);
      assert.equal(sample('medical_wait_seconds_count', 'department="laboratory-medicine",stage="VISIT"'), 1);
      assert.equal(sample('medical_wait_seconds_sum', 'department="laboratory-medicine",stage="RECEPTION_TO_CALL"'), 1800);
      assert.equal(sample('medical_wait_seconds_bucket', 'department="laboratory-medicine",stage="VISIT",le="3600"'), 1);
    });
  });
}
