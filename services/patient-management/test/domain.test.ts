import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EventDataOf, EventType } from '@medical/contracts';
import { P1, P2 } from '@medical/platform/testing';
import { deriveStage, project, type ProjectedEvent, type Visit } from '../src/domain/visit.ts';

const examinationIdOf: Record<string, number> = { [P1]: 101, [P2]: 102 };
const ids = { receptionId: 7, diagnosisId: 5 };

// ---- builders: one event per step, each a minute after 09:00 ----
let clock = 0;
const at = (minute: number) => `2025-03-01T09:${String(minute).padStart(2, '0')}:00.000Z`;
function event<T extends EventType>(type: T, data: EventDataOf<T>, time = at(clock++)): ProjectedEvent {
  return { type, data, time };
}
const ev = {
  receptionCompleted: () =>
    event('ReceptionCompleted', { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', receivedAt: at(0) }),
  receptionCancelled: () => event('ReceptionCancelled', { receptionId: 7, reason: 'Patient left' }),
  receptionConfirmed: (outcome: 'COMPLETED' | 'REJECTED') => event('ReceptionConfirmed', { receptionId: 7, outcome }),
  diagnosisRegistered: () => event('DiagnosisRegistered', { ...ids, patientId: 'P-001', patientName: 'Kim Minji' }),
  prescribed: (prescriptionId: string) =>
    event('ExaminationPrescribed', { ...ids, prescriptionId, patientId: 'P-001', patientName: 'Kim Minji', examinationType: 'X-RAY' }),
  requested: (prescriptionId: string) =>
    event('ExaminationRequested', { ...ids, prescriptionId, examinationId: examinationIdOf[prescriptionId] ?? 0, examinationType: 'X-RAY' }),
  performed: (prescriptionId: string, result = 'Clear lungs') =>
    event('ExaminationPerformed', { ...ids, prescriptionId, examinationId: examinationIdOf[prescriptionId] ?? 0, result, performedAt: at(30) }),
  examCancelled: (prescriptionId: string) =>
    event('ExaminationCancelled', { ...ids, prescriptionId, examinationId: examinationIdOf[prescriptionId] ?? 0, reason: 'Diagnosis rejected' }),
  diagnosisCompleted: () => event('DiagnosisCompleted', { ...ids, opinion: 'Common cold' }),
  diagnosisRejected: () => event('DiagnosisRejected', { ...ids, reason: 'Wrong department' }),
  diagnosisCancelled: () => event('DiagnosisCancelled', { ...ids, reason: 'Reception cancelled' }),
  breakGlass: () => event('BreakGlassAccessed', { ...ids, reason: 'Unconscious in the emergency room', accessedAt: at(clock) }),
  patientMerged: (patientId = 'P-002', previousPatientId = 'P-001') =>
    event('ReceptionPatientMerged', { receptionId: 7, patientId, patientName: 'Kim Min-ji', birthDate: '1990-05-01', previousPatientId, mergedAt: at(clock) }),
};

/** A visit opened at 09:00 (the clock set back): the reception completed, then its diagnosis registered. */
function opened(): ProjectedEvent[] {
  clock = 0;
  return [ev.receptionCompleted(), ev.diagnosisRegistered()];
}
/** An opened visit whose diagnosis prescribed examinations, each then requested from the examiners. */
function examinationsRequested(...prescriptionIds: string[]): ProjectedEvent[] {
  return [...opened(), ...prescriptionIds.map((id) => ev.prescribed(id)), ...prescriptionIds.map((id) => ev.requested(id))];
}

function play(events: ProjectedEvent[], from: Visit | null = null): Visit {
  const visit = events.reduce(project, from);
  assert.ok(visit);
  return visit;
}
/** The stage after each event. */
function stages(events: ProjectedEvent[]): string[] {
  const out: string[] = [];
  events.reduce<Visit | null>((v, e) => {
    const next = project(v, e);
    out.push(next?.stage ?? 'none');
    return next;
  }, null);
  return out;
}
const summary = (v: Visit) => ({
  receptionStatus: v.receptionStatus,
  diagnosisStatus: v.diagnosisStatus,
  stage: v.stage,
  examinations: v.examinations.map((e) => `${e.prescriptionId.slice(0, 1)}:${e.status}`),
});

describe('a full visit', () => {
  const events = [
    ...examinationsRequested(P1, P2), // from 09:00
    ev.performed(P1),
    ev.examCancelled(P2),
    ev.diagnosisCompleted(),
    ev.receptionConfirmed('COMPLETED'), // 09:09
  ];

  test('moves through the expected stages', () => {
    assert.deepEqual(stages(events), [
      'RECEIVED',
      'WAITING_FOR_DOCTOR',
      'IN_EXAMINATION',
      'IN_EXAMINATION',
      'IN_EXAMINATION',
      'IN_EXAMINATION',
      'IN_EXAMINATION',
      'EXAMINATIONS_DONE',
      'DIAGNOSIS_COMPLETED',
      'CONFIRMED',
    ]);
  });

  test('mirrors the reception and diagnosis statuses at each step', () => {
    const expected = [
      ['RECEIVED', undefined],
      ['RECEIVED', 'REGISTERED'],
      ['RECEIVED', 'EXAMINATION_PRESCRIBED'],
      ['RECEIVED', 'EXAMINATION_PRESCRIBED'],
      ['RECEIVED', 'EXAMINATION_PRESCRIBED'],
      ['RECEIVED', 'EXAMINATION_PRESCRIBED'],
      ['RECEIVED', 'EXAMINATION_PRESCRIBED'],
      ['RECEIVED', 'EXAMINATION_DONE'],
      ['DIAGNOSIS_COMPLETED', 'COMPLETED'],
      ['CONFIRMED', 'COMPLETED'],
    ];
    events.forEach((_, i) => {
      const v = play(events.slice(0, i + 1));
      assert.deepEqual([v.receptionStatus, v.diagnosisStatus], expected[i], `after ${events[i]?.type}`);
    });
  });

  test('ends with the whole visit', () => {
    assert.deepEqual(play(events), {
      receptionId: 7,
      patientId: 'P-001',
      patientName: 'Kim Minji',
      receptionStatus: 'CONFIRMED',
      diagnosisId: 5,
      diagnosisStatus: 'COMPLETED',
      examinations: [
        { prescriptionId: P1, examinationId: 101, examinationType: 'X-RAY', status: 'PERFORMED', result: 'Clear lungs', prescribedAt: at(2) },
        { prescriptionId: P2, examinationId: 102, examinationType: 'X-RAY', status: 'CANCELLED', prescribedAt: at(3) },
      ],
      stage: 'CONFIRMED',
      // The moments the waits are measured between: the last examination ended (the cancellation), the diagnosis completed.
      receivedAt: at(0),
      examinationsEndedAt: at(7),
      concludedAt: at(8),
      createdAt: at(0),
      updatedAt: at(9),
    });
  });

  test('a duplicate of each event right after it changes nothing', () => {
    let visit: Visit | null = null;
    for (const e of events) {
      visit = project(visit, e);
      assert.equal(project(visit, e), visit, `duplicate ${e.type}`);
    }
  });

  test('a late redelivery of any earlier event changes nothing, not even updatedAt', () => {
    const final = play(events);
    for (const e of events) assert.deepEqual(project(final, e), final, `redelivered ${e.type}`);
  });
});

describe('rejection', () => {
  test('with one examination performed and one cancelled by compensation', () => {
    const events = [...examinationsRequested(P1, P2), ev.performed(P1), ev.diagnosisRejected(), ev.examCancelled(P2), ev.receptionConfirmed('REJECTED')];
    assert.deepEqual(stages(events).slice(6), ['IN_EXAMINATION', 'DIAGNOSIS_REJECTED', 'DIAGNOSIS_REJECTED', 'CONFIRMED']);
    assert.deepEqual(summary(play(events.slice(0, 8))), {
      receptionStatus: 'DIAGNOSIS_REJECTED',
      diagnosisStatus: 'REJECTED',
      stage: 'DIAGNOSIS_REJECTED',
      examinations: ['1:PERFORMED', '2:REQUESTED'],
    });
    assert.deepEqual(summary(play(events.slice(0, 9))), {
      receptionStatus: 'DIAGNOSIS_REJECTED',
      diagnosisStatus: 'REJECTED',
      stage: 'DIAGNOSIS_REJECTED',
      examinations: ['1:PERFORMED', '2:CANCELLED'],
    });
    assert.equal(play(events).receptionStatus, 'CONFIRMED');
  });

  test('without examinations', () => {
    assert.deepEqual(stages([...opened(), ev.diagnosisRejected()]), [
      'RECEIVED',
      'WAITING_FOR_DOCTOR',
      'DIAGNOSIS_REJECTED',
    ]);
  });
});

describe('cancellation', () => {
  test('a cancelled reception cancels the diagnosis and its pending examination', () => {
    const events = [...examinationsRequested(P1), ev.receptionCancelled(), ev.diagnosisCancelled(), ev.examCancelled(P1)];
    assert.deepEqual(stages(events).slice(4), ['CANCELLED', 'CANCELLED', 'CANCELLED']);
    assert.deepEqual(summary(play(events)), {
      receptionStatus: 'CANCELLED',
      diagnosisStatus: 'CANCELLED',
      stage: 'CANCELLED',
      examinations: ['1:CANCELLED'],
    });
  });

  test('an outcome after the cancellation is recorded on the diagnosis, the reception stays CANCELLED', () => {
    const v = play([...opened(), ev.receptionCancelled(), ev.diagnosisCompleted()]);
    assert.deepEqual([v.receptionStatus, v.diagnosisStatus, v.stage], ['CANCELLED', 'COMPLETED', 'CANCELLED']);
  });

  test('an outcome published before a concurrent cancellation converges on CANCELLED like the reception', () => {
    const v = play([...opened(), ev.diagnosisCompleted(), ev.receptionCancelled()]);
    assert.deepEqual([v.receptionStatus, v.diagnosisStatus, v.stage], ['CANCELLED', 'COMPLETED', 'CANCELLED']);
  });
});

describe('examinations', () => {
  test('a new prescription after all are done returns to IN_EXAMINATION', () => {
    const events = [...opened(), ev.prescribed(P1), ev.performed(P1), ev.prescribed(P2)];
    assert.deepEqual(stages(events).slice(3), ['EXAMINATIONS_DONE', 'IN_EXAMINATION']);
    assert.equal(play(events).diagnosisStatus, 'EXAMINATION_PRESCRIBED');
  });

  test('a prescription and a result of another one converge in either order', () => {
    const base = examinationsRequested(P1);
    const prescribeP2 = ev.prescribed(P2);
    const performP1 = ev.performed(P1);
    const a = play([...base, prescribeP2, performP1]);
    const b = play([...base, performP1, prescribeP2]);
    assert.deepEqual(summary(a), summary(b));
    assert.equal(a.diagnosisStatus, 'EXAMINATION_PRESCRIBED');
  });

  test('a report about an unknown prescription changes nothing', () => {
    const v = play(opened());
    assert.equal(project(v, ev.requested(P1)), v);
    assert.equal(project(v, ev.performed(P1)), v);
  });

  test('a second report on an ended examination changes nothing', () => {
    const v = play([...opened(), ev.prescribed(P1), ev.performed(P1)]);
    assert.equal(project(v, ev.examCancelled(P1)), v);
    assert.equal(project(v, ev.performed(P1, 'Another result')), v);
  });
});

describe("a merge of the visit's patient", () => {
  const prefixes = {
    RECEIVED: () => [ev.receptionCompleted()],
    IN_EXAMINATION: () => examinationsRequested(P1),
    CONFIRMED: () => [...examinationsRequested(P1), ev.performed(P1), ev.diagnosisCompleted(), ev.receptionConfirmed('COMPLETED')],
    CANCELLED: () => [...opened(), ev.receptionCancelled(), ev.diagnosisCancelled()],
  };

  for (const [stage, events] of Object.entries(prefixes)) {
    test(`moves a ${stage} visit to the patient kept, and changes nothing else but updatedAt`, () => {
      clock = 0;
      const before = play(events());
      assert.equal(before.stage, stage);
      const merge = ev.patientMerged();
      const after = play([merge], before);
      assert.deepEqual(after, { ...before, patientId: 'P-002', patientName: 'Kim Min-ji', updatedAt: merge.time });
    });
  }

  test('a redelivery leaves the very same visit, and so does a late one after later events', () => {
    const merge = ev.patientMerged();
    const moved = play([...opened(), merge]);
    assert.equal(project(moved, merge), moved);
    const later = play([ev.prescribed(P1), ev.diagnosisCompleted()], moved);
    assert.equal(project(later, merge), later);
  });

  test('merges follow one another, each to its own patient; the events of the visit after a merge keep the patient kept', () => {
    const v = play([...opened(), ev.patientMerged('P-002', 'P-001'), ev.patientMerged('P-003', 'P-002'), ev.prescribed(P1), ev.receptionCancelled()]);
    assert.deepEqual([v.patientId, v.patientName, v.stage], ['P-003', 'Kim Min-ji', 'CANCELLED']);
  });

  test('a merge of a visit never seen gives no visit (the projection retries it, then dead-letters it)', () => {
    assert.equal(project(null, ev.patientMerged()), null);
  });
});

describe('the waiting room on the visit', () => {
  const call = (calledFor: 'DIAGNOSIS' | 'EXAMINATION', callCount: number, minute: number) =>
    event('PatientCalled', { ...ids, calledFor, ...(calledFor === 'EXAMINATION' ? { examinationId: 101 } : {}), department: 'internal-medicine', callCount, calledAt: at(minute) }, at(minute));

  test("the registration's department and queue number are the visit's", () => {
    const v = play([event('ReceptionCompleted', { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', department: 'surgery', queueNumber: 12, queueDay: '2025-03-01', receivedAt: at(0) }, at(0))]);
    assert.deepEqual([v.department, v.queueNumber, v.queueDay, v.receivedAt], ['surgery', 12, '2025-03-01', at(0)]);
  });

  test("a call or a no-show never moves the stage; the visit keeps the doctor's first call only", () => {
    const v = play(opened());
    const examinerCalls = project(v, call('EXAMINATION', 1, 10));
    assert.equal(examinerCalls, v, "an examiner's call is the waiting room's, not the visit's");
    const called = play([call('DIAGNOSIS', 1, 10)], v);
    assert.deepEqual(called, { ...v, firstCalledAt: at(10), updatedAt: at(10) });
    assert.equal(project(called, call('DIAGNOSIS', 2, 20)), called, 'a recall');
    const noShow = event('PatientNoShow', { ...ids, calledFor: 'DIAGNOSIS', department: 'internal-medicine', markedAt: at(15) }, at(15));
    assert.equal(project(called, noShow), called);
  });

  test("an examination waits in the department the prescription names (else the visit's), then the examiners'", () => {
    clock = 1;
    const v = play([event('ReceptionCompleted', { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', department: 'surgery', receivedAt: at(0) }, at(0)), ev.prescribed(P1)]);
    assert.deepEqual(v.examinations[0], { prescriptionId: P1, examinationType: 'X-RAY', status: 'REQUESTED', prescribedAt: at(1), department: 'surgery' });
    const withCatalog = { ...ev.prescribed(P2), data: { ...(ev.prescribed(P2).data as object), department: 'radiology' } };
    assert.equal(play([withCatalog], v).examinations[1]?.department, 'radiology');
    const requested = { ...ev.requested(P1), data: { ...(ev.requested(P1).data as object), department: 'cardiology' } };
    assert.deepEqual(play([requested], v).examinations[0]?.department, 'cardiology');
  });
});

describe('edges', () => {
  test('an event for a visit never seen gives no visit', () => {
    clock = 0;
    assert.equal(project(null, ev.diagnosisRegistered()), null);
    assert.equal(project(null, ev.receptionCancelled()), null);
  });

  test('an unknown event type leaves the visit unchanged', () => {
    clock = 0;
    const v = play([ev.receptionCompleted()]);
    assert.equal(project(v, { type: 'PatientMoved', data: { receptionId: 7 }, time: at(59) }), v);
  });

  test('a diagnosis opened in an emergency (break-glass) changes nothing of the visit, at any stage, not even updatedAt', () => {
    const prefixes = [opened(), examinationsRequested(P1), [...examinationsRequested(P1), ev.performed(P1), ev.diagnosisCompleted()]];
    for (const events of prefixes) {
      const v = play(events);
      assert.equal(project(v, ev.breakGlass()), v, v.stage);
    }
  });

  test('updatedAt never moves backwards', () => {
    const v = play(opened());
    const late = project(v, { ...ev.receptionCancelled(), time: at(0) });
    assert.equal(late?.receptionStatus, 'CANCELLED');
    assert.equal(late?.updatedAt, at(1));
  });
});

test('deriveStage follows the precedence of DESIGN stages', () => {
  const exam = (status: 'REQUESTED' | 'PERFORMED' | 'CANCELLED') => ({ prescriptionId: P1, examinationType: 'X-RAY', status });
  const cases: Array<[Parameters<typeof deriveStage>[0], string]> = [
    [{ receptionStatus: 'RECEIVED', examinations: [] }, 'RECEIVED'],
    [{ receptionStatus: 'RECEIVED', diagnosisId: 5, diagnosisStatus: 'REGISTERED', examinations: [] }, 'WAITING_FOR_DOCTOR'],
    [{ receptionStatus: 'RECEIVED', diagnosisId: 5, diagnosisStatus: 'EXAMINATION_PRESCRIBED', examinations: [exam('PERFORMED'), exam('REQUESTED')] }, 'IN_EXAMINATION'],
    [{ receptionStatus: 'RECEIVED', diagnosisId: 5, diagnosisStatus: 'EXAMINATION_DONE', examinations: [exam('CANCELLED')] }, 'EXAMINATIONS_DONE'],
    [{ receptionStatus: 'DIAGNOSIS_COMPLETED', diagnosisId: 5, diagnosisStatus: 'COMPLETED', examinations: [] }, 'DIAGNOSIS_COMPLETED'],
    [{ receptionStatus: 'DIAGNOSIS_REJECTED', diagnosisId: 5, diagnosisStatus: 'REJECTED', examinations: [exam('REQUESTED')] }, 'DIAGNOSIS_REJECTED'],
    [{ receptionStatus: 'CONFIRMED', diagnosisId: 5, diagnosisStatus: 'COMPLETED', examinations: [] }, 'CONFIRMED'],
    [{ receptionStatus: 'CANCELLED', diagnosisId: 5, diagnosisStatus: 'COMPLETED', examinations: [exam('REQUESTED')] }, 'CANCELLED'],
  ];
  for (const [visit, stage] of cases) assert.equal(deriveStage(visit), stage, JSON.stringify(visit));
});
