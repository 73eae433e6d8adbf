import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deciderAssertions, P1, P2, T0, T1, T2, T3 } from '@medical/platform/testing';
import { decide, evolve, examinationDecider, isPublished, DEFAULT_CANCEL_REASON, type Command } from '../src/domain/examination.ts';

// ---- builders ----
/** What the examination's events carry to link it to its prescription, diagnosis and reception. */
const link = { examinationId: 101, prescriptionId: P1, diagnosisId: 5, receptionId: 7 };
/** The order of the prescription, as the command brings it and the examination keeps it. */
const order = { prescriptionId: P1, diagnosisId: 5, receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', examinationType: 'X-RAY' };
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

const { given, accepted, refused, fold } = deciderAssertions(examinationDecider);

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
      { type: 'ExaminationRequested', data: { ...link, examinationType: 'X-RAY' }, at: T0 },
    ]);
    assert.deepEqual(events.filter(isPublished).map((e) => e.type), ['ExaminationRequested']);
    assert.deepEqual(fold(null, events), { id: 101, ...order, instructions: 'Chest', status: 'REQUESTED', createdAt: T0, updatedAt: T0 });
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

describe('unknown examination', () => {
  for (const command of [perform, cancel(), compensate, movePatient]) {
    test(`${command.type} on no state is refused as invalid`, () => {
      assert.equal(refused(decide(command, null), 'invalid'), 'unknown examination');
    });
  }

  test('evolve refuses to apply a non-creating event to no state', () => {
    assert.throws(() => evolve(null, { type: 'ExaminationCancelled', data: { ...link, reason: 'x' }, at: T1 }));
  });
});
