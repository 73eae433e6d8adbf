import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { commandSequences, isoTimestamp, P1, P2, schemaText, testDeciderLaws, traceOf } from '@medical/platform/testing';
import { assertEventData, type ExaminationStatus } from '@medical/contracts';
import { examinationDecider, isPublished, type Command, type DomainEvent, type State } from '../src/domain/examination.ts';

/**
 * Property-based tests of the examination decider: random sequences of examiner commands (valid
 * and not, out of order, repeated, on no examination) interleaved with the events the service
 * consumes (ExaminationPrescribed, again or for another prescription, and the DiagnosisRejected /
 * ReceptionCancelled compensations) and the examiners' calls and no-shows, folded through evolve. The expectations are written from
 * DESIGN.md section 5, not from the implementation.
 */

const RUNS = 400;

// ---- DESIGN.md section 5, written independently of the decider ----
type Status = ExaminationStatus | 'NONE';
const transitions: Record<Status, readonly Status[]> = {
  NONE: ['REQUESTED'],
  REQUESTED: ['PERFORMED', 'CANCELLED'],
  PERFORMED: [],
  CANCELLED: [],
};
const terminal: ReadonlySet<Status> = new Set(['PERFORMED', 'CANCELLED']);
/** The event types a decision may contain, by the status it is taken in. */
const allowedEvents: Record<Status, readonly DomainEvent['type'][]> = {
  // An order for a visit already closed is created and cancelled at once.
  NONE: ['ExaminationOrderCreated', 'ExaminationRequested', 'ExaminationCancelled'],
  // A merge of the visit's patient moves the examination whatever its status; its patient is called while it is pending.
  REQUESTED: ['ExaminationPerformed', 'ExaminationCancelled', 'PatientMoved', 'PatientCalled', 'PatientNoShow'],
  PERFORMED: ['PatientMoved'],
  CANCELLED: ['PatientMoved'],
};
const statusOf = (s: State): Status => s?.status ?? 'NONE';

/** What DESIGN says a command gets in a state. */
function expected(command: Command, state: State): 'accepted' | 'conflict' | 'invalid' {
  if (command.type === 'RequestExamination') {
    // A redelivered ExaminationPrescribed is accepted as a no-op; another prescription is a conflict.
    return !state || state.prescriptionId === command.prescriptionId ? 'accepted' : 'conflict';
  }
  if (!state) return 'invalid';
  switch (command.type) {
    case 'PerformExamination':
    case 'CancelExamination':
      return state.status === 'REQUESTED' ? 'accepted' : 'conflict';
    case 'CompensateExamination':
      return 'accepted'; // automatic: an ended examination stays as it is (no events)
    case 'MovePatient':
      return 'accepted'; // in every status; the same patient again is a redelivery (no events)
    case 'CallPatient':
      return state.status === 'REQUESTED' ? 'accepted' : 'conflict'; // the first call, or a recall
    case 'MarkNoShow':
      // Once per call: not before the first, not twice after the same one.
      return state.status === 'REQUESTED' && state.calledAt !== undefined && state.noShowAt === undefined ? 'accepted' : 'conflict';
  }
}

// ---- arbitraries ----
const text = schemaText;
const timestamp = isoTimestamp;
const id = fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
/** The reason examinationEffect gives a compensation: the closing event's reason (up to 10,000 characters) after a prefix. */
const closingReason = fc
  .tuple(fc.constantFrom('Diagnosis rejected: ', 'Reception cancelled: '), text(10_000))
  .map(([prefix, reason]) => prefix + reason);

// A consumed ExaminationPrescribed, as examinationEffect turns it into a command: mostly the same
// prescription (a redelivery), sometimes another one (the wrong aggregate), and sometimes for a
// visit already closed.
const request: fc.Arbitrary<Command> = fc.record(
  {
    type: fc.constant('RequestExamination' as const),
    examinationId: fc.oneof(fc.constant(101), id),
    prescriptionId: fc.oneof({ arbitrary: fc.constant(P1), weight: 6 }, { arbitrary: fc.constant(P2), weight: 1 }, { arbitrary: fc.uuid(), weight: 1 }),
    diagnosisId: fc.oneof(fc.constant(5), id),
    receptionId: fc.oneof(fc.constant(7), id),
    patientId: text(64),
    patientName: text(200),
    examinationType: text(100),
    instructions: text(10_000),
    // The waiting room examinationEffect found for it; the visit's department and number, absent before queue numbers.
    department: fc.constantFrom('radiology', 'laboratory-medicine', 'internal-medicine'),
    visitDepartment: fc.constantFrom('internal-medicine', 'surgery'),
    queueNumber: fc.integer({ min: 1, max: 99_999 }),
    closedBecause: closingReason,
    now: timestamp,
  },
  {
    requiredKeys: ['type', 'examinationId', 'prescriptionId', 'diagnosisId', 'receptionId', 'patientId', 'patientName', 'examinationType', 'department', 'now'],
  },
);
const perform: fc.Arbitrary<Command> = fc.record({ type: fc.constant('PerformExamination' as const), result: text(10_000), now: timestamp });
const cancel: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('CancelExamination' as const), reason: text(10_000), now: timestamp },
  { requiredKeys: ['type', 'now'] },
);
const compensate: fc.Arbitrary<Command> = fc.record({ type: fc.constant('CompensateExamination' as const), reason: closingReason, now: timestamp });
// A consumed ReceptionPatientMerged: mostly between a few patients, so that a merge is often redelivered or undone.
const movePatient: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('MovePatient' as const),
  patientId: fc.oneof({ arbitrary: fc.constantFrom('P-001', 'P-002'), weight: 3 }, { arbitrary: text(64), weight: 1 }),
  patientName: text(200),
  now: timestamp,
});

// The examiners' calls: a room named or not (a recall keeps the room before).
const callPatient: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('CallPatient' as const), room: fc.oneof(fc.constantFrom('CT-1', '채혈실 2'), text(40)), now: timestamp },
  { requiredKeys: ['type', 'now'] },
);
const markNoShow: fc.Arbitrary<Command> = fc.record({ type: fc.constant('MarkNoShow' as const), now: timestamp });

/** A sequence of commands; `again` repeats the previous one (a double click or a redelivery). */
const anyCommands: fc.Arbitrary<Command[]> = commandSequences(
  [
    { arbitrary: fc.oneof(request, perform, cancel, compensate, movePatient), weight: 6 },
    { arbitrary: fc.oneof(callPatient, markNoShow), weight: 3 },
  ],
  { first: request, firstWeight: 4, maxLength: 15 },
);
/**
 * The waiting room's sequences: an order still open, then mostly calls and no-shows (recalls
 * with and without a room, no-shows twice), now and then the examination's end. Random
 * sequences end most orders too soon to reach a recall after a no-show often.
 */
const pendingRequest = request.filter((c) => c.type === 'RequestExamination' && c.closedBecause === undefined);
const callSequences: fc.Arbitrary<Command[]> = fc
  .tuple(
    pendingRequest,
    fc.array(fc.oneof({ arbitrary: callPatient, weight: 4 }, { arbitrary: markNoShow, weight: 3 }, { arbitrary: fc.oneof(perform, cancel, movePatient), weight: 1 }), { maxLength: 12 }),
  )
  .map(([first, rest]) => [first, ...rest]);
const commands: fc.Arbitrary<Command[]> = fc.oneof(anyCommands, callSequences);

// ---- the fold ----

/** Decides each command on a frozen state (a mutation would throw) and folds the accepted events. */
const trace = traceOf(examinationDecider);

describe('examination decider properties', () => {
  testDeciderLaws(examinationDecider, { commands, expected, allowedEvents, statusOf, numRuns: RUNS });

  test("the patient is the order's until a merge moves it; a merge moves nothing else", () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          const moved = decision.ok && decision.events.some((e) => e.type === 'PatientMoved');
          assert.equal(moved, decision.ok && command.type === 'MovePatient' && command.patientId !== before.patientId);
          if (!moved || command.type !== 'MovePatient') {
            assert.deepEqual([after.patientId, after.patientName], [before.patientId, before.patientName]);
            continue;
          }
          assert.deepEqual(after, { ...before, patientId: command.patientId, patientName: command.patientName, updatedAt: command.now });
          assert.ok(decision.events.every((e) => !isPublished(e)));
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the status only moves along the DESIGN transitions, terminal is final, and ExaminationRequested is published once, with the order', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        let requested = 0;
        for (const { before, decision, states } of trace(cs)) {
          let from = statusOf(before);
          for (const s of states) {
            const to = statusOf(s);
            assert.ok(to === from || transitions[from].includes(to), `${from} -> ${to}`);
            if (terminal.has(from)) assert.equal(to, from);
            from = to;
          }
          if (!decision.ok) continue;
          const types = decision.events.map((e) => e.type);
          requested += types.filter((t) => t === 'ExaminationRequested').length;
          if (types.includes('ExaminationOrderCreated')) assert.deepEqual(types.slice(0, 2), ['ExaminationOrderCreated', 'ExaminationRequested']);
        }
        assert.ok(requested <= 1, `ExaminationRequested published ${requested} times`);
      }),
      { numRuns: RUNS },
    );
  });

  test('every event validates against its contract and carries this examination, its prescription, diagnosis and reception', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!decision.ok) continue;
          const self = before ?? after;
          for (const e of decision.events) {
            assert.ok(self);
            assert.equal(e.at, command.now);
            if (e.type === 'PatientMoved') {
              assert.equal(e.data.examinationId, self.id);
              continue;
            }
            if (e.type === 'PatientCalled' || e.type === 'PatientNoShow') {
              assertEventData(e.type, e.data);
              assert.deepEqual(
                [e.data.calledFor, e.data.examinationId, e.data.diagnosisId, e.data.receptionId, e.data.department, e.data.queueNumber],
                ['EXAMINATION', self.id, self.diagnosisId, self.receptionId, self.department, self.queueNumber],
              );
              continue;
            }
            // The internal order carries everything the prescription did (extra properties are allowed).
            assertEventData(isPublished(e) ? e.type : 'ExaminationPrescribed', e.data);
            assert.deepEqual(
              [e.data.examinationId, e.data.prescriptionId, e.data.diagnosisId, e.data.receptionId],
              [self.id, self.prescriptionId, self.diagnosisId, self.receptionId],
            );
            if (e.type === 'ExaminationPerformed') assert.equal(e.data.performedAt, command.now);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the calls: each counts one more, to the room named or the one before, with the order's waiting room and number; a no-show holds until the next call", () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          const [event] = decision.ok ? decision.events : [];
          assert.deepEqual([after.department, after.visitDepartment, after.queueNumber], [before.department, before.visitDepartment, before.queueNumber]);
          if (event?.type === 'PatientCalled' && command.type === 'CallPatient') {
            const room = command.room ?? before.room;
            assert.deepEqual(
              [event.data.callCount, event.data.room, event.data.calledAt, event.data.examinationType, event.data.visitDepartment],
              [before.callCount + 1, room, command.now, before.examinationType, before.visitDepartment],
            );
            assert.deepEqual([after.callCount, after.room, after.calledAt, after.noShowAt, after.status], [before.callCount + 1, room, command.now, undefined, 'REQUESTED']);
          } else if (event?.type === 'PatientNoShow') {
            assert.deepEqual([after.noShowAt, after.callCount, after.calledAt, after.room, after.status], [command.now, before.callCount, before.calledAt, before.room, 'REQUESTED']);
          } else {
            // Nothing else touches the calls.
            assert.deepEqual([after.callCount, after.calledAt, after.room, after.noShowAt], [before.callCount, before.calledAt, before.room, before.noShowAt]);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('compensation: once its visit is closed an examination is never pending nor performed again; an ended examination keeps its outcome', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        let closed = false;
        for (const { before, command, decision, after } of trace(cs)) {
          if (closed) {
            assert.notEqual(after?.status, 'REQUESTED');
            if (decision.ok) assert.ok(!decision.events.some((e) => e.type === 'ExaminationPerformed'), 'performed after its visit closed');
          }
          // Only a merge of the visit's patient changes an ended examination, and only its patient.
          if (before && terminal.has(before.status)) {
            const moved = decision.ok && decision.events.length > 0 && command.type === 'MovePatient';
            assert.deepEqual(after, moved ? { ...before, patientId: command.patientId, patientName: command.patientName, updatedAt: command.now } : before);
          }
          if (!decision.ok) continue;
          const closing =
            command.type === 'CompensateExamination' ||
            (command.type === 'RequestExamination' && command.closedBecause !== undefined && decision.events.length > 0);
          if (closing && after) {
            closed = true;
            assert.notEqual(after.status, 'REQUESTED');
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
