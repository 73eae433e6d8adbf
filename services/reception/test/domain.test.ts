import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deciderAssertions, T0, T1, T2, T3 } from '@medical/platform/testing';
import { decide, evolve, isPublished, receptionDecider, DEFAULT_CANCEL_REASON, type Command } from '../src/domain/reception.ts';
import { ticketDigestOf } from '../src/app/tickets.ts';

// ---- builders ----
const TICKET = 'q7Jx2mB0c-Zr9_kVw1aP3g';
const TICKET_DIGEST = ticketDigestOf(TICKET);
const register = (extra: Partial<Extract<Command, { type: 'RegisterReception' }>> = {}): Command => ({
  type: 'RegisterReception',
  receptionId: 7,
  patientId: 'P-001',
  patientName: 'Kim Minji',
  department: 'internal-medicine',
  queueNumber: 12,
  queueDay: '2025-03-01',
  ticket: TICKET,
  ticketDigest: TICKET_DIGEST,
  now: T0,
  ...extra,
});
const cancel = (reason?: string): Command => ({ type: 'CancelReception', now: T1, ...(reason ? { reason } : {}) });
const confirm: Command = { type: 'ConfirmReception', now: T3 };
const completed: Command = { type: 'RecordDiagnosisCompleted', diagnosisId: 3, opinion: 'Common cold', now: T2 };
const rejected: Command = { type: 'RecordDiagnosisRejected', diagnosisId: 3, reason: 'Wrong department', now: T2 };

const { given, accepted, refused, fold } = deciderAssertions(receptionDecider);

const states = {
  RECEIVED: () => given(register()),
  CANCELLED: () => given(register(), cancel()),
  DIAGNOSIS_COMPLETED: () => given(register(), completed),
  DIAGNOSIS_REJECTED: () => given(register(), rejected),
  CONFIRMED: () => given(register(), completed, confirm),
};

describe('RegisterReception', () => {
  test('publishes ReceptionCompleted received now, with its queue number and the ticket\'s digest, omitting absent optional fields', () => {
    const events = accepted(decide(register(), null));
    const data = { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', department: 'internal-medicine', receivedAt: T0, queueNumber: 12, queueDay: '2025-03-01', ticketDigest: TICKET_DIGEST };
    assert.deepEqual(events, [{ type: 'ReceptionCompleted', data, ticket: TICKET, at: T0 }]);
    assert.deepEqual(fold(null, events), {
      id: 7,
      patientId: 'P-001',
      patientName: 'Kim Minji',
      department: 'internal-medicine',
      queueNumber: 12,
      queueDay: '2025-03-01',
      ticket: TICKET,
      status: 'RECEIVED',
      receivedAt: T0,
      createdAt: T0,
      updatedAt: T0,
    });
  });

  test('the ticket\'s token stays on the reception and out of the published data, whatever comes after', () => {
    const [event] = accepted(decide(register(), null));
    assert.ok(event?.type === 'ReceptionCompleted' && isPublished(event));
    assert.ok(!JSON.stringify(event.data).includes(TICKET), 'the token is not in the data the outbox publishes');
    assert.equal(event.data.ticketDigest, TICKET_DIGEST);
    for (const state of [states.CANCELLED(), states.CONFIRMED(), given(register(), { type: 'MovePatient', patientId: 'P-002', patientName: 'Lee Seoyeon', now: T1 })]) {
      assert.deepEqual([state.ticket, state.queueNumber, state.queueDay], [TICKET, 12, '2025-03-01'], state.status);
    }
  });

  test('carries birthDate, department and symptom', () => {
    const state = given(register({ birthDate: '1990-05-04', department: 'Internal medicine', symptom: 'Fever' }));
    assert.equal(state.birthDate, '1990-05-04');
    assert.equal(state.department, 'Internal medicine');
    assert.equal(state.symptom, 'Fever');
  });

  test('is refused as a conflict when the reception exists', () => {
    for (const [status, build] of Object.entries(states)) {
      assert.match(refused(decide(register(), build()), 'conflict'), /already exists/, status);
    }
  });
});

describe('CancelReception', () => {
  test('cancels a RECEIVED reception with the default reason', () => {
    const events = accepted(decide(cancel(), states.RECEIVED()));
    assert.deepEqual(events, [{ type: 'ReceptionCancelled', data: { receptionId: 7, reason: DEFAULT_CANCEL_REASON }, at: T1 }]);
    assert.equal(DEFAULT_CANCEL_REASON, 'Cancelled at reception');
    const state = fold(states.RECEIVED(), events);
    assert.equal(state?.status, 'CANCELLED');
    assert.equal(state?.cancelReason, DEFAULT_CANCEL_REASON);
    assert.equal(state?.updatedAt, T1);
    assert.equal(state?.createdAt, T0);
  });

  test('keeps the given reason', () => {
    assert.equal(given(register(), cancel('Patient left')).cancelReason, 'Patient left');
  });

  for (const status of ['CANCELLED', 'DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED', 'CONFIRMED'] as const) {
    test(`is refused as a conflict from ${status}`, () => {
      assert.match(refused(decide(cancel(), states[status]()), 'conflict'), new RegExp(status));
    });
  }
});

describe('ConfirmReception', () => {
  test('confirms a completed diagnosis', () => {
    const events = accepted(decide(confirm, states.DIAGNOSIS_COMPLETED()));
    assert.deepEqual(events, [{ type: 'ReceptionConfirmed', data: { receptionId: 7, outcome: 'COMPLETED' }, at: T3 }]);
    const state = fold(states.DIAGNOSIS_COMPLETED(), events);
    assert.equal(state?.status, 'CONFIRMED');
    assert.equal(state?.confirmedAt, T3);
    assert.equal(state?.updatedAt, T3);
  });

  test('confirms a rejected diagnosis', () => {
    const events = accepted(decide(confirm, states.DIAGNOSIS_REJECTED()));
    assert.deepEqual(events, [{ type: 'ReceptionConfirmed', data: { receptionId: 7, outcome: 'REJECTED' }, at: T3 }]);
  });

  for (const status of ['RECEIVED', 'CANCELLED', 'CONFIRMED'] as const) {
    test(`is refused as a conflict from ${status}`, () => {
      assert.match(refused(decide(confirm, states[status]()), 'conflict'), new RegExp(status));
    });
  }

  test('is refused for a cancelled reception even when an outcome arrived later', () => {
    refused(decide(confirm, given(register(), cancel(), completed)), 'conflict');
  });
});

describe('diagnosis outcome', () => {
  test('a completed diagnosis moves RECEIVED to DIAGNOSIS_COMPLETED, internally', () => {
    const events = accepted(decide(completed, states.RECEIVED()));
    assert.deepEqual(events, [
      { type: 'DiagnosisOutcomeRecorded', data: { receptionId: 7, diagnosisId: 3, outcome: 'COMPLETED', opinion: 'Common cold' }, at: T2 },
    ]);
    assert.equal(events.some(isPublished), false);
    const state = fold(states.RECEIVED(), events);
    assert.deepEqual(
      { ...state },
      { ...states.RECEIVED(), status: 'DIAGNOSIS_COMPLETED', diagnosisId: 3, diagnosisOutcome: 'COMPLETED', diagnosisOpinion: 'Common cold', updatedAt: T2 },
    );
  });

  test('a rejected diagnosis moves RECEIVED to DIAGNOSIS_REJECTED', () => {
    const state = given(register(), rejected);
    assert.equal(state.status, 'DIAGNOSIS_REJECTED');
    assert.equal(state.diagnosisOutcome, 'REJECTED');
    assert.equal(state.diagnosisRejectReason, 'Wrong department');
    assert.equal(state.diagnosisOpinion, undefined);
  });

  test('after CANCELLED the outcome is recorded but the status stays CANCELLED', () => {
    for (const outcome of [completed, rejected]) {
      const state = given(register(), cancel(), outcome);
      assert.equal(state.status, 'CANCELLED');
      assert.equal(state.diagnosisId, 3);
      assert.equal(state.diagnosisOutcome, outcome === completed ? 'COMPLETED' : 'REJECTED');
      assert.equal(state.updatedAt, T2);
    }
  });

  test('a second outcome is a no-op', () => {
    const withOutcome = [states.DIAGNOSIS_COMPLETED(), states.DIAGNOSIS_REJECTED(), states.CONFIRMED(), given(register(), cancel(), rejected)];
    for (const state of withOutcome) {
      assert.deepEqual(accepted(decide(completed, state)), [], state.status);
      assert.deepEqual(accepted(decide(rejected, state)), [], state.status);
    }
  });
});

describe('unknown reception', () => {
  for (const command of [cancel(), confirm, completed, rejected]) {
    test(`${command.type} on no state is refused as invalid`, () => {
      assert.equal(refused(decide(command, null), 'invalid'), 'unknown reception');
    });
  }

  test('evolve refuses to apply a non-creating event to no state', () => {
    assert.throws(() => evolve(null, { type: 'ReceptionCancelled', data: { receptionId: 7, reason: 'x' }, at: T1 }));
  });
});

test('isPublished tells the integration events from the internal ones', () => {
  const all = [
    ...accepted(decide(register(), null)),
    ...accepted(decide(cancel(), states.RECEIVED())),
    ...accepted(decide(confirm, states.DIAGNOSIS_COMPLETED())),
    ...accepted(decide(completed, states.RECEIVED())),
  ];
  assert.deepEqual(
    all.filter(isPublished).map((e) => e.type),
    ['ReceptionCompleted', 'ReceptionCancelled', 'ReceptionConfirmed'],
  );
});
