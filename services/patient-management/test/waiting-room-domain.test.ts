import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventDataOf, EventType } from '@medical/contracts';
import { P1, P2 } from '@medical/platform/testing';
import { DOCTORS_ENTRY, type QueueEntry } from '../src/domain/queue-entries.ts';
import { median, queueView, ticketStanding, ticketView } from '../src/domain/queue-views.ts';
import { timelineStep } from '../src/domain/timeline.ts';
import type { ProjectedEvent } from '../src/domain/visit.ts';
import { nearestRank, summariseWaits } from '../src/domain/waits.ts';
import { foldWaitingRoom } from './waiting-room-fold.ts';

/**
 * The waiting room's pure parts: the entries of the queues through a scripted visit (calls, a
 * no-show, a recall, an examination, the return to the doctor), the waits of its stages to the
 * second, the call screen's answer and the ticket's, and the percentiles of the charts.
 */
const at = (hhmm: string) => `2026-03-02T${hhmm}:00.000Z`;
const ids = { receptionId: 7, diagnosisId: 5 };
const event = <T extends EventType>(type: T, data: EventDataOf<T>, time: string): ProjectedEvent => ({ type, data, time });

const ev = {
  received: (time = at('09:00')) =>
    event('ReceptionCompleted', { receptionId: 7, patientId: 'P-001', patientName: '김민지', department: 'internal-medicine', queueNumber: 12, queueDay: '2026-03-02', receivedAt: time }, time),
  doctorCalls: (time: string, callCount: number, room = '3') =>
    event('PatientCalled', { ...ids, calledFor: 'DIAGNOSIS', department: 'internal-medicine', queueNumber: 12, room, callCount, calledAt: time }, time),
  doctorsNoShow: (time: string) => event('PatientNoShow', { ...ids, calledFor: 'DIAGNOSIS', department: 'internal-medicine', queueNumber: 12, markedAt: time }, time),
  // The projection adds the catalog's performing department to a prescription (app/projection.ts).
  prescribed: (prescriptionId: string, time: string, department = 'radiology') =>
    event('ExaminationPrescribed', { ...ids, prescriptionId, patientId: 'P-001', patientName: '김민지', examinationType: 'CHEST_XRAY', visitDepartment: 'internal-medicine', queueNumber: 12, department } as EventDataOf<'ExaminationPrescribed'>, time),
  requested: (prescriptionId: string, examinationId: number, time: string, department = 'radiology') =>
    event('ExaminationRequested', { ...ids, prescriptionId, examinationId, examinationType: 'CHEST_XRAY', department, visitDepartment: 'internal-medicine', queueNumber: 12 }, time),
  examinerCalls: (examinationId: number, time: string, callCount = 1) =>
    event('PatientCalled', { ...ids, calledFor: 'EXAMINATION', examinationId, examinationType: 'CHEST_XRAY', department: 'radiology', visitDepartment: 'internal-medicine', queueNumber: 12, room: 'CT-1', callCount, calledAt: time }, time),
  performed: (prescriptionId: string, examinationId: number, time: string) =>
    event('ExaminationPerformed', { ...ids, prescriptionId, examinationId, result: 'clear', performedAt: time }, time),
  examinationCancelled: (prescriptionId: string, examinationId: number, time: string) =>
    event('ExaminationCancelled', { ...ids, prescriptionId, examinationId, reason: 'not needed' }, time),
  completed: (time: string) => event('DiagnosisCompleted', { ...ids, opinion: 'healthy' }, time),
  rejected: (time: string) => event('DiagnosisRejected', { ...ids, reason: 'referred' }, time),
  confirmed: (time: string) => event('ReceptionConfirmed', { receptionId: 7, outcome: 'COMPLETED' }, time),
  cancelled: (time: string) => event('ReceptionCancelled', { receptionId: 7, reason: 'left' }, time),
  merged: (time: string) => event('ReceptionPatientMerged', { receptionId: 7, patientId: 'P-002', patientName: '남궁민수', previousPatientId: 'P-001', mergedAt: time }, time),
};

/** A whole visit: called at 09:20, not come, recalled 09:30, a chest X-ray from 09:40 (called 09:50, performed 10:00), back to the doctor, completed 10:15, confirmed 10:30. */
const visit = [
  ev.received(),
  ev.doctorCalls(at('09:20'), 1),
  ev.doctorsNoShow(at('09:25')),
  ev.doctorCalls(at('09:30'), 2),
  ev.prescribed(P1, at('09:40')),
  ev.requested(P1, 101, at('09:41')),
  ev.examinerCalls(101, at('09:50')),
  ev.performed(P1, 101, at('10:00')),
  ev.doctorCalls(at('10:10'), 3, '5'),
  ev.completed(at('10:15')),
  ev.confirmed(at('10:30')),
];

const doctorOf = (events: ProjectedEvent[]) => foldWaitingRoom(events).entries.find((e) => e.item === DOCTORS_ENTRY);
const examinationOf = (events: ProjectedEvent[], prescriptionId = P1) => foldWaitingRoom(events).entries.find((e) => e.item === prescriptionId);
const stateAfter = (events: ProjectedEvent[]) => events.map((_, i) => doctorOf(events.slice(0, i + 1))?.state);

describe("the doctor's entry", () => {
  test('joins at the registration, under the number of the visit, with the name masked', () => {
    assert.deepEqual(doctorOf([ev.received()]), {
      receptionId: 7,
      item: DOCTORS_ENTRY,
      purpose: 'DIAGNOSIS',
      department: 'internal-medicine',
      visitDepartment: 'internal-medicine',
      day: '2026-03-02',
      queueNumber: 12,
      maskedName: '김*지',
      state: 'WAITING',
      joinedAt: at('09:00'),
      waitingSince: at('09:00'),
      callCount: 0,
      updatedAt: at('09:00'),
    });
  });

  test('through a call, a no-show, a recall, the doctor at work, the return after the examination, the outcome', () => {
    assert.deepEqual(stateAfter(visit), ['WAITING', 'CALLED', 'NO_SHOW', 'CALLED', 'IN_PROGRESS', 'IN_PROGRESS', 'IN_PROGRESS', 'WAITING', 'CALLED', 'DONE', 'DONE']);
    const back = doctorOf(visit.slice(0, 8))!;
    assert.deepEqual([back.waitingSince, back.firstCalledAt, back.lastCalledAt, back.callCount], [at('10:00'), at('09:20'), at('09:30'), 2], 'waits again from the moment the examination ended');
    const recalled = doctorOf(visit.slice(0, 9))!;
    assert.deepEqual([recalled.room, recalled.callCount, recalled.lastCalledAt, recalled.firstCalledAt], ['5', 3, at('10:10'), at('09:20')]);
  });

  test('a visit registered without a queue number has no entry, and calls for it move nothing', () => {
    const old = event('ReceptionCompleted', { receptionId: 7, patientId: 'P-001', patientName: '김민지', receivedAt: at('09:00') }, at('09:00'));
    assert.deepEqual(foldWaitingRoom([old, ev.doctorCalls(at('09:20'), 1), ev.prescribed(P1, at('09:40'))]).entries, []);
  });

  test('a cancelled reception takes every entry of the visit out of the queues', () => {
    const events = [...visit.slice(0, 6), ev.cancelled(at('09:45'))];
    assert.deepEqual(foldWaitingRoom(events).entries.map((e) => e.state), ['DONE', 'DONE']);
    // A call that arrives after it (a doctor's screen a moment behind) does not bring the patient back.
    assert.equal(doctorOf([...events, ev.doctorCalls(at('09:46'), 3)])?.state, 'DONE');
  });

  test('a merge of the patient renames every entry of the visit, masked', () => {
    const events = [...visit.slice(0, 6), ev.merged(at('09:45'))];
    assert.deepEqual(foldWaitingRoom(events).entries.map((e) => e.maskedName), ['남**수', '남**수']);
  });

  test('an older call or no-show applied after a newer call changes nothing, nor does the same call again', () => {
    const called = visit.slice(0, 4);
    const entry = doctorOf(called);
    assert.deepEqual(doctorOf([...called, ev.doctorCalls(at('09:20'), 1)]), entry);
    assert.deepEqual(doctorOf([...called, ev.doctorsNoShow(at('09:25'))]), entry);
    assert.deepEqual(doctorOf([...called, ev.doctorCalls(at('09:30'), 2)]), entry);
  });
});

describe("an examination's entry", () => {
  test("joins the performing department's queue at the prescription, under the visit's number, from the visit's department", () => {
    assert.deepEqual(examinationOf(visit.slice(0, 5)), {
      receptionId: 7,
      item: P1,
      purpose: 'EXAMINATION',
      department: 'radiology',
      visitDepartment: 'internal-medicine',
      day: '2026-03-02',
      queueNumber: 12,
      maskedName: '김*지',
      state: 'WAITING',
      joinedAt: at('09:40'),
      waitingSince: at('09:40'),
      callCount: 0,
      updatedAt: at('09:40'),
    });
  });

  test("takes the examiners' department and id when ordered, their calls, and is done once performed", () => {
    const moved = examinationOf([...visit.slice(0, 5), ev.requested(P1, 101, at('09:41'), 'cardiology')])!;
    assert.deepEqual([moved.department, moved.examinationId], ['cardiology', 101]);
    const called = examinationOf(visit.slice(0, 7))!;
    assert.deepEqual([called.state, called.room, called.lastCalledAt, called.callCount], ['CALLED', 'CT-1', at('09:50'), 1]);
    assert.equal(examinationOf(visit.slice(0, 8))?.state, 'DONE');
  });

  test('the doctor goes back to waiting only when the last pending examination ends', () => {
    const two = [...visit.slice(0, 6), ev.prescribed(P2, at('09:42')), ev.requested(P2, 102, at('09:43')), ev.performed(P1, 101, at('10:00'))];
    assert.equal(doctorOf(two)?.state, 'IN_PROGRESS');
    const back = doctorOf([...two, ev.examinationCancelled(P2, 102, at('10:05'))])!;
    assert.deepEqual([back.state, back.waitingSince], ['WAITING', at('10:05')]);
  });
});

describe('the waits of the stages', () => {
  test('of the scripted visit, to the second, each in its department', () => {
    const { waits } = foldWaitingRoom(visit);
    assert.deepEqual(
      waits.map((w) => [w.stage, w.item, w.department, w.startedAt, w.endedAt, w.seconds]),
      [
        ['RECEPTION_TO_CALL', '', 'internal-medicine', at('09:00'), at('09:20'), 1200],
        ['CALL_TO_DIAGNOSIS', '', 'internal-medicine', at('09:20'), at('09:40'), 1200],
        ['PRESCRIPTION_TO_EXAMINATION', '101', 'radiology', at('09:40'), at('10:00'), 1200],
        ['EXAMINATIONS_TO_COMPLETION', '', 'internal-medicine', at('10:00'), at('10:15'), 900],
        ['COMPLETION_TO_CONFIRMATION', '', 'internal-medicine', at('10:15'), at('10:30'), 900],
        ['VISIT', '', 'internal-medicine', at('09:00'), at('10:30'), 5400],
      ],
    );
  });

  test('a cancelled examination is no wait for it; a diagnosis completed without examinations ends the wait for the doctor', () => {
    const events = [ev.received(), ev.doctorCalls(at('09:10'), 1), ev.completed(at('09:25')), ev.confirmed(at('09:40'))];
    assert.deepEqual(foldWaitingRoom(events).waits.map((w) => [w.stage, w.seconds]), [
      ['RECEPTION_TO_CALL', 600],
      ['CALL_TO_DIAGNOSIS', 900],
      ['COMPLETION_TO_CONFIRMATION', 900],
      ['VISIT', 2400],
    ]);
    const cancelled = [...visit.slice(0, 6), ev.examinationCancelled(P1, 101, at('09:55')), ev.completed(at('10:05'))];
    assert.deepEqual(foldWaitingRoom(cancelled).waits.map((w) => w.stage), ['RECEPTION_TO_CALL', 'CALL_TO_DIAGNOSIS', 'EXAMINATIONS_TO_COMPLETION']);
  });

  test('a rejection while an examination is pending ends no wait of the examinations; a cancelled visit ends no visit', () => {
    const rejected = [...visit.slice(0, 6), ev.rejected(at('09:50')), ev.examinationCancelled(P1, 101, at('09:51'))];
    assert.deepEqual(foldWaitingRoom(rejected).waits.map((w) => w.stage), ['RECEPTION_TO_CALL', 'CALL_TO_DIAGNOSIS']);
    assert.deepEqual(foldWaitingRoom([ev.received(), ev.cancelled(at('09:05'))]).waits, []);
  });
});

/** An entry of a queue for the views, as the table would hand it. */
function entry(fields: Partial<QueueEntry> & Pick<QueueEntry, 'queueNumber' | 'state'>): QueueEntry {
  return {
    receptionId: fields.queueNumber,
    item: DOCTORS_ENTRY,
    purpose: 'DIAGNOSIS',
    department: 'internal-medicine',
    visitDepartment: 'internal-medicine',
    day: '2026-03-02',
    maskedName: `환*${fields.queueNumber}`,
    joinedAt: at('09:00'),
    waitingSince: at('09:00'),
    callCount: 0,
    updatedAt: at('09:00'),
    ...fields,
  };
}

describe('the call screen', () => {
  test('calling newest first, waiting in order with the number of another department marked, the median wait to the first call', () => {
    const entries = [
      entry({ queueNumber: 1, state: 'DONE', joinedAt: at('09:00'), firstCalledAt: at('09:10'), lastCalledAt: at('09:10'), callCount: 1 }),
      entry({ queueNumber: 2, state: 'CALLED', joinedAt: at('09:01'), firstCalledAt: at('09:21'), lastCalledAt: at('09:21'), callCount: 1, room: '3' }),
      entry({ queueNumber: 3, state: 'CALLED', joinedAt: at('09:02'), firstCalledAt: at('09:12'), lastCalledAt: at('09:30'), callCount: 2 }),
      entry({ queueNumber: 4, state: 'NO_SHOW', joinedAt: at('09:03'), firstCalledAt: at('09:33'), lastCalledAt: at('09:33'), callCount: 1 }),
      entry({ queueNumber: 6, state: 'WAITING', joinedAt: at('09:05') }),
      // Back from an examination: waiting again since 09:40, in line where it joined.
      entry({ queueNumber: 12, state: 'WAITING', joinedAt: at('09:04'), waitingSince: at('09:40'), visitDepartment: 'surgery' }),
      entry({ queueNumber: 5, state: 'WAITING', joinedAt: at('09:05') }),
    ];
    assert.deepEqual(queueView('internal-medicine', '2026-03-02', entries), {
      department: 'internal-medicine',
      day: '2026-03-02',
      calling: [
        { queueNumber: 3, maskedName: '환*3', calledAt: at('09:30'), callCount: 2 },
        { queueNumber: 2, maskedName: '환*2', room: '3', calledAt: at('09:21'), callCount: 1 },
      ],
      waiting: [
        { queueNumber: 12, maskedName: '환*12', from: 'surgery' },
        { queueNumber: 5, maskedName: '환*5' },
        { queueNumber: 6, maskedName: '환*6' },
      ],
      waitingCount: 3,
      // First calls after 10, 20, 10 and 30 minutes: the median of four is the mean of 10 and 20.
      medianWaitMinutes: 15,
    });
  });

  test('at most 10 called and 30 waiting shown, every one waiting counted; no median before the first call', () => {
    const entries = Array.from({ length: 50 }, (_, i) =>
      i < 12 ? entry({ queueNumber: i + 1, state: 'CALLED', lastCalledAt: at(`10:${String(i).padStart(2, '0')}`), callCount: 1 }) : entry({ queueNumber: i + 1, state: 'WAITING' }),
    );
    const view = queueView('internal-medicine', '2026-03-02', entries);
    assert.deepEqual([view.calling.length, view.calling[0]?.queueNumber, view.waiting.length, view.waiting[0]?.queueNumber, view.waitingCount], [10, 12, 30, 13, 38]);
    assert.equal(view.medianWaitMinutes, null);
  });
});

describe('the ticket', () => {
  const validUntil = '2026-03-02T15:00:00.000Z';

  test('waiting: how many are ahead, and the minutes from the pace of the first calls', () => {
    const mine = entry({ queueNumber: 7, state: 'WAITING', joinedAt: at('09:06') });
    const queue = [
      entry({ queueNumber: 1, state: 'DONE', firstCalledAt: at('09:10') }),
      entry({ queueNumber: 2, state: 'CALLED', firstCalledAt: at('09:14'), lastCalledAt: at('09:14') }),
      entry({ queueNumber: 3, state: 'IN_PROGRESS', firstCalledAt: at('09:24') }),
      entry({ queueNumber: 5, state: 'WAITING', joinedAt: at('09:04') }),
      entry({ queueNumber: 6, state: 'WAITING', joinedAt: at('09:05'), waitingSince: at('09:50') }),
      mine,
      entry({ queueNumber: 8, state: 'WAITING', joinedAt: at('09:07') }),
    ];
    const standing = ticketStanding([mine]);
    assert.equal(standing?.status, 'WAITING');
    // Intervals of 4 and 10 minutes: a pace of 7 a patient, for the two ahead and this one.
    assert.deepEqual(ticketView(standing!, queue, validUntil), {
      department: 'internal-medicine',
      day: '2026-03-02',
      queueNumber: 7,
      maskedName: '환*7',
      status: 'WAITING',
      ahead: 2,
      expectedWaitMinutes: 21,
      validUntil,
    });
    assert.equal(ticketView(standing!, queue.slice(2), validUntil).expectedWaitMinutes, null, 'one first call today: no pace yet');
  });

  test('called by the doctor, or to an examination called after; missed calls shown; otherwise in progress', () => {
    const doctor = entry({ queueNumber: 7, state: 'CALLED', lastCalledAt: at('09:30'), callCount: 1, room: '3' });
    assert.deepEqual(ticketView(ticketStanding([doctor])!, [], validUntil), {
      department: 'internal-medicine', day: '2026-03-02', queueNumber: 7, maskedName: '환*7', status: 'CALLED', ahead: 0, expectedWaitMinutes: 0, room: '3', calledAt: at('09:30'), validUntil,
    });
    const working = { ...doctor, state: 'IN_PROGRESS' as const };
    const xray = entry({ queueNumber: 7, item: P1, purpose: 'EXAMINATION', department: 'radiology', state: 'CALLED', lastCalledAt: at('09:50'), callCount: 1, room: 'CT-1' });
    const called = ticketView(ticketStanding([working, xray])!, [], validUntil);
    assert.deepEqual([called.status, called.room, called.calledAt, called.department], ['CALLED', 'CT-1', at('09:50'), 'internal-medicine']);
    assert.equal(ticketStanding([working, { ...xray, state: 'WAITING' }])?.status, 'IN_PROGRESS');
    assert.equal(ticketStanding([{ ...doctor, state: 'NO_SHOW' }])?.status, 'CALLED');
    assert.equal(ticketStanding([{ ...doctor, state: 'DONE' }])?.status, 'IN_PROGRESS');
    assert.equal(ticketStanding([xray]), undefined, "no ticket without the doctor's entry");
  });
});

describe('the charts', () => {
  test('nearest-rank percentiles in minutes to the hundredth, per department and stage and per hour the stage began', () => {
    const samples = [60, 120, 180, 240, 300, 360, 420, 480, 540, 1_000].map((seconds, i) => ({
      department: 'surgery',
      stage: 'RECEPTION_TO_CALL' as const,
      startedAt: at(i < 6 ? '00:10' : '01:10'),
      seconds,
    }));
    const summary = summariseWaits([...samples, { department: 'internal-medicine', stage: 'VISIT', startedAt: at('00:00'), seconds: 5_400 }], (t) => new Date(t).getUTCHours() + 9);
    assert.deepEqual(summary.stages, [
      { department: 'internal-medicine', stage: 'VISIT', count: 1, p50Minutes: 90, p90Minutes: 90 },
      { department: 'surgery', stage: 'RECEPTION_TO_CALL', count: 10, p50Minutes: 5, p90Minutes: 9 },
    ]);
    assert.deepEqual(summary.byHour, [
      { department: 'internal-medicine', stage: 'VISIT', hour: 9, count: 1, p50Minutes: 90, p90Minutes: 90 },
      { department: 'surgery', stage: 'RECEPTION_TO_CALL', hour: 9, count: 6, p50Minutes: 3, p90Minutes: 6 },
      { department: 'surgery', stage: 'RECEPTION_TO_CALL', hour: 10, count: 4, p50Minutes: 8, p90Minutes: 16.67 },
    ]);
    assert.deepEqual([nearestRank([1, 2, 3], 50), nearestRank([1, 2, 3], 90), nearestRank([7], 90)], [2, 3, 7]);
    assert.deepEqual([median([]), median([3, 1, 2]), median([4, 1, 3, 2])], [null, 2, 2.5]);
  });
});

describe('timeline steps of the waiting room', () => {
  const step = (e: ProjectedEvent, source: string) => timelineStep({ id: '00000000-0000-4000-8000-000000000001', source, ...e }, 7, 'WAITING_FOR_DOCTOR').description;

  test('say who called, the call, the room and the examination code, never why', () => {
    assert.equal(step(ev.doctorCalls(at('09:20'), 1), '/diagnosis'), 'Called to room 3 by the doctor');
    assert.equal(step(ev.doctorCalls(at('09:30'), 2), '/diagnosis'), 'Recalled (2nd call) to room 3 by the doctor');
    assert.equal(step(ev.examinerCalls(101, at('09:50'), 3), '/examination'), 'Recalled (3rd call) for the examination CHEST_XRAY to room CT-1');
    assert.equal(step(ev.examinerCalls(101, at('09:50'), 11), '/examination'), 'Recalled (11th call) for the examination CHEST_XRAY to room CT-1');
    assert.equal(step(ev.doctorsNoShow(at('09:25')), '/diagnosis'), 'Did not come when called by the doctor');
    const missed = event('PatientNoShow', { ...ids, calledFor: 'EXAMINATION', examinationId: 101, department: 'radiology', markedAt: at('09:55') }, at('09:55'));
    assert.equal(step(missed, '/examination'), 'Did not come when called for examination 101');
    const quiet = event('PatientCalled', { ...ids, calledFor: 'EXAMINATION', examinationId: 101, department: 'radiology', callCount: 1, calledAt: at('09:50') }, at('09:50'));
    assert.equal(step(quiet, '/examination'), 'Called for the examination 101');
  });
});
