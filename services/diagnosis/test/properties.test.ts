import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { commandSequences, isoTimestamp, P1, P2, P3, schemaText, testDeciderLaws, traceOf, type Step as TraceStep } from '@medical/platform/testing';
import { assertEventData, type DiagnosisStatus, type PrescriptionStatus } from '@medical/contracts';
import { diagnosisDecider, isPublished, type Command, type DomainEvent, type State } from '../src/domain/diagnosis.ts';

/**
 * Property-based tests of the diagnosis decider: random sequences of doctor commands (valid and
 * not, out of order, repeated, on no diagnosis) interleaved with the events the service consumes
 * (ReceptionCompleted, ReceptionCancelled and the examination reports, duplicated, for unknown
 * prescriptions and for the wrong examination) and the doctor's calls and no-shows, folded
 * through evolve. The expectations are
 * written from DESIGN.md section 5, not from the implementation.
 */

const RUNS = 400;

// ---- DESIGN.md section 5, written independently of the decider ----
type Status = DiagnosisStatus | 'NONE';
const transitions: Record<Status, readonly Status[]> = {
  NONE: ['REGISTERED'],
  REGISTERED: ['EXAMINATION_PRESCRIBED', 'COMPLETED', 'REJECTED', 'CANCELLED'],
  // COMPLETED is refused while a prescription is pending.
  EXAMINATION_PRESCRIBED: ['EXAMINATION_DONE', 'REJECTED', 'CANCELLED'],
  // A new prescription returns it to EXAMINATION_PRESCRIBED.
  EXAMINATION_DONE: ['EXAMINATION_PRESCRIBED', 'COMPLETED', 'REJECTED', 'CANCELLED'],
  COMPLETED: [],
  REJECTED: [],
  CANCELLED: [],
};
const terminal: ReadonlySet<Status> = new Set(['COMPLETED', 'REJECTED', 'CANCELLED']);
const prescriptionTransitions: Record<PrescriptionStatus, readonly PrescriptionStatus[]> = {
  REQUESTED: ['PERFORMED', 'CANCELLED'],
  PERFORMED: [],
  CANCELLED: [],
};
// Opening a diagnosis outside one's departments is recorded whatever its status.
const reports = ['PrescriptionExaminationLinked', 'PrescriptionPerformed', 'PrescriptionCancelled', 'BreakGlassAccessed'] as const;
// A merge of the visit's patient moves the diagnosis whatever its status: an ended one is the patient's history too.
const everyStatus = [...reports, 'PatientMoved'] as const;
// The doctor calls the patient (and marks a no-show) only while the diagnosis is open.
const openEvents = ['ExaminationPrescribed', ...everyStatus, 'DiagnosisRejected', 'DiagnosisCancelled', 'PatientCalled', 'PatientNoShow'] as const;
/** The event types a decision may contain, by the status it is taken in. */
const allowedEvents: Record<Status, readonly DomainEvent['type'][]> = {
  NONE: ['DiagnosisRegistered', 'QueueNumberRecorded'],
  REGISTERED: [...openEvents, 'DiagnosisCompleted'],
  EXAMINATION_PRESCRIBED: openEvents,
  EXAMINATION_DONE: [...openEvents, 'DiagnosisCompleted'],
  // The examinations still report on a diagnosis that ended: what happened to them is recorded.
  COMPLETED: everyStatus,
  REJECTED: everyStatus,
  CANCELLED: everyStatus,
};
const statusOf = (s: State): Status => s?.status ?? 'NONE';
const pending = (s: NonNullable<State>) => s.prescriptions.filter((p) => p.status === 'REQUESTED');

/** What DESIGN says a command gets in a state. */
function expected(command: Command, state: State): 'accepted' | 'conflict' | 'invalid' {
  if (command.type === 'RegisterDiagnosis') {
    // A redelivered ReceptionCompleted is accepted as a no-op; another reception is a conflict.
    return !state || state.receptionId === command.receptionId ? 'accepted' : 'conflict';
  }
  if (!state) return 'invalid';
  const ended = terminal.has(state.status);
  switch (command.type) {
    case 'PrescribeExamination':
      return ended || state.prescriptions.some((p) => p.prescriptionId === command.prescriptionId) ? 'conflict' : 'accepted';
    case 'RecordExaminationRequested':
    case 'RecordExaminationPerformed':
    case 'RecordExaminationCancelled': {
      const p = state.prescriptions.find((x) => x.prescriptionId === command.prescriptionId);
      if (!p) return 'invalid';
      return p.examinationId !== undefined && p.examinationId !== command.examinationId ? 'conflict' : 'accepted';
    }
    case 'CompleteDiagnosis':
      return ended || pending(state).length > 0 ? 'conflict' : 'accepted';
    case 'RejectDiagnosis':
      return ended ? 'conflict' : 'accepted';
    case 'CancelDiagnosis':
      return 'accepted'; // compensation: an ended diagnosis keeps its outcome (no events)
    case 'OpenInEmergency':
      return 'accepted'; // reading is always allowed; breaking the glass is only recorded
    case 'MovePatient':
      return 'accepted'; // in every status; the same patient again is a redelivery (no events)
    case 'CallPatient':
      return ended ? 'conflict' : 'accepted'; // the first call, or a recall
    case 'MarkNoShow':
      // Once per call: not before the first, not twice after the same one.
      return ended || state.calledAt === undefined || state.noShowAt !== undefined ? 'conflict' : 'accepted';
  }
}

// ---- arbitraries ----
const text = schemaText;
const timestamp = isoTimestamp;
const id = fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

// Small pools so that sequences hit the same prescriptions and examinations again; a fresh UUID
// or id is a prescription the diagnosis never wrote or an examination of another prescription.
const P = [P1, P2, P3];
const prescriptionId = fc.oneof({ arbitrary: fc.constantFrom(...P), weight: 8 }, { arbitrary: fc.uuid(), weight: 1 });
/** The examination of a prescription: usually its own (101 for the first...), sometimes another one. */
const examinationFor = (pid: string) =>
  fc.oneof({ arbitrary: fc.constant(101 + Math.max(0, P.indexOf(pid))), weight: 6 }, { arbitrary: fc.constantFrom(101, 102, 103), weight: 1 }, { arbitrary: id, weight: 1 });

// Visits registered before queue numbers have none.
const register: fc.Arbitrary<Command> = fc.record(
  {
    type: fc.constant('RegisterDiagnosis' as const),
    diagnosisId: fc.oneof(fc.constant(5), id),
    receptionId: fc.oneof({ arbitrary: fc.constant(7), weight: 4 }, { arbitrary: id, weight: 1 }),
    patientId: text(64),
    patientName: text(200),
    department: fc.constantFrom('internal-medicine', 'surgery', 'pediatrics'),
    queueNumber: fc.integer({ min: 1, max: 99_999 }),
    now: timestamp,
  },
  { requiredKeys: ['type', 'diagnosisId', 'receptionId', 'patientId', 'patientName', 'department', 'now'] },
);
/** A doctor of another department, in an emergency: the reason of the Break-Glass header. */
const breakGlass = fc.record({ reason: text(500) });
const prescribe: fc.Arbitrary<Command> = fc.record(
  {
    type: fc.constant('PrescribeExamination' as const),
    prescriptionId,
    examinationType: text(100),
    instructions: text(10_000),
    breakGlass,
    now: timestamp,
  },
  { requiredKeys: ['type', 'prescriptionId', 'examinationType', 'now'] },
);
// The examination service's reports, as diagnosisEffect turns them into commands.
const requested: fc.Arbitrary<Command> = prescriptionId.chain((pid) =>
  fc.record({ type: fc.constant('RecordExaminationRequested' as const), examinationId: examinationFor(pid), prescriptionId: fc.constant(pid), now: timestamp }),
);
const performed: fc.Arbitrary<Command> = prescriptionId.chain((pid) =>
  fc.record({
    type: fc.constant('RecordExaminationPerformed' as const),
    examinationId: examinationFor(pid),
    prescriptionId: fc.constant(pid),
    result: text(10_000),
    now: timestamp,
  }),
);
const examinationCancelled: fc.Arbitrary<Command> = prescriptionId.chain((pid) =>
  fc.record({
    type: fc.constant('RecordExaminationCancelled' as const),
    examinationId: examinationFor(pid),
    prescriptionId: fc.constant(pid),
    reason: text(10_000),
    now: timestamp,
  }),
);
const complete: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('CompleteDiagnosis' as const), opinion: text(10_000), breakGlass, now: timestamp },
  { requiredKeys: ['type', 'opinion', 'now'] },
);
const reject: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('RejectDiagnosis' as const), reason: text(10_000), breakGlass, now: timestamp },
  { requiredKeys: ['type', 'reason', 'now'] },
);
const openInEmergency: fc.Arbitrary<Command> = fc.record({ type: fc.constant('OpenInEmergency' as const), breakGlass, now: timestamp });
// A consumed ReceptionPatientMerged: mostly between a few patients, so that a merge is often redelivered or undone.
const patientId = fc.oneof({ arbitrary: fc.constantFrom('P-001', 'P-002'), weight: 3 }, { arbitrary: text(64), weight: 1 });
const movePatient: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('MovePatient' as const),
  patientId,
  patientName: text(200),
  now: timestamp,
});
// A consumed ReceptionCancelled: diagnosisEffect prefixes the reception's reason (itself up to 10,000 characters).
const cancel: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('CancelDiagnosis' as const),
  reason: text(10_000).map((r) => `Reception cancelled: ${r}`),
  now: timestamp,
});

// The doctor's calls: a room named or not (a recall keeps the room before), breaking the glass or not.
const defaultDepartment = fc.constantFrom('internal-medicine', 'family-medicine');
const callPatient: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('CallPatient' as const), room: fc.oneof(fc.constantFrom('3', '진료실 2'), text(40)), defaultDepartment, breakGlass, now: timestamp },
  { requiredKeys: ['type', 'defaultDepartment', 'now'] },
);
const markNoShow: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('MarkNoShow' as const), defaultDepartment, breakGlass, now: timestamp },
  { requiredKeys: ['type', 'defaultDepartment', 'now'] },
);

/** A sequence of commands; `again` repeats the previous one (a double click or a redelivery). */
const anyCommands: fc.Arbitrary<Command[]> = commandSequences([
  { arbitrary: fc.oneof(register, prescribe, requested, performed, examinationCancelled, complete, reject, cancel, openInEmergency, movePatient), weight: 8 },
  { arbitrary: fc.oneof(prescribe, performed, examinationCancelled), weight: 3 },
  { arbitrary: fc.oneof(callPatient, markNoShow), weight: 3 },
], { first: register, firstWeight: 5, maxLength: 25 });
/**
 * The waiting room's sequences: a registration, then mostly calls and no-shows (recalls with and
 * without a room, no-shows twice) among prescriptions and their reports, now and then the end.
 */
const callSequences: fc.Arbitrary<Command[]> = fc
  .tuple(
    register,
    fc.array(
      fc.oneof(
        { arbitrary: callPatient, weight: 4 },
        { arbitrary: markNoShow, weight: 3 },
        { arbitrary: fc.oneof(prescribe, requested, performed, examinationCancelled), weight: 2 },
        { arbitrary: fc.oneof(complete, reject, cancel), weight: 1 },
      ),
      { maxLength: 15 },
    ),
  )
  .map(([first, rest]) => [first, ...rest]);
const commands: fc.Arbitrary<Command[]> = fc.oneof(anyCommands, callSequences);

// ---- the fold ----

type Step = TraceStep<Command, State, DomainEvent>;

/** Decides each command on a frozen state (a mutation would throw) and folds the accepted events, from `from` (no diagnosis by default). */
const trace = traceOf(diagnosisDecider);
const finalState = (steps: Step[]): State => steps.at(-1)?.after ?? null;

describe('diagnosis decider properties', () => {
  // A decision emits one event at the most, after BreakGlassAccessed when it breaks the glass; a
  // registration with a queue number two (DiagnosisRegistered, then QueueNumberRecorded).
  testDeciderLaws(diagnosisDecider, { commands, expected, allowedEvents, statusOf, numRuns: RUNS, maxEventsPerDecision: 2 });

  test('the glass broken is recorded exactly when an accepted command carries a reason, first, and changes nothing by itself', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision } of trace(cs)) {
          if (!decision.ok || !before) continue;
          const recorded = decision.events.filter((e) => e.type === 'BreakGlassAccessed');
          const reason = 'breakGlass' in command ? command.breakGlass?.reason : undefined;
          assert.equal(recorded.length, reason === undefined ? 0 : 1);
          if (reason === undefined) continue;
          assert.equal(decision.events[0]?.type, 'BreakGlassAccessed');
          assert.deepEqual(decision.events[0]?.data, { diagnosisId: before.id, receptionId: before.receptionId, reason, accessedAt: command.now });
          assert.equal(diagnosisDecider.evolve(before, decision.events[0]!), before);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the patient changes only by a merge, to the merge's patient; a prescription names the diagnosis's patient of its time", () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          const moved = decision.ok && command.type === 'MovePatient';
          const want = moved ? [command.patientId, before.patientId === command.patientId ? before.patientName : command.patientName] : [before.patientId, before.patientName];
          assert.deepEqual([after.patientId, after.patientName], want);
          if (!decision.ok) continue;
          for (const e of decision.events) {
            if (e.type === 'ExaminationPrescribed') assert.deepEqual([e.data.patientId, e.data.patientName], [before.patientId, before.patientName]);
            if (e.type === 'PatientMoved') assert.ok(!isPublished(e));
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the department a diagnosis is registered with stays through every step', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, after } of trace(cs)) if (before && after) assert.equal(after.department, before.department);
      }),
      { numRuns: RUNS },
    );
  });

  test('the status and each prescription only move along the DESIGN transitions; an open status follows the prescriptions; terminal is final', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, states } of trace(cs)) {
          let prev = before;
          for (const s of states) {
            const from = statusOf(prev);
            const to = statusOf(s);
            assert.ok(to === from || transitions[from].includes(to), `${from} -> ${to}`);
            assert.ok(s);
            if (!terminal.has(to)) {
              const open = s.prescriptions.length === 0 ? 'REGISTERED' : pending(s).length > 0 ? 'EXAMINATION_PRESCRIBED' : 'EXAMINATION_DONE';
              assert.equal(to, open);
            }
            // Prescriptions are only appended, never removed or reordered; each moves REQUESTED -> PERFORMED | CANCELLED once.
            const old = prev?.prescriptions ?? [];
            assert.deepEqual(s.prescriptions.slice(0, old.length).map((p) => p.prescriptionId), old.map((p) => p.prescriptionId));
            assert.equal(new Set(s.prescriptions.map((p) => p.prescriptionId)).size, s.prescriptions.length);
            s.prescriptions.forEach((p, i) => {
              const o = old[i];
              if (!o) return assert.equal(p.status, 'REQUESTED');
              assert.ok(p.status === o.status || prescriptionTransitions[o.status].includes(p.status), `prescription ${o.status} -> ${p.status}`);
              if (o.examinationId !== undefined) assert.equal(p.examinationId, o.examinationId);
              if (o.status !== 'REQUESTED') assert.deepEqual(p, o);
            });
            assert.equal(s.id, prev?.id ?? s.id);
            assert.equal(s.receptionId, prev?.receptionId ?? s.receptionId);
            prev = s;
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('every published event validates against its contract and carries this diagnosis, its reception and the command time', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!decision.ok) continue;
          const self = before ?? after;
          assert.ok(self || decision.events.length === 0);
          for (const e of decision.events) {
            assert.equal(e.at, command.now);
            if (!isPublished(e)) continue;
            assertEventData(e.type, e.data);
            assert.equal(e.data.diagnosisId, self?.id);
            assert.equal(e.data.receptionId, self?.receptionId);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the calls: each counts one more, to the room named or the one before, in the diagnosis's department, by the visit's number; a no-show holds until the next call", () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          const called = decision.ok ? decision.events.find((e) => e.type === 'PatientCalled') : undefined;
          const marked = decision.ok ? decision.events.find((e) => e.type === 'PatientNoShow') : undefined;
          assert.equal(after.queueNumber, before.queueNumber, 'the queue number is the registration\'s, for good');
          if (called?.type === 'PatientCalled' && command.type === 'CallPatient') {
            const room = command.room ?? before.room;
            assert.deepEqual(
              [called.data.callCount, called.data.room, called.data.calledAt, called.data.department, called.data.queueNumber],
              [before.callCount + 1, room, command.now, before.department ?? command.defaultDepartment, before.queueNumber],
            );
            assert.deepEqual([after.callCount, after.room, after.calledAt, after.noShowAt], [before.callCount + 1, room, command.now, undefined]);
            continue;
          }
          if (marked?.type === 'PatientNoShow') {
            assert.equal(marked.data.markedAt, command.now);
            assert.deepEqual([after.noShowAt, after.callCount, after.calledAt, after.room], [command.now, before.callCount, before.calledAt, before.room]);
            continue;
          }
          // Nothing else touches the calls.
          assert.deepEqual([after.callCount, after.calledAt, after.room, after.noShowAt], [before.callCount, before.calledAt, before.room, before.noShowAt]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('compensation: a completed diagnosis has nothing pending; a rejected or cancelled one takes no new prescription, and the examinations compensation reports are recorded and leave none pending', () => {
    fc.assert(
      fc.property(commands, timestamp, (cs, now) => {
        const steps = trace(cs);
        for (const { before, decision, after } of steps) {
          if (after?.status === 'COMPLETED') assert.equal(pending(after).length, 0);
          if (before && terminal.has(before.status) && decision.ok) {
            assert.ok(!decision.events.some((e) => e.type === 'ExaminationPrescribed'));
          }
        }
        const ended = finalState(steps);
        if (!ended || !terminal.has(ended.status)) return;
        // The examination service cancels every examination still pending and reports it.
        const reportsBack: Command[] = pending(ended).map((p, i) => ({
          type: 'RecordExaminationCancelled',
          examinationId: p.examinationId ?? 900 + i,
          prescriptionId: p.prescriptionId,
          reason: `Diagnosis rejected: ${ended.rejectReason ?? 'x'}`.slice(0, 10_000),
          now,
        }));
        // Delivered twice: the redelivery changes nothing.
        const after = trace([...reportsBack, ...reportsBack], ended);
        for (const step of after) assert.ok(step.decision.ok, step.decision.ok ? '' : step.decision.refusal.message);
        const settled = finalState(after) ?? ended;
        assert.equal(pending(settled).length, 0);
        assert.equal(settled.status, ended.status);
        assert.deepEqual(finalState(after.slice(0, reportsBack.length)) ?? ended, settled);
      }),
      { numRuns: RUNS },
    );
  });
});
