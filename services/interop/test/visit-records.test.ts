import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { deepFreeze, P1, P2, P3 } from '@medical/platform/testing';
import { anonymousActor, systemActor, visitStageOf, type EventDataOf, type VisitStage } from '@medical/contracts';
import { mergedPatient, registeredPatient } from '../src/domain/patient-records.ts';
import { openVisit, projectVisit, type VisitRecords } from '../src/domain/visit-records.ts';
import { encounterStatusOf, type EncounterStatus, type PatientRecord } from '../src/fhir/index.ts';
import { at, doctor, examiner, otherDoctor, visitOf, visitPaths, type VisitEvent } from './visit-events.ts';

/**
 * The pure fold of a visit's events into its FHIR records (domain/visit-records.ts) and of its
 * patient (domain/patient-records.ts): the stage of each path, redeliveries that change nothing
 * (the same object back, so nothing is saved or announced), and what a merge and a call do.
 */

const RUNS = 200;
const ids = { receptionId: 7, diagnosisId: 5, examinationId: 101, prescriptionId: P1, patientId: 'P-001' };

/** The visit after each event of `events`, from the ReceptionCompleted that opens it; every value frozen, so a mutation throws. */
function fold(events: readonly VisitEvent[]): VisitRecords[] {
  const [first, ...rest] = events;
  assert.equal(first?.type, 'ReceptionCompleted');
  const visits = [deepFreeze(openVisit(first.data as EventDataOf<'ReceptionCompleted'>, first.time))];
  for (const e of rest) visits.push(deepFreeze(projectVisit(visits.at(-1)!, deepFreeze(e))));
  return visits;
}

const statusOf = (v: VisitRecords): EncounterStatus => encounterStatusOf(v.encounter);

describe('a visit folded from its events in order', () => {
  test('finished: each event moves the Encounter through its stages, confirmed at the end', () => {
    const visits = fold(visitPaths(ids).finished);
    const stages: VisitStage[] = ['RECEIVED', 'WAITING_FOR_DOCTOR', 'WAITING_FOR_DOCTOR', 'IN_EXAMINATION', 'IN_EXAMINATION', 'IN_EXAMINATION', 'EXAMINATIONS_DONE', 'DIAGNOSIS_COMPLETED', 'CONFIRMED'];
    assert.deepEqual(visits.map((v) => v.encounter.stage), stages);
    // Called in by the doctor, the visit is under way though its stage still waits for the doctor.
    assert.deepEqual(visits.map(statusOf), ['arrived', 'arrived', 'in-progress', 'in-progress', 'in-progress', 'in-progress', 'in-progress', 'finished', 'finished']);
    const end = visits.at(-1)!;
    assert.deepEqual(
      { calledAt: end.encounter.calledAt, endedAt: end.encounter.endedAt, doctor: end.encounter.doctor, receptionStatus: end.receptionStatus, diagnosis: [end.diagnosisId, end.diagnosisStatus] },
      { calledAt: at(5), endedAt: at(40), doctor: { subject: doctor.subject, name: doctor.name }, receptionStatus: 'CONFIRMED', diagnosis: [5, 'COMPLETED'] },
    );
    assert.deepEqual(end.requests.map((r) => [r.prescriptionId, r.status, r.patientId, r.doctor?.subject]), [[P1, 'PERFORMED', 'P-001', 'doctor-1']]);
    assert.deepEqual(end.tasks.map((t) => [t.examinationId, t.status, t.queueState, t.result, t.performedAt, t.department]), [[101, 'PERFORMED', 'CALLED', 'No active lung lesion', at(30), 'radiology']]);
    // The stage moves with the event that moved it.
    assert.equal(visits[7]!.encounter.updatedAt, at(40));
  });

  test('rejected: the examination the rejection cancelled ends cancelled, its request too, and the desk confirms the rejection', () => {
    const visits = fold(visitPaths(ids).rejected);
    assert.deepEqual(visits.map((v) => v.encounter.stage), ['RECEIVED', 'WAITING_FOR_DOCTOR', 'WAITING_FOR_DOCTOR', 'IN_EXAMINATION', 'IN_EXAMINATION', 'DIAGNOSIS_REJECTED', 'DIAGNOSIS_REJECTED', 'CONFIRMED']);
    assert.deepEqual(visits.slice(5).map(statusOf), ['finished', 'finished', 'finished']);
    const end = visits.at(-1)!;
    assert.equal(end.encounter.endedAt, at(30), 'ended when the doctor rejected, not when the desk confirmed');
    assert.deepEqual(end.tasks.map((t) => [t.status, t.cancelReason, t.result]), [['CANCELLED', 'Diagnosis rejected', undefined]]);
    assert.deepEqual(end.requests.map((r) => r.status), ['CANCELLED']);
  });

  test('cancelled at the desk: the Encounter is cancelled, ended then; the diagnosis cancelled after it changes no stage', () => {
    const visits = fold(visitPaths(ids).cancelled);
    assert.deepEqual(visits.map((v) => v.encounter.stage), ['RECEIVED', 'WAITING_FOR_DOCTOR', 'CANCELLED', 'CANCELLED']);
    assert.deepEqual(visits.map(statusOf), ['arrived', 'arrived', 'cancelled', 'cancelled']);
    assert.equal(visits[2]!.encounter.endedAt, at(3));
    assert.equal(visits[3]!.diagnosisStatus, 'CANCELLED');
    assert.equal(visits[3]!.encounter, visits[2]!.encounter, 'the encounter itself did not change');
  });

  test('the registration opens the visit with its department and queue number, and no doctor yet', () => {
    const [visit] = fold([visitOf(ids).completed()]);
    assert.deepEqual(visit, {
      encounter: { receptionId: 7, patientId: 'P-001', stage: 'RECEIVED', department: 'internal-medicine', queueNumber: 3, queueDay: '2026-12-07', receivedAt: at(0), updatedAt: at(0) },
      receptionStatus: 'RECEIVED',
      requests: [],
      tasks: [],
    });
  });

  test('an examiner calls the patient in, then marks a no-show: the Task waits again, and a no-show of a performed one changes nothing', () => {
    const v = visitOf(ids);
    const visits = fold([v.completed(), v.registered(), v.prescribed(), v.requested(), v.examinerCalled(), v.noShow(), v.performed(), v.noShow(40)]);
    assert.deepEqual(visits.slice(3).map((x) => x.tasks[0]?.queueState), ['WAITING', 'CALLED', 'NO_SHOW', 'NO_SHOW', 'NO_SHOW']);
    assert.equal(visits[7], visits[6]);
  });
});

describe('redeliveries and repeats change nothing', () => {
  test('each event of every path, applied twice, returns the very same object the second time (nothing to save or announce)', () => {
    for (const [path, events] of Object.entries(visitPaths(ids))) {
      const visits = fold(events);
      events.forEach((e, i) => {
        const again = projectVisit(visits[i]!, e);
        assert.equal(again, visits[i], `${path}: ${e.type} redelivered`);
      });
    }
  });

  test('property: any event of the path redelivered later, any number of times, is the same object back and the visit ends as without it', () => {
    const paths = visitPaths(ids);
    const scenario = fc.constantFrom('finished', 'rejected', 'cancelled').chain((path) => {
      const events = paths[path as keyof typeof paths];
      // Each redelivery: which event, and how many places after its first delivery it comes again.
      return fc.record({ path: fc.constant(path), redeliveries: fc.array(fc.record({ index: fc.nat(events.length - 1), delay: fc.nat(events.length) }), { maxLength: 8 }) });
    });
    fc.assert(
      fc.property(scenario, ({ path, redeliveries }) => {
        const events = paths[path as keyof typeof paths];
        const log: { event: VisitEvent; redelivered: boolean }[] = events.map((event) => ({ event, redelivered: false }));
        for (const { index, delay } of redeliveries) {
          const firstAt = log.findIndex((l) => l.event === events[index]);
          log.splice(Math.min(log.length, firstAt + 1 + delay), 0, { event: events[index]!, redelivered: true });
        }
        let visit = deepFreeze(openVisit(events[0]!.data as EventDataOf<'ReceptionCompleted'>, events[0]!.time));
        for (const { event, redelivered } of log.slice(1)) {
          const next = deepFreeze(projectVisit(visit, event));
          if (redelivered) assert.equal(next, visit, `${event.type} redelivered changed the visit`);
          visit = next;
        }
        assert.deepEqual(visit, fold(events).at(-1));
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- chaotic events of one visit: any order, duplicates, strays, any actor ----
const actors = fc.constantFrom(doctor, otherDoctor, examiner, systemActor('diagnosis'), anonymousActor, undefined);
const minute = fc.integer({ min: 1, max: 600 });
/** Examinations 101, 102 and 103 of prescriptions P1, P2 and P3, each drawn alike: an outcome may come for an examination never requested. */
const examination = fc.constantFrom({ examinationId: 101, prescriptionId: P1 }, { examinationId: 102, prescriptionId: P2 }, { examinationId: 103, prescriptionId: P3 });
const chaoticEvent: fc.Arbitrary<VisitEvent> = fc.oneof(
  fc.record({ kind: fc.constantFrom('registered', 'receptionCancelled', 'diagnosisCancelled', 'confirmedCompleted', 'confirmedRejected'), m: minute }),
  fc.record({ kind: fc.constantFrom('doctorCalled', 'diagnosisCompleted', 'diagnosisRejected', 'prescribed'), m: minute, actor: actors, exam: examination, count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constantFrom('requested', 'examinerCalled', 'noShow', 'performed', 'examinationCancelled'), m: minute, exam: examination, result: fc.constantFrom('Normal', 'Abnormal') }),
  fc.record({ kind: fc.constant('merged'), m: minute, kept: fc.constantFrom('P-001', 'P-002', 'P-003') }),
).map((drawn) => {
  const d = drawn as { kind: string; m: number; actor?: typeof doctor; exam?: { examinationId: number; prescriptionId: string }; count?: number; result?: string; kept?: string };
  const v = visitOf({ ...ids, ...(d.exam ?? {}) });
  const actor = d.actor ?? (undefined as unknown as typeof doctor);
  const events: Record<string, () => VisitEvent> = {
    registered: () => v.registered(d.m),
    receptionCancelled: () => v.receptionCancelled(d.m),
    diagnosisCancelled: () => v.diagnosisCancelled(d.m),
    confirmedCompleted: () => v.confirmed('COMPLETED', d.m),
    confirmedRejected: () => v.confirmed('REJECTED', d.m),
    doctorCalled: () => withActor(v.doctorCalled(d.m, actor, d.count), d.actor),
    diagnosisCompleted: () => withActor(v.diagnosisCompleted(d.m, actor), d.actor),
    diagnosisRejected: () => withActor(v.diagnosisRejected(d.m, actor), d.actor),
    prescribed: () => withActor(v.prescribed(d.m, actor), d.actor),
    requested: () => v.requested(d.m),
    examinerCalled: () => v.examinerCalled(d.m),
    noShow: () => v.noShow(d.m),
    performed: () => v.performed(d.m, d.result),
    examinationCancelled: () => v.examinationCancelled(d.m),
    merged: () => v.merged(d.kept!, d.m),
  };
  return events[d.kind]!();
});

/** The event with this actor, or without one (the events written before actors were). */
function withActor(e: VisitEvent, actor: typeof doctor | undefined): VisitEvent {
  if (actor !== undefined) return e;
  const { actor: _dropped, ...data } = e.data as { actor?: unknown };
  return { ...e, data } as VisitEvent;
}

const people = new Set([doctor.subject, otherDoctor.subject, examiner.subject]);

describe('property: any events of a visit, in any order', () => {
  test('the fold is pure and idempotent, its stage is the stage of its statuses, and what is settled stays settled', () => {
    fc.assert(
      fc.property(fc.array(chaoticEvent, { maxLength: 25 }), (events) => {
        const visits = fold([visitOf(ids).completed(), ...events]);
        events.forEach((e, i) => {
          const before = visits[i]!;
          const after = visits[i + 1]!;
          assert.equal(projectVisit(after, e), after, `${e.type} twice in a row changed the visit`);
          assert.equal(after.encounter.stage, visitStageOf({ ...after, examinations: after.requests }));
          // The whole visit is one patient's: a merge moves everything ordered in it.
          for (const r of [...after.requests, ...after.tasks]) assert.equal(r.patientId, after.encounter.patientId);
          // Set once, never changed: the first call, the doctor, the end, and each examination's outcome.
          for (const key of ['calledAt', 'doctor', 'endedAt'] as const) if (before.encounter[key] !== undefined) assert.deepEqual(after.encounter[key], before.encounter[key], key);
          for (const task of before.tasks) {
            const later = after.tasks.find((t) => t.examinationId === task.examinationId)!;
            if (task.status !== 'REQUESTED') assert.deepEqual([later.status, later.result, later.performedAt, later.cancelReason], [task.status, task.result, task.performedAt, task.cancelReason]);
          }
          // A person, never the system or an unauthenticated request, is the visit's doctor.
          if (after.encounter.doctor !== undefined) assert.ok(people.has(after.encounter.doctor.subject));
          if (after.encounter.stage === 'CANCELLED' || after.encounter.stage.startsWith('DIAGNOSIS_')) assert.ok(after.encounter.endedAt !== undefined, 'an ended visit says when');
        });
        // No Task for an examination that was never requested, and at most one per examination.
        const tasks = visits.at(-1)!.tasks.map((t) => t.examinationId);
        assert.equal(new Set(tasks).size, tasks.length);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('an examination performed once keeps its first result', () => {
  test('a second ExaminationPerformed, or a cancellation after it, changes nothing', () => {
    const v = visitOf(ids);
    const [, , , performed] = fold([v.completed(), v.prescribed(), v.requested(), v.performed(30, 'first result')]);
    assert.equal(projectVisit(performed!, v.performed(35, 'second result')), performed);
    assert.equal(projectVisit(performed!, v.examinationCancelled(36)), performed);
    assert.deepEqual(performed!.tasks.map((t) => [t.result, t.performedAt]), [['first result', at(30)]]);
  });

  test('an outcome of an examination never requested here is no Task of this visit', () => {
    const v = visitOf(ids);
    const [, prescribed] = fold([v.completed(), v.prescribed()]);
    assert.equal(projectVisit(prescribed!, v.performed()), prescribed);
  });
});

describe('a merge of the visit\'s patient', () => {
  test('moves the Encounter, its ServiceRequests and its Tasks to the patient kept; the same merge again changes nothing', () => {
    const v = visitOf(ids);
    const visits = fold([v.completed(), v.registered(), v.prescribed(), v.requested(), v.merged('P-KEPT', 50)]);
    const merged = visits.at(-1)!;
    assert.deepEqual([merged.encounter.patientId, ...merged.requests.map((r) => r.patientId), ...merged.tasks.map((t) => t.patientId)], ['P-KEPT', 'P-KEPT', 'P-KEPT']);
    assert.deepEqual([merged.encounter.updatedAt, merged.requests[0]!.updatedAt, merged.tasks[0]!.updatedAt], [at(50), at(50), at(50)]);
    assert.equal(projectVisit(merged, v.merged('P-KEPT', 55)), merged);
    // What is ordered after the merge is the patient kept's too.
    const next = projectVisit(merged, visitOf({ ...ids, prescriptionId: P2 }).prescribed(60));
    assert.equal(next.requests[1]!.patientId, 'P-KEPT');
  });
});

describe("the doctor's call", () => {
  test('sets calledAt once: a recall, even by another doctor, keeps the first call and its doctor', () => {
    const v = visitOf(ids);
    const [, , called] = fold([v.completed(), v.registered(), v.doctorCalled(5, doctor)]);
    assert.deepEqual([called!.encounter.calledAt, called!.encounter.doctor], [at(5), { subject: 'doctor-1', name: '이의사' }]);
    assert.equal(projectVisit(called!, v.doctorCalled(9, otherDoctor, 2)), called);
  });

  test('takes the doctor from a person only: a system actor calls in, and the doctor comes with the prescription', () => {
    const v = visitOf(ids);
    const [, , called, prescribed] = fold([v.completed(), v.registered(), v.doctorCalled(5, systemActor('diagnosis')), v.prescribed(10, otherDoctor)]);
    assert.equal(called!.encounter.calledAt, at(5));
    assert.equal(called!.encounter.doctor, undefined);
    assert.deepEqual(prescribed!.encounter.doctor, { subject: 'doctor-2', name: '박의사' });
    assert.deepEqual(prescribed!.requests[0]!.doctor, { subject: 'doctor-2', name: '박의사' });
  });

  test("an examiner's call is not the doctor's: it sets no calledAt on the Encounter", () => {
    const v = visitOf(ids);
    const visits = fold([v.completed(), v.registered(), v.prescribed(), v.requested(), v.examinerCalled()]);
    assert.equal(visits.at(-1)!.encounter.calledAt, undefined);
  });
});

describe('the patient of the visits (domain/patient-records.ts)', () => {
  const registration = (patientName: string, birthDate?: string) => ({ patientId: 'P-001', patientName, ...(birthDate ? { birthDate } : {}) });

  test('an older registration replayed does not overwrite a newer name', () => {
    const newer = deepFreeze(registeredPatient(undefined, registration('김민지 (개명)', '1990-04-01'), at(60)));
    assert.equal(registeredPatient(newer, registration('김민지', '1990-04-01'), at(0)), newer);
  });

  test('a newer registration takes its name and birth date, keeping the merge, and the sex known when it carries none', () => {
    const current: PatientRecord = deepFreeze({ patientId: 'P-001', name: '김민지', birthDate: '1990-04-01', sex: 'female', mergedInto: 'P-KEPT', updatedAt: at(0) });
    assert.deepEqual(registeredPatient(current, registration('김민지 (개명)', '1990-04-02'), at(60)), {
      patientId: 'P-001', name: '김민지 (개명)', birthDate: '1990-04-02', sex: 'female', mergedInto: 'P-KEPT', updatedAt: at(60),
    });
  });

  test('the same details at a later visit are the same object: nothing to save', () => {
    const current = deepFreeze(registeredPatient(undefined, registration('김민지', '1990-04-01'), at(0)));
    assert.equal(registeredPatient(current, registration('김민지', '1990-04-01'), at(60)), current);
  });

  test('a merge sets mergedInto on the duplicate, keeps its own name, and is the same object when repeated', () => {
    const duplicate = deepFreeze(registeredPatient(undefined, registration('김민지', '1990-04-01'), at(0)));
    const merge = { receptionId: 7, patientId: 'P-KEPT', patientName: '김민지', previousPatientId: 'P-001', mergedAt: at(50) };
    const merged = deepFreeze(mergedPatient(duplicate, merge, at(50)));
    assert.deepEqual(merged, { patientId: 'P-001', name: '김민지', birthDate: '1990-04-01', mergedInto: 'P-KEPT', updatedAt: at(50) });
    assert.equal(mergedPatient(merged, merge, at(55)), merged);
    // A duplicate this service never saw registered is known by the merge's name.
    assert.deepEqual(mergedPatient(undefined, { ...merge, patientName: '김민지 (정정)' }, at(50)), { patientId: 'P-001', name: '김민지 (정정)', mergedInto: 'P-KEPT', updatedAt: at(50) });
  });
});
