import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deciderAssertions, P1, P2, P3, T0, T1, T2, T3 } from '@medical/platform/testing';
import { decide, diagnosisDecider, evolve, hasPendingPrescriptions, isPublished, isTerminal, type Command, type Diagnosis } from '../src/domain/diagnosis.ts';

const examinationIdOf: Record<string, number> = { [P1]: 101, [P2]: 102, [P3]: 103 };

// ---- builders ----
const register: Command = { type: 'RegisterDiagnosis', diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', department: 'surgery', now: T0 };
const prescribe = (prescriptionId: string, instructions?: string): Command => ({
  type: 'PrescribeExamination',
  prescriptionId,
  examinationType: 'X-RAY',
  ...(instructions ? { instructions } : {}),
  now: T1,
});
const requested = (prescriptionId: string, examinationId = examinationIdOf[prescriptionId] ?? 0): Command => ({
  type: 'RecordExaminationRequested',
  prescriptionId,
  examinationId,
  now: T1,
});
const performed = (prescriptionId: string, result = 'Clear lungs'): Command => ({
  type: 'RecordExaminationPerformed',
  prescriptionId,
  examinationId: examinationIdOf[prescriptionId] ?? 0,
  result,
  now: T2,
});
const examCancelled = (prescriptionId: string, reason = 'Patient refused'): Command => ({
  type: 'RecordExaminationCancelled',
  prescriptionId,
  examinationId: examinationIdOf[prescriptionId] ?? 0,
  reason,
  now: T2,
});
const complete: Command = { type: 'CompleteDiagnosis', opinion: 'Common cold', now: T3 };
const reject: Command = { type: 'RejectDiagnosis', reason: 'Wrong department', now: T3 };
const cancel: Command = { type: 'CancelDiagnosis', reason: 'Reception cancelled', now: T3 };
const movePatient: Command = { type: 'MovePatient', patientId: 'P-002', patientName: 'Kim Min-ji', now: T3 };
const call = (room?: string, now = T2): Command => ({ type: 'CallPatient', ...(room ? { room } : {}), defaultDepartment: 'internal-medicine', now });
const noShow = (now = T3): Command => ({ type: 'MarkNoShow', defaultDepartment: 'internal-medicine', now });

const { given, accepted, refused, fold } = deciderAssertions(diagnosisDecider);
/** Decides and folds in one step. */
function after(state: Diagnosis, command: Command): Diagnosis {
  const next = fold(state, accepted(decide(command, state)));
  assert.ok(next);
  return next;
}

const states = {
  REGISTERED: () => given(register),
  EXAMINATION_PRESCRIBED: () => given(register, prescribe(P1), requested(P1)),
  EXAMINATION_DONE: () => given(register, prescribe(P1), requested(P1), performed(P1)),
  COMPLETED: () => given(register, complete),
  REJECTED: () => given(register, prescribe(P1), requested(P1), reject),
  CANCELLED: () => given(register, prescribe(P1), requested(P1), cancel),
};
const open = ['REGISTERED', 'EXAMINATION_PRESCRIBED', 'EXAMINATION_DONE'] as const;
const terminal = ['COMPLETED', 'REJECTED', 'CANCELLED'] as const;

describe('RegisterDiagnosis', () => {
  test('publishes DiagnosisRegistered and opens a REGISTERED diagnosis of the visit\'s department', () => {
    const events = accepted(decide(register, null));
    assert.deepEqual(events, [
      { type: 'DiagnosisRegistered', data: { diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', department: 'surgery' }, at: T0 },
    ]);
    assert.deepEqual(fold(null, events), {
      id: 5,
      receptionId: 7,
      patientId: 'P-001',
      patientName: 'Kim Minji',
      department: 'surgery',
      status: 'REGISTERED',
      prescriptions: [],
      callCount: 0,
      createdAt: T0,
      updatedAt: T0,
    });
  });

  test("keeps the visit's queue number by an internal event: the reception published it", () => {
    const events = accepted(decide({ ...register, queueNumber: 12 } as Command, null));
    assert.deepEqual(events.slice(1), [{ type: 'QueueNumberRecorded', data: { diagnosisId: 5, queueNumber: 12 }, at: T0 }]);
    assert.deepEqual(events.filter(isPublished).map((e) => e.type), ['DiagnosisRegistered']);
    assert.deepEqual(fold(null, events), { ...fold(null, accepted(decide(register, null))), queueNumber: 12 });
  });

  test('is a no-op for the same reception (a redelivered ReceptionCompleted)', () => {
    for (const status of [...open, ...terminal]) assert.deepEqual(accepted(decide(register, states[status]())), [], status);
  });

  test('the department stays through every later step', () => {
    for (const status of [...open, ...terminal]) assert.equal(states[status]().department, 'surgery', status);
  });

  test('a DiagnosisRegistered written before departments (none in its data) opens a diagnosis without one', () => {
    const registered = evolve(null, { type: 'DiagnosisRegistered', data: { diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji' }, at: T0 });
    assert.ok(registered && !('department' in registered));
  });

  test('is refused as a conflict for another reception', () => {
    refused(decide({ ...register, receptionId: 8 } as Command, states.REGISTERED()), 'conflict');
  });
});

describe('PrescribeExamination', () => {
  test('publishes ExaminationPrescribed with the visit ids and moves to EXAMINATION_PRESCRIBED', () => {
    const events = accepted(decide(prescribe(P1, 'Chest, two views'), states.REGISTERED()));
    assert.deepEqual(events, [
      {
        type: 'ExaminationPrescribed',
        data: {
          prescriptionId: P1,
          diagnosisId: 5,
          receptionId: 7,
          patientId: 'P-001',
          patientName: 'Kim Minji',
          examinationType: 'X-RAY',
          instructions: 'Chest, two views',
          visitDepartment: 'surgery',
        },
        at: T1,
      },
    ]);
    const state = fold(states.REGISTERED(), events);
    assert.equal(state?.status, 'EXAMINATION_PRESCRIBED');
    assert.equal(state?.updatedAt, T1);
    assert.deepEqual(state?.prescriptions, [
      { prescriptionId: P1, examinationType: 'X-RAY', instructions: 'Chest, two views', status: 'REQUESTED', prescribedAt: T1 },
    ]);
  });

  test('omits absent instructions', () => {
    const [event] = accepted(decide(prescribe(P1), states.REGISTERED()));
    assert.ok(event && !('instructions' in event.data));
  });

  test("carries the visit's department and queue number, which the examiners call the patient by", () => {
    const [event] = accepted(decide(prescribe(P1), given({ ...register, queueNumber: 12 } as Command)));
    assert.ok(event?.type === 'ExaminationPrescribed');
    assert.deepEqual([event.data.visitDepartment, event.data.queueNumber], ['surgery', 12]);
    const [legacy] = accepted(decide(prescribe(P1), fold(null, [{ type: 'DiagnosisRegistered', data: { diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji' }, at: T0 }])));
    assert.ok(legacy && !('visitDepartment' in legacy.data) && !('queueNumber' in legacy.data), 'none for a visit before departments and queue numbers');
  });

  test('adds to a diagnosis with a pending prescription', () => {
    const state = after(states.EXAMINATION_PRESCRIBED(), prescribe(P2));
    assert.equal(state.status, 'EXAMINATION_PRESCRIBED');
    assert.deepEqual(state.prescriptions.map((p) => p.prescriptionId), [P1, P2]);
  });

  test('a new prescription after EXAMINATION_DONE returns to EXAMINATION_PRESCRIBED', () => {
    assert.equal(after(states.EXAMINATION_DONE(), prescribe(P2)).status, 'EXAMINATION_PRESCRIBED');
  });

  for (const status of terminal) {
    test(`is refused as a conflict in ${status}`, () => {
      assert.match(refused(decide(prescribe(P2), states[status]()), 'conflict'), new RegExp(status));
    });
  }

  test('is refused as a conflict for a prescription id already used', () => {
    refused(decide(prescribe(P1), states.EXAMINATION_PRESCRIBED()), 'conflict');
  });
});

describe('RecordExaminationRequested', () => {
  test('links the examination internally, status unchanged', () => {
    const before = given(register, prescribe(P1));
    const events = accepted(decide(requested(P1), before));
    assert.deepEqual(events, [{ type: 'PrescriptionExaminationLinked', data: { prescriptionId: P1, examinationId: 101 }, at: T1 }]);
    assert.equal(events.some(isPublished), false);
    const state = after(before, requested(P1));
    assert.equal(state.prescriptions[0]?.examinationId, 101);
    assert.equal(state.prescriptions[0]?.status, 'REQUESTED');
    assert.equal(state.status, 'EXAMINATION_PRESCRIBED');
  });

  test('is a no-op when already linked', () => {
    assert.deepEqual(accepted(decide(requested(P1), states.EXAMINATION_PRESCRIBED())), []);
  });

  test('is refused as a conflict when linked to another examination', () => {
    refused(decide(requested(P1, 999), states.EXAMINATION_PRESCRIBED()), 'conflict');
  });

  test('is refused as invalid for an unknown prescription', () => {
    assert.match(refused(decide(requested(P3), states.EXAMINATION_PRESCRIBED()), 'invalid'), new RegExp(P3));
  });

  test('is recorded in a terminal diagnosis too', () => {
    const state = after(given(register, prescribe(P1), reject), requested(P1));
    assert.equal(state.prescriptions[0]?.examinationId, 101);
    assert.equal(state.status, 'REJECTED');
  });
});

describe('RecordExaminationPerformed / RecordExaminationCancelled', () => {
  test('a performed examination records its result; the last one moves to EXAMINATION_DONE', () => {
    const events = accepted(decide(performed(P1), states.EXAMINATION_PRESCRIBED()));
    assert.deepEqual(events, [{ type: 'PrescriptionPerformed', data: { prescriptionId: P1, examinationId: 101, result: 'Clear lungs' }, at: T2 }]);
    const state = after(states.EXAMINATION_PRESCRIBED(), performed(P1));
    assert.deepEqual(state.prescriptions[0], {
      prescriptionId: P1,
      examinationType: 'X-RAY',
      status: 'PERFORMED',
      examinationId: 101,
      result: 'Clear lungs',
      prescribedAt: T1,
    });
    assert.equal(state.status, 'EXAMINATION_DONE');
    assert.equal(state.updatedAt, T2);
  });

  test('a cancelled examination records its reason; the last one moves to EXAMINATION_DONE', () => {
    const state = after(states.EXAMINATION_PRESCRIBED(), examCancelled(P1));
    assert.equal(state.prescriptions[0]?.status, 'CANCELLED');
    assert.equal(state.prescriptions[0]?.cancelReason, 'Patient refused');
    assert.equal(state.status, 'EXAMINATION_DONE');
  });

  test('links the examination when the result arrives first', () => {
    const state = after(given(register, prescribe(P1)), performed(P1));
    assert.equal(state.prescriptions[0]?.examinationId, 101);
  });

  test('is a no-op once the prescription is no longer REQUESTED', () => {
    for (const state of [states.EXAMINATION_DONE(), given(register, prescribe(P1), requested(P1), examCancelled(P1))]) {
      assert.deepEqual(accepted(decide(performed(P1, 'other'), state)), []);
      assert.deepEqual(accepted(decide(examCancelled(P1), state)), []);
    }
  });

  test('is refused as invalid for an unknown prescription', () => {
    refused(decide(performed(P3), states.EXAMINATION_PRESCRIBED()), 'invalid');
    refused(decide(examCancelled(P3), states.EXAMINATION_PRESCRIBED()), 'invalid');
  });

  test('updates the prescription but not a terminal status', () => {
    for (const status of ['REJECTED', 'CANCELLED'] as const) {
      const state = after(states[status](), performed(P1));
      assert.equal(state.status, status);
      assert.equal(state.prescriptions[0]?.status, 'PERFORMED');
    }
  });
});

describe('CompleteDiagnosis', () => {
  test('completes a REGISTERED diagnosis (no examination needed)', () => {
    const events = accepted(decide(complete, states.REGISTERED()));
    assert.deepEqual(events, [{ type: 'DiagnosisCompleted', data: { diagnosisId: 5, receptionId: 7, opinion: 'Common cold' }, at: T3 }]);
    const state = after(states.REGISTERED(), complete);
    assert.equal(state.status, 'COMPLETED');
    assert.equal(state.opinion, 'Common cold');
    assert.equal(state.updatedAt, T3);
  });

  test('completes an EXAMINATION_DONE diagnosis', () => {
    assert.equal(after(states.EXAMINATION_DONE(), complete).status, 'COMPLETED');
  });

  test('is refused as a conflict while a prescription is pending', () => {
    assert.match(refused(decide(complete, states.EXAMINATION_PRESCRIBED()), 'conflict'), /pending prescriptions/);
  });

  for (const status of terminal) {
    test(`is refused as a conflict in ${status}`, () => {
      assert.match(refused(decide(complete, states[status]()), 'conflict'), new RegExp(status));
    });
  }
});

describe('RejectDiagnosis', () => {
  for (const status of open) {
    test(`rejects from ${status}`, () => {
      const events = accepted(decide(reject, states[status]()));
      assert.deepEqual(events, [{ type: 'DiagnosisRejected', data: { diagnosisId: 5, receptionId: 7, reason: 'Wrong department' }, at: T3 }]);
      const state = after(states[status](), reject);
      assert.equal(state.status, 'REJECTED');
      assert.equal(state.rejectReason, 'Wrong department');
    });
  }

  for (const status of terminal) {
    test(`is refused as a conflict in ${status}`, () => {
      assert.match(refused(decide(reject, states[status]()), 'conflict'), new RegExp(status));
    });
  }
});

describe('CancelDiagnosis', () => {
  for (const status of open) {
    test(`cancels from ${status}`, () => {
      const events = accepted(decide(cancel, states[status]()));
      assert.deepEqual(events, [{ type: 'DiagnosisCancelled', data: { diagnosisId: 5, receptionId: 7, reason: 'Reception cancelled' }, at: T3 }]);
      const state = after(states[status](), cancel);
      assert.equal(state.status, 'CANCELLED');
      assert.equal(state.cancelReason, 'Reception cancelled');
    });
  }

  for (const status of terminal) {
    test(`is a no-op in ${status}`, () => {
      assert.deepEqual(accepted(decide(cancel, states[status]())), []);
    });
  }
});

describe('MovePatient', () => {
  const moved = { type: 'PatientMoved', data: { diagnosisId: 5, patientId: 'P-002', patientName: 'Kim Min-ji' }, at: T3 };

  for (const status of [...open, ...terminal]) {
    test(`moves a ${status} diagnosis to the patient kept, with an internal PatientMoved, status and prescriptions unchanged`, () => {
      const before = states[status]();
      const events = accepted(decide(movePatient, before));
      assert.deepEqual(events, [moved]);
      assert.equal(events.some(isPublished), false);
      const state = after(before, movePatient);
      assert.deepEqual(state, { ...before, patientId: 'P-002', patientName: 'Kim Min-ji', updatedAt: T3 });
    });
  }

  test('is a no-op when the diagnosis already is the patient\'s (a redelivered ReceptionPatientMerged)', () => {
    for (const status of [...open, ...terminal]) {
      const state = after(states[status](), movePatient);
      assert.deepEqual(accepted(decide(movePatient, state)), [], status);
    }
    assert.deepEqual(accepted(decide({ ...movePatient, patientId: 'P-001' } as Command, states.REGISTERED())), []);
  });

  test('a prescription made after the move names the new patient', () => {
    const [prescribed] = accepted(decide(prescribe(P2), after(states.EXAMINATION_DONE(), movePatient)));
    assert.equal(prescribed?.type, 'ExaminationPrescribed');
    assert.ok(prescribed?.type === 'ExaminationPrescribed');
    assert.deepEqual([prescribed.data.patientId, prescribed.data.patientName], ['P-002', 'Kim Min-ji']);
  });
});

describe('CallPatient', () => {
  /** What every call of diagnosis 5 of reception 7 (surgery) carries. */
  const called = { receptionId: 7, calledFor: 'DIAGNOSIS', diagnosisId: 5, department: 'surgery' };

  for (const status of open) {
    test(`calls the patient of a ${status} diagnosis: PatientCalled, the call on the diagnosis, the status unchanged`, () => {
      const before = states[status]();
      const events = accepted(decide(call('3'), before));
      assert.deepEqual(events, [{ type: 'PatientCalled', data: { ...called, room: '3', callCount: 1, calledAt: T2 }, at: T2 }]);
      assert.ok(events.every(isPublished));
      assert.deepEqual(fold(before, events), { ...before, callCount: 1, calledAt: T2, room: '3', updatedAt: T2 });
    });
  }

  for (const status of terminal) {
    test(`is refused as a conflict in ${status}`, () => {
      assert.match(refused(decide(call('3'), states[status]()), 'conflict'), new RegExp(`${status}: cannot call the patient`));
    });
  }

  test("carries the visit's queue number; a first call without a room names none", () => {
    const [event] = accepted(decide(call(), given({ ...register, queueNumber: 12 } as Command)));
    assert.deepEqual(event?.data, { ...called, queueNumber: 12, callCount: 1, calledAt: T2 });
  });

  test('a recall counts on and keeps the room of the call before unless it names another', () => {
    const recalled = given(register, call('3', T1), call(undefined, T2));
    assert.deepEqual([recalled.callCount, recalled.room, recalled.calledAt], [2, '3', T2]);
    const [event] = accepted(decide(call('7', T3), recalled));
    assert.deepEqual(event?.data, { ...called, room: '7', callCount: 3, calledAt: T3 });
  });

  test('the doctor brings the patient back after the examinations: a recall in EXAMINATION_DONE', () => {
    const back = given(register, call('3', T0), prescribe(P1), requested(P1), performed(P1), call(undefined, T3));
    assert.deepEqual([back.status, back.callCount, back.room, back.calledAt], ['EXAMINATION_DONE', 2, '3', T3]);
  });

  test('a diagnosis registered before departments is called in the default department', () => {
    const legacy = fold(null, [{ type: 'DiagnosisRegistered', data: { diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji' }, at: T0 }]);
    const [event] = accepted(decide(call('3'), legacy));
    assert.ok(event?.type === 'PatientCalled');
    assert.equal(event.data.department, 'internal-medicine');
  });

  test('breaking the glass to call: BreakGlassAccessed first, then the call', () => {
    const events = accepted(decide({ type: 'CallPatient', room: '3', defaultDepartment: 'internal-medicine', breakGlass: { reason: 'Emergency' }, now: T2 }, states.REGISTERED()));
    assert.deepEqual(events.map((e) => e.type), ['BreakGlassAccessed', 'PatientCalled']);
  });
});

describe('MarkNoShow', () => {
  test('marks a called patient as not come: PatientNoShow, the visit stays open', () => {
    const before = given({ ...register, queueNumber: 12 } as Command, call('3'));
    const events = accepted(decide(noShow(), before));
    assert.deepEqual(events, [
      { type: 'PatientNoShow', data: { receptionId: 7, calledFor: 'DIAGNOSIS', diagnosisId: 5, department: 'surgery', queueNumber: 12, markedAt: T3 }, at: T3 },
    ]);
    assert.ok(events.every(isPublished));
    assert.deepEqual(fold(before, events), { ...before, noShowAt: T3, updatedAt: T3 });
  });

  test('is refused as a conflict for a patient not called yet', () => {
    for (const status of open) assert.match(refused(decide(noShow(), states[status]()), 'conflict'), /has not been called/, status);
  });

  test('is refused as a conflict once marked since the last call; a new call clears it and allows it again', () => {
    const marked = given(register, call('3', T1), noShow(T2));
    assert.match(refused(decide(noShow(), marked), 'conflict'), new RegExp(`already marked as not come at ${T2}`));
    const recalled = after(marked, call(undefined, T3));
    assert.equal('noShowAt' in recalled, false);
    assert.deepEqual([recalled.callCount, recalled.room, recalled.calledAt], [2, '3', T3]);
    assert.equal(after(recalled, noShow()).noShowAt, T3);
  });

  for (const status of terminal) {
    test(`is refused as a conflict in ${status}, even for a called patient`, () => {
      const ended = given(register, call('3', T1), status === 'COMPLETED' ? complete : status === 'REJECTED' ? reject : cancel);
      assert.equal(ended.status, status);
      assert.match(refused(decide(noShow(), ended), 'conflict'), new RegExp(status));
    });
  }
});

describe('unknown diagnosis', () => {
  for (const command of [prescribe(P1), requested(P1), performed(P1), examCancelled(P1), complete, reject, cancel, movePatient, call('3'), noShow()]) {
    test(`${command.type} on no state is refused as invalid`, () => {
      assert.equal(refused(decide(command, null), 'invalid'), 'unknown diagnosis');
    });
  }

  test('evolve refuses to apply a non-creating event to no state', () => {
    assert.throws(() => evolve(null, { type: 'DiagnosisRejected', data: { diagnosisId: 5, receptionId: 7, reason: 'x' }, at: T1 }));
  });
});

describe('scenarios', () => {
  test('two prescriptions: one performed, one pending → complete refused; both done → EXAMINATION_DONE → complete', () => {
    let state = given(register, prescribe(P1), prescribe(P2), requested(P1), requested(P2));
    assert.equal(state.status, 'EXAMINATION_PRESCRIBED');

    state = after(state, performed(P1));
    assert.equal(state.status, 'EXAMINATION_PRESCRIBED');
    assert.equal(hasPendingPrescriptions(state), true);
    assert.match(refused(decide(complete, state), 'conflict'), /pending/);

    state = after(state, examCancelled(P2));
    assert.equal(state.status, 'EXAMINATION_DONE');
    assert.equal(hasPendingPrescriptions(state), false);

    state = after(state, complete);
    assert.equal(state.status, 'COMPLETED');
    assert.deepEqual(
      state.prescriptions.map((p) => [p.prescriptionId, p.status, p.examinationId]),
      [
        [P1, 'PERFORMED', 101],
        [P2, 'CANCELLED', 102],
      ],
    );
  });

  test('a new prescription after EXAMINATION_DONE returns to EXAMINATION_PRESCRIBED, then done again', () => {
    let state = after(states.EXAMINATION_DONE(), prescribe(P2));
    assert.equal(state.status, 'EXAMINATION_PRESCRIBED');
    refused(decide(complete, state), 'conflict');
    state = after(after(state, requested(P2)), performed(P2));
    assert.equal(state.status, 'EXAMINATION_DONE');
    assert.equal(after(state, complete).status, 'COMPLETED');
  });

  test('a result recorded after REJECTED keeps REJECTED', () => {
    let state = given(register, prescribe(P1), prescribe(P2), requested(P1), requested(P2), reject);
    assert.equal(state.status, 'REJECTED');
    state = after(state, performed(P1, 'Late result'));
    state = after(state, examCancelled(P2, 'Diagnosis rejected'));
    assert.equal(state.status, 'REJECTED');
    assert.deepEqual(
      state.prescriptions.map((p) => [p.status, p.result ?? p.cancelReason]),
      [
        ['PERFORMED', 'Late result'],
        ['CANCELLED', 'Diagnosis rejected'],
      ],
    );
  });
});

test('isTerminal and isPublished', () => {
  assert.deepEqual([...open, ...terminal].filter(isTerminal), [...terminal]);
  const all = [
    ...accepted(decide(register, null)),
    ...accepted(decide(prescribe(P2), states.REGISTERED())),
    ...accepted(decide(requested(P1), given(register, prescribe(P1)))),
    ...accepted(decide(performed(P1), states.EXAMINATION_PRESCRIBED())),
    ...accepted(decide(examCancelled(P1), states.EXAMINATION_PRESCRIBED())),
    ...accepted(decide(complete, states.REGISTERED())),
    ...accepted(decide(reject, states.REGISTERED())),
    ...accepted(decide(cancel, states.REGISTERED())),
    ...accepted(decide(movePatient, states.REGISTERED())),
    ...accepted(decide({ type: 'OpenInEmergency', breakGlass: { reason: 'Emergency' }, now: T3 }, states.REGISTERED())),
    ...accepted(decide({ ...register, queueNumber: 12 } as Command, null)).slice(1),
    ...accepted(decide(call('3'), states.REGISTERED())),
    ...accepted(decide(noShow(), given(register, call('3')))),
  ];
  assert.deepEqual(all.filter(isPublished).map((e) => e.type), [
    'DiagnosisRegistered',
    'ExaminationPrescribed',
    'DiagnosisCompleted',
    'DiagnosisRejected',
    'DiagnosisCancelled',
    'BreakGlassAccessed',
    'PatientCalled',
    'PatientNoShow',
  ]);
});

describe('breaking the glass', () => {
  const glass = { reason: 'Collapsed in the waiting room' };
  const accessed = { type: 'BreakGlassAccessed', data: { diagnosisId: 5, receptionId: 7, reason: glass.reason, accessedAt: T3 }, at: T3 };

  test('OpenInEmergency records the access only, in every status, and changes nothing of the diagnosis', () => {
    for (const status of [...open, ...terminal]) {
      const state = states[status]();
      const events = accepted(decide({ type: 'OpenInEmergency', breakGlass: glass, now: T3 }, state));
      assert.deepEqual(events, [accessed], status);
      assert.ok(events.every(isPublished));
      assert.equal(fold(state, events), state, `${status}: the same diagnosis, updatedAt included`);
    }
  });

  test("a command sent by breaking the glass is preceded by BreakGlassAccessed, and does what it does without it", () => {
    const state = states.REGISTERED();
    const events = accepted(decide({ type: 'CompleteDiagnosis', opinion: 'Common cold', breakGlass: glass, now: T3 }, state));
    assert.deepEqual(events, [accessed, ...accepted(decide(complete, state))]);
    assert.deepEqual(fold(state, events), fold(state, accepted(decide(complete, state))));
    const prescribed = accepted(decide({ type: 'PrescribeExamination', prescriptionId: P1, examinationType: 'X-RAY', breakGlass: glass, now: T1 }, state));
    assert.deepEqual(prescribed.map((e) => e.type), ['BreakGlassAccessed', 'ExaminationPrescribed']);
    assert.equal(prescribed[0]!.at, T1);
  });

  test('a refused command leaves no trace of the glass broken', () => {
    refused(decide({ type: 'RejectDiagnosis', reason: 'Wrong department', breakGlass: glass, now: T3 }, states.COMPLETED()), 'conflict');
    refused(decide({ type: 'CompleteDiagnosis', opinion: 'Common cold', breakGlass: glass, now: T3 }, states.EXAMINATION_PRESCRIBED()), 'conflict');
  });

  test('without a diagnosis it is refused like any command', () => {
    refused(decide({ type: 'OpenInEmergency', breakGlass: glass, now: T3 }, null), 'invalid');
  });
});
