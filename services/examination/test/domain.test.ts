import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCatalog } from '@medical/platform';
import { deciderAssertions, P1, P2, T0, T1, T2, T3 } from '@medical/platform/testing';
import { decide, evolve, examinationDecider, isPublished, DEFAULT_CANCEL_REASON, type Command, type Examination } from '../src/domain/examination.ts';
import { inWaitingRoom, waitingRoomOf, type WaitingRoomCatalog } from '../src/domain/waiting-room.ts';

// ---- builders ----
/** What the examination's events carry to link it to its prescription, diagnosis and reception. */
const link = { examinationId: 101, prescriptionId: P1, diagnosisId: 5, receptionId: 7 };
/** The order of the prescription, as the command brings it and the examination keeps it: called in radiology by the number of an internal medicine visit. */
const order = {
  prescriptionId: P1, diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', examinationType: 'X-RAY',
  department: 'radiology', visitDepartment: 'internal-medicine', queueNumber: 12,
};
/** Where the order is called, as ExaminationRequested and every call carry it. */
const inQueue = { department: 'radiology', visitDepartment: 'internal-medicine', queueNumber: 12 };
const request = (extra: Partial<Extract<Command, { type: 'RequestExamination' }>> = {}): Command => ({
  type: 'RequestExamination',
  examinationId: 101,
  ...order,
  now: T0,
  ...extra,
});
const perform: Command = { type: 'PerformExamination', result: 'Clear lungs', now: T1 };
const cancel = (reason?: string): Command => ({ type: 'CancelExamination', now: T1, ...(reason ? { reason } : {}) });
const compensate: Command = { type: 'CompensateExamination', reason: 'Diagnosis rejected', now: T2 };
const movePatient: Command = { type: 'MovePatient', patientId: 'P-002', patientName: 'Kim Min-ji', now: T3 };
const call = (room?: string, now = T1): Command => ({ type: 'CallPatient', ...(room ? { room } : {}), now });
const noShow = (now = T2): Command => ({ type: 'MarkNoShow', now });

const { given, accepted, refused, fold } = deciderAssertions(examinationDecider);
/** Decides and folds in one step. */
function after(state: Examination, command: Command): Examination {
  const next = fold(state, accepted(decide(command, state)));
  assert.ok(next);
  return next;
}

const states = {
  REQUESTED: () => given(request()),
  PERFORMED: () => given(request(), perform),
  CANCELLED: () => given(request(), cancel()),
};

describe('RequestExamination', () => {
  test('creates the order internally and publishes ExaminationRequested without patient data', () => {
    const events = accepted(decide(request({ instructions: 'Chest' }), null));
    assert.deepEqual(events, [
      { type: 'ExaminationOrderCreated', data: { examinationId: 101, ...order, instructions: 'Chest' }, at: T0 },
      { type: 'ExaminationRequested', data: { ...link, examinationType: 'X-RAY', ...inQueue }, at: T0 },
    ]);
    assert.deepEqual(events.filter(isPublished).map((e) => e.type), ['ExaminationRequested']);
    assert.deepEqual(fold(null, events), { id: 101, ...order, instructions: 'Chest', status: 'REQUESTED', callCount: 0, createdAt: T0, updatedAt: T0 });
  });

  test('for a visit before queue numbers, ExaminationRequested names the waiting room alone', () => {
    const { visitDepartment: _visit, queueNumber: _number, ...before } = order;
    const events = accepted(decide({ type: 'RequestExamination', examinationId: 101, ...before, now: T0 }, null));
    assert.deepEqual(events[1]?.data, { ...link, examinationType: 'X-RAY', department: 'radiology' });
  });

  test('omits absent instructions', () => {
    assert.equal('instructions' in states.REQUESTED(), false);
  });

  test('is a no-op for the same prescription (a redelivered ExaminationPrescribed)', () => {
    for (const [status, build] of Object.entries(states)) {
      assert.deepEqual(accepted(decide(request({ examinationId: 999 }), build())), [], status);
    }
  });

  test('is refused as a conflict for another prescription', () => {
    refused(decide(request({ prescriptionId: P2 }), states.REQUESTED()), 'conflict');
  });

  test('on a visit already closed, creates the order and cancels it at once so nothing stays pending', () => {
    const events = accepted(decide(request({ closedBecause: 'Reception cancelled: patient left' }), null));
    assert.deepEqual(events.filter(isPublished).map((e) => e.type), ['ExaminationRequested', 'ExaminationCancelled']);
    assert.deepEqual(events.at(-1)?.data, { ...link, reason: 'Reception cancelled: patient left' });
    const state = fold(null, events);
    assert.equal(state?.status, 'CANCELLED');
    assert.equal(state?.cancelReason, 'Reception cancelled: patient left');
    refused(decide(perform, state), 'conflict');
  });
});

describe('PerformExamination', () => {
  test('publishes ExaminationPerformed performed now', () => {
    const events = accepted(decide(perform, states.REQUESTED()));
    assert.deepEqual(events, [{ type: 'ExaminationPerformed', data: { ...link, result: 'Clear lungs', performedAt: T1 }, at: T1 }]);
    const state = fold(states.REQUESTED(), events);
    assert.equal(state?.status, 'PERFORMED');
    assert.equal(state?.result, 'Clear lungs');
    assert.equal(state?.performedAt, T1);
    assert.equal(state?.updatedAt, T1);
    assert.equal(state?.createdAt, T0);
  });

  for (const status of ['PERFORMED', 'CANCELLED'] as const) {
    test(`is refused as a conflict from ${status}`, () => {
      assert.match(refused(decide(perform, states[status]()), 'conflict'), new RegExp(status));
    });
  }
});

describe('CancelExamination', () => {
  test('cancels with the default reason', () => {
    const events = accepted(decide(cancel(), states.REQUESTED()));
    assert.deepEqual(events, [{ type: 'ExaminationCancelled', data: { ...link, reason: DEFAULT_CANCEL_REASON }, at: T1 }]);
    assert.equal(DEFAULT_CANCEL_REASON, 'Cancelled by examiner');
    const state = fold(states.REQUESTED(), events);
    assert.equal(state?.status, 'CANCELLED');
    assert.equal(state?.cancelReason, DEFAULT_CANCEL_REASON);
    assert.equal(state?.updatedAt, T1);
  });

  test('keeps the given reason', () => {
    assert.equal(given(request(), cancel('Equipment down')).cancelReason, 'Equipment down');
  });

  for (const status of ['PERFORMED', 'CANCELLED'] as const) {
    test(`is refused as a conflict from ${status}`, () => {
      assert.match(refused(decide(cancel(), states[status]()), 'conflict'), new RegExp(status));
    });
  }
});

describe('CompensateExamination', () => {
  test('cancels a REQUESTED examination with the given reason', () => {
    const events = accepted(decide(compensate, states.REQUESTED()));
    assert.deepEqual(events, [{ type: 'ExaminationCancelled', data: { ...link, reason: 'Diagnosis rejected' }, at: T2 }]);
    assert.equal(fold(states.REQUESTED(), events)?.status, 'CANCELLED');
  });

  for (const status of ['PERFORMED', 'CANCELLED'] as const) {
    test(`is a no-op from ${status}`, () => {
      assert.deepEqual(accepted(decide(compensate, states[status]())), []);
    });
  }
});

describe('MovePatient', () => {
  for (const [status, build] of Object.entries(states)) {
    test(`moves a ${status} examination to the patient kept, with an internal PatientMoved, nothing else changed`, () => {
      const before = build();
      const events = accepted(decide(movePatient, before));
      assert.deepEqual(events, [{ type: 'PatientMoved', data: { examinationId: 101, patientId: 'P-002', patientName: 'Kim Min-ji' }, at: T3 }]);
      assert.equal(events.some(isPublished), false);
      assert.deepEqual(fold(before, events), { ...before, patientId: 'P-002', patientName: 'Kim Min-ji', updatedAt: T3 });
    });
  }

  test("is a no-op when the examination already is the patient's (a redelivered ReceptionPatientMerged)", () => {
    for (const [status, build] of Object.entries(states)) {
      const moved = fold(build(), accepted(decide(movePatient, build())));
      assert.deepEqual(accepted(decide(movePatient, moved)), [], status);
    }
    assert.deepEqual(accepted(decide({ ...movePatient, patientId: 'P-001' } as Command, states.REQUESTED())), []);
  });

  test('a moved examination is performed and cancelled as before', () => {
    const moved = given(request(), movePatient);
    assert.equal(given(request(), movePatient, perform).status, 'PERFORMED');
    assert.deepEqual(accepted(decide(cancel(), moved)), [{ type: 'ExaminationCancelled', data: { ...link, reason: DEFAULT_CANCEL_REASON }, at: T1 }]);
  });
});

describe('CallPatient', () => {
  const called = { receptionId: 7, calledFor: 'EXAMINATION', examinationId: 101, diagnosisId: 5, examinationType: 'X-RAY', ...inQueue };

  test("calls the patient of a REQUESTED examination in its department's waiting room, by the visit's number", () => {
    const before = states.REQUESTED();
    const events = accepted(decide(call('CT-1'), before));
    assert.deepEqual(events, [{ type: 'PatientCalled', data: { ...called, room: 'CT-1', callCount: 1, calledAt: T1 }, at: T1 }]);
    assert.ok(events.every(isPublished));
    assert.deepEqual(fold(before, events), { ...before, callCount: 1, calledAt: T1, room: 'CT-1', updatedAt: T1 });
  });

  for (const status of ['PERFORMED', 'CANCELLED'] as const) {
    test(`is refused as a conflict from ${status}`, () => {
      assert.match(refused(decide(call('CT-1'), states[status]()), 'conflict'), new RegExp(`is ${status}: only the patient of a REQUESTED examination can be called`));
    });
  }

  test('a recall counts on and keeps the room of the call before unless it names another; a first call may name none', () => {
    assert.deepEqual(accepted(decide(call(), states.REQUESTED()))[0]?.data, { ...called, callCount: 1, calledAt: T1 });
    const recalled = given(request(), call('CT-1', T1), call(undefined, T2));
    assert.deepEqual([recalled.callCount, recalled.room, recalled.calledAt], [2, 'CT-1', T2]);
    assert.deepEqual(accepted(decide(call('CT-2', T3), recalled))[0]?.data, { ...called, room: 'CT-2', callCount: 3, calledAt: T3 });
  });

  test('a called examination is performed as before, and keeps its calls', () => {
    const done = given(request(), call('CT-1'), perform);
    assert.deepEqual([done.status, done.callCount, done.room], ['PERFORMED', 1, 'CT-1']);
  });

  test('an examination without a waiting room (not loaded through the calls) is refused as invalid', () => {
    const { department: _none, ...legacy } = states.REQUESTED();
    assert.match(refused(decide(call('CT-1'), legacy), 'invalid'), /no waiting room/);
  });
});

describe('MarkNoShow', () => {
  test('marks a called patient as not come: PatientNoShow, the examination stays REQUESTED', () => {
    const before = given(request(), call('CT-1'));
    const events = accepted(decide(noShow(), before));
    assert.deepEqual(events, [
      { type: 'PatientNoShow', data: { receptionId: 7, calledFor: 'EXAMINATION', examinationId: 101, diagnosisId: 5, department: 'radiology', queueNumber: 12, markedAt: T2 }, at: T2 },
    ]);
    assert.ok(events.every(isPublished));
    assert.deepEqual(fold(before, events), { ...before, noShowAt: T2, updatedAt: T2 });
  });

  test('is refused as a conflict for a patient not called yet, and once marked until the next call', () => {
    assert.match(refused(decide(noShow(), states.REQUESTED()), 'conflict'), /has not been called/);
    const marked = given(request(), call('CT-1', T1), noShow(T2));
    assert.match(refused(decide(noShow(T3), marked), 'conflict'), new RegExp(`already marked as not come at ${T2}`));
    const recalled = after(marked, call(undefined, T3));
    assert.deepEqual([recalled.callCount, recalled.room, 'noShowAt' in recalled], [2, 'CT-1', false]);
    assert.equal(after(recalled, noShow(T3)).noShowAt, T3);
  });

  for (const status of ['PERFORMED', 'CANCELLED'] as const) {
    test(`is refused as a conflict from ${status}, even for a called patient`, () => {
      const ended = given(request(), call('CT-1'), status === 'PERFORMED' ? perform : cancel());
      assert.match(refused(decide(noShow(), ended), 'conflict'), new RegExp(status));
    });
  }
});

describe('the waiting room of an examination', () => {
  const catalog: WaitingRoomCatalog = {
    defaultDepartment: 'internal-medicine',
    has: (code) => ['internal-medicine', 'surgery', 'radiology'].includes(code),
    examination: (code) => ({ CT_HEAD: { department: 'radiology' }, DRESSING: {}, GONE: { department: 'nuclear-medicine' } } as Record<string, { department?: string }>)[code],
    examinationCodeOf: (text) => (text === 'Brain CT' ? 'CT_HEAD' : undefined),
  };

  test("the performing department's, else the visit's, else the default department", () => {
    assert.equal(waitingRoomOf('CT_HEAD', 'surgery', catalog), 'radiology');
    assert.equal(waitingRoomOf('Brain CT', 'surgery', catalog), 'radiology', 'the free text of before the codes, as the catalog reads it');
    assert.equal(waitingRoomOf('DRESSING', 'surgery', catalog), 'surgery', 'no department performs it');
    assert.equal(waitingRoomOf('GONE', 'surgery', catalog), 'surgery', 'a department the hospital removed is no waiting room');
    assert.equal(waitingRoomOf('DRESSING', undefined, catalog), 'internal-medicine');
    assert.equal(waitingRoomOf('UNKNOWN', 'cardiology', catalog), 'internal-medicine');
  });

  test("the hospital's default catalog calls a CT in radiology and a blood count in laboratory medicine", () => {
    const hospital = loadCatalog({});
    assert.equal(waitingRoomOf('CT_HEAD', 'surgery', hospital), 'radiology');
    assert.equal(waitingRoomOf('CBC', 'surgery', hospital), 'laboratory-medicine');
  });

  test('an examination ordered before waiting rooms is given one as it is loaded; one with a waiting room keeps it', () => {
    const { department: _none, visitDepartment: _visit, ...legacy } = states.REQUESTED();
    assert.equal(inWaitingRoom({ ...legacy, examinationType: 'CT_HEAD' }, catalog).department, 'radiology');
    const placed: Examination = { ...states.REQUESTED(), examinationType: 'CT_HEAD', department: 'surgery' };
    assert.equal(inWaitingRoom(placed, catalog).department, 'surgery');
  });
});

describe('unknown examination', () => {
  for (const command of [perform, cancel(), compensate, movePatient, call('CT-1'), noShow()]) {
    test(`${command.type} on no state is refused as invalid`, () => {
      assert.equal(refused(decide(command, null), 'invalid'), 'unknown examination');
    });
  }

  test('evolve refuses to apply a non-creating event to no state', () => {
    assert.throws(() => evolve(null, { type: 'ExaminationCancelled', data: { ...link, reason: 'x' }, at: T1 }));
  });
});
