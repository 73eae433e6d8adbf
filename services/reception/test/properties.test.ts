import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { assertPureSteps, assertRefusalsAsDesigned, trace as traceCommands, type Step as TraceStep } from '@medical/platform/testing';
import { assertEventData, type ReceptionStatus } from '@medical/contracts';
import { decide, evolve, isPublished, type Command, type DomainEvent, type State } from '../src/domain/reception.ts';

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
  RECEIVED: ['ReceptionCancelled', 'DiagnosisOutcomeRecorded'],
  DIAGNOSIS_COMPLETED: ['ReceptionConfirmed'],
  DIAGNOSIS_REJECTED: ['ReceptionConfirmed'],
  // The outcome still arrives after a cancellation and is recorded (status unchanged).
  CANCELLED: ['DiagnosisOutcomeRecorded'],
  CONFIRMED: [],
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
  }
}

// ---- arbitraries ----
/** One code point: mostly ASCII and Hangul, sometimes any (astral, controls, odd spaces). Cheaper than `unit: 'binary'`. */
const codePoint: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCodePoint(c)), weight: 6 },
  { arbitrary: fc.integer({ min: 0xac00, max: 0xd7a3 }).map((c) => String.fromCodePoint(c)), weight: 2 },
  { arbitrary: fc.constantFrom('\u0000', '\t', '\n', '\u00a0', '\u2028', '\ufeff', 'é', 'e\u0301', '😀'), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c)), weight: 1 },
);
/** Strings the API schemas accept (1..max code points, some non-space), with the awkward ones favoured. */
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.string({ unit: codePoint, minLength: 1, maxLength: Math.min(max, 30) }).filter((s) => /\S/u.test(s)), weight: 6 },
    { arbitrary: fc.constantFrom('김민지', ' x ', '\tA\n', 'é', '😀', "O'Brien; DROP TABLE x", '<b>', '\u00a0.'), weight: 3 },
    { arbitrary: fc.constantFrom('a'.repeat(max), `${' '.repeat(max - 1)}가`, '😀'.repeat(max)), weight: 1 },
  );
const timestamp = fc
  .date({ min: new Date('2000-01-01T00:00:00.000Z'), max: new Date('2099-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const birthDate = timestamp.map((t) => t.slice(0, 10));
const id = fc.oneof(fc.constantFrom(1, 7, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

const register: fc.Arbitrary<Command> = fc.record(
  {
    type: fc.constant('RegisterReception' as const),
    receptionId: id,
    patientId: text(64),
    patientName: text(200),
    birthDate,
    department: text(200),
    symptom: text(10_000),
    now: timestamp,
  },
  { requiredKeys: ['type', 'receptionId', 'patientId', 'patientName', 'now'] },
);
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

/** A sequence of commands; `again` repeats the previous one (a double click or a redelivery). */
const commands: fc.Arbitrary<Command[]> = fc
  .array(
    fc.oneof(
      { arbitrary: fc.oneof(register, cancel, confirm, completed, rejected), weight: 6 },
      { arbitrary: fc.constant('again' as const), weight: 1 },
    ),
    { maxLength: 20 },
  )
  .map((steps) =>
    steps.reduce<Command[]>((out, step) => {
      if (step !== 'again') out.push(step);
      else if (out.length > 0) out.push(out[out.length - 1]!);
      return out;
    }, []),
  )
  // Most sequences start with a registration so that the rest reaches past "unknown reception".
  .chain((cs) => fc.oneof({ arbitrary: register.map((r) => [r, ...cs]), weight: 4 }, { arbitrary: fc.constant(cs), weight: 1 }));

// ---- the fold ----

type Step = TraceStep<Command, State, DomainEvent>;

/** Decides each command on a frozen state (a mutation would throw) and folds the accepted events. */
const trace = (cs: Command[]): Step[] => traceCommands(decide, evolve, cs, null as State);

describe('reception decider properties', () => {
  test('decide is pure and evolve deterministic: same inputs give deep-equal outputs, inputs are not mutated', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        assertPureSteps(decide, evolve, trace(cs));
      }),
      { numRuns: RUNS },
    );
  });

  test('a command is refused exactly when DESIGN refuses it; a refusal yields no events, an acceptance only events allowed from the current status', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        const steps = trace(cs);
        assertRefusalsAsDesigned(steps, expected, (state) => allowedEvents[statusOf(state)], statusOf);
      }),
      { numRuns: RUNS },
    );
  });

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

  test('the diagnosis outcome is recorded once and confirmed as recorded; after a cancellation the status stays CANCELLED', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        for (const { before, decision, after } of trace(cs)) {
          if (!before || !after) continue;
          // Identity and creation never change.
          assert.equal(after.id, before.id);
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
