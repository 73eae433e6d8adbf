import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { commandSequences, isoTimestamp, schemaText, testDeciderLaws, traceOf } from '@medical/platform/testing';
import { assertEventData, type ReceptionStatus } from '@medical/contracts';
import { isPublished, receptionDecider, type Command, type DomainEvent, type State } from '../src/domain/reception.ts';
import { ticketDigestOf } from '../src/app/tickets.ts';

/**
 * Property-based tests of the reception decider: random sequences of desk commands (valid and
 * not, out of order, repeated, on no reception) interleaved with the diagnosis outcomes the
 * service consumes (duplicates and second outcomes included), folded through evolve. The
 * expectations below are written from DESIGN.md section 5, not from the implementation.
 */

const RUNS = 400;

// ---- DESIGN.md section 5, written independently of the decider ----
type Status = ReceptionStatus | 'NONE';
const transitions: Record<Status, readonly Status[]> = {
  NONE: ['RECEIVED'],
  RECEIVED: ['CANCELLED', 'DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED'],
  DIAGNOSIS_COMPLETED: ['CONFIRMED'],
  DIAGNOSIS_REJECTED: ['CONFIRMED'],
  CANCELLED: [],
  CONFIRMED: [],
};
const terminal: ReadonlySet<Status> = new Set(['CANCELLED', 'CONFIRMED']);
/** The event types a decision may contain, by the status it is taken in. */
const allowedEvents: Record<Status, readonly DomainEvent['type'][]> = {
  NONE: ['ReceptionCompleted'],
  // A merge of the patient moves the visit whatever its status.
  RECEIVED: ['ReceptionCancelled', 'DiagnosisOutcomeRecorded', 'ReceptionPatientMerged'],
  DIAGNOSIS_COMPLETED: ['ReceptionConfirmed', 'ReceptionPatientMerged'],
  DIAGNOSIS_REJECTED: ['ReceptionConfirmed', 'ReceptionPatientMerged'],
  // The outcome still arrives after a cancellation and is recorded (status unchanged).
  CANCELLED: ['DiagnosisOutcomeRecorded', 'ReceptionPatientMerged'],
  CONFIRMED: ['ReceptionPatientMerged'],
};
const statusOf = (s: State): Status => s?.status ?? 'NONE';

/** What DESIGN says a command gets in a state: accepted, or refused with a 409 (conflict) or as invalid. */
function expected(command: Command, state: State): 'accepted' | 'conflict' | 'invalid' {
  if (command.type === 'RegisterReception') return state ? 'conflict' : 'accepted';
  if (!state) return 'invalid';
  switch (command.type) {
    case 'CancelReception':
      return state.status === 'RECEIVED' ? 'accepted' : 'conflict';
    case 'ConfirmReception':
      return state.status === 'DIAGNOSIS_COMPLETED' || state.status === 'DIAGNOSIS_REJECTED' ? 'accepted' : 'conflict';
    case 'RecordDiagnosisCompleted':
    case 'RecordDiagnosisRejected':
      return 'accepted'; // consumed events are never refused: a second outcome is a redelivery
    case 'MovePatient':
      return 'accepted'; // a merge moves every visit of the duplicate, open or finished
  }
}

// ---- arbitraries ----
const text = schemaText;
const timestamp = isoTimestamp;
const birthDate = timestamp.map((t) => t.slice(0, 10));
const id = fc.oneof(fc.constantFrom(1, 7, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

/** A ticket's token as app/ makes it: 16 random bytes, base64url. */
const ticket = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('base64url'));

const register: fc.Arbitrary<Command> = fc
  .record(
    {
      type: fc.constant('RegisterReception' as const),
      receptionId: id,
      patientId: text(64),
      patientName: text(200),
      birthDate,
      department: text(200),
      symptom: text(10_000),
      queueNumber: fc.integer({ min: 1, max: 99_999 }),
      queueDay: birthDate,
      ticket,
      now: timestamp,
    },
    { requiredKeys: ['type', 'receptionId', 'patientId', 'patientName', 'department', 'queueNumber', 'queueDay', 'ticket', 'now'] },
  )
  .map((command) => ({ ...command, ticketDigest: ticketDigestOf(command.ticket) }));
const cancel: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('CancelReception' as const), reason: text(10_000), now: timestamp },
  { requiredKeys: ['type', 'now'] },
);
const confirm: fc.Arbitrary<Command> = fc.record({ type: fc.constant('ConfirmReception' as const), now: timestamp });
// The consumed DiagnosisCompleted / DiagnosisRejected, as receptionEffect turns them into commands.
const diagnosisId = fc.oneof(fc.constantFrom(3, 4), id);
const completed: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('RecordDiagnosisCompleted' as const),
  diagnosisId,
  opinion: text(10_000),
  now: timestamp,
});
const rejected: fc.Arbitrary<Command> = fc.record({
  type: fc.constant('RecordDiagnosisRejected' as const),
  diagnosisId,
  reason: text(10_000),
  now: timestamp,
});

const move: fc.Arbitrary<Command> = fc.record(
  { type: fc.constant('MovePatient' as const), patientId: fc.oneof(fc.constantFrom('00000018', '00000026'), text(64)), patientName: text(200), birthDate, now: timestamp },
  { requiredKeys: ['type', 'patientId', 'patientName', 'now'] },
);

/** A sequence of commands; `again` repeats the previous one (a double click or a redelivery). */
const commands: fc.Arbitrary<Command[]> = commandSequences([{ arbitrary: fc.oneof(register, cancel, confirm, completed, rejected, move), weight: 6 }], { first: register, firstWeight: 4, maxLength: 20 });

// ---- the fold ----

/** Decides each command on a frozen state (a mutation would throw) and folds the accepted events. */
const trace = traceOf(receptionDecider);

describe('reception decider properties', () => {
  testDeciderLaws(receptionDecider, { commands, expected, allowedEvents, statusOf, numRuns: RUNS });

  test('the status only moves along the DESIGN transitions and never leaves a terminal status', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        let seenTerminal: Status | undefined;
        for (const { before, states } of trace(cs)) {
          let from = statusOf(before);
          for (const s of states) {
            const to = statusOf(s);
            assert.ok(to === from || transitions[from].includes(to), `${from} -> ${to}`);
            from = to;
          }
          if (seenTerminal) assert.equal(from, seenTerminal, `left terminal ${seenTerminal}`);
          if (terminal.has(from)) seenTerminal = from;
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('every published event validates against its contract and belongs to this reception at the command time', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, command, decision, after } of trace(cs)) {
          if (!decision.ok) continue;
          for (const e of decision.events) {
            if (isPublished(e)) assertEventData(e.type, e.data);
            assert.equal(e.at, command.now);
            assert.equal(e.data.receptionId, before?.id ?? after?.id);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test("the ticket's token never travels; the queue number, its day and the token stay on the reception from its registration on", () => {
    fc.assert(
      fc.property(commands, (cs) => {
        let registered: Extract<Command, { type: 'RegisterReception' }> | undefined;
        for (const { before, command, decision, after } of trace(cs)) {
          if (!before && after && command.type === 'RegisterReception') registered = command;
          if (decision.ok) {
            for (const e of decision.events) {
              if (registered) assert.ok(!JSON.stringify(e.data).includes(registered.ticket), `${e.type} carries the token`);
              if (e.type === 'ReceptionCompleted') {
                assert.ok(command.type === 'RegisterReception');
                assert.deepEqual([e.data.queueNumber, e.data.queueDay, e.data.ticketDigest], [command.queueNumber, command.queueDay, command.ticketDigest]);
              }
            }
          }
          if (after && registered) assert.deepEqual([after.queueNumber, after.queueDay, after.ticket], [registered.queueNumber, registered.queueDay, registered.ticket]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the diagnosis outcome is recorded once and confirmed as recorded; after a cancellation the status stays CANCELLED', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          // Identity and creation never change; the patient only by a merge, which changes nothing else.
          assert.equal(after.id, before.id);
          if (decision.ok && decision.events.some((e) => e.type === 'ReceptionPatientMerged')) {
            const { patientId: _a, patientName: _b, birthDate: _c, updatedAt: _d, ...unmoved } = after;
            const { patientId: _e, patientName: _f, birthDate: _g, updatedAt: _h, ...before_ } = before;
            assert.deepEqual(unmoved, before_);
          } else {
            assert.equal(after.patientId, before.patientId);
          }
          assert.equal(after.createdAt, before.createdAt);
          assert.equal(after.receivedAt, before.receivedAt);
          // A first outcome is kept whatever arrives later.
          if (before.diagnosisOutcome) {
            assert.equal(after.diagnosisOutcome, before.diagnosisOutcome);
            assert.equal(after.diagnosisId, before.diagnosisId);
            assert.equal(after.diagnosisOpinion, before.diagnosisOpinion);
            assert.equal(after.diagnosisRejectReason, before.diagnosisRejectReason);
          }
          // A status after the doctor's outcome agrees with the outcome.
          if (after.status === 'DIAGNOSIS_COMPLETED') assert.equal(after.diagnosisOutcome, 'COMPLETED');
          if (after.status === 'DIAGNOSIS_REJECTED') assert.equal(after.diagnosisOutcome, 'REJECTED');
          if (after.status === 'CONFIRMED') assert.ok(after.diagnosisOutcome && after.confirmedAt);
          if (before.status === 'CANCELLED') assert.equal(after.status, 'CANCELLED');
          if (decision.ok) {
            for (const e of decision.events) {
              if (e.type === 'ReceptionConfirmed') assert.equal(e.data.outcome, before.diagnosisOutcome);
            }
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});
