import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Decider } from '../service/command-pipeline.ts';
import { assertPureSteps, assertRefusalsAsDesigned, trace, type Step } from './decider-traces.ts';

/**
 * The laws every decider keeps, as the property tests of each service register them
 * (services/<name>/test/properties.test.ts): what differs between the services is the design
 * they are checked against (which refusals, which events from which status), given here; the
 * properties proper of a service stay in its file.
 */

/** A decider's run over `commands` from `from` (its initial state unless given), step by step on frozen states. */
export function traceOf<S, C, E>(decider: Decider<S, C, E>): (commands: C[], from?: S | null) => Array<Step<C, S | null, E>> {
  return (commands, from = decider.initialState()) => trace(decider.decide, decider.evolve, commands, from);
}

export type DeciderDesign<S, C, E extends { type: string }, Status extends string> = {
  /** Sequences of commands, run from the decider's initial state. */
  commands: fc.Arbitrary<C[]>;
  /** What the design says a command gets in a state: 'accepted', or the kind of its refusal. */
  expected: (command: C, state: S | null) => string;
  /** The event types a decision may contain, by the status it is taken in. */
  allowedEvents: Readonly<Record<Status, readonly E['type'][]>>;
  statusOf: (state: S | null) => Status;
  numRuns: number;
  /** The most events one accepted decision may contain, where the design bounds it. */
  maxEventsPerDecision?: number;
};

/**
 * Registers, in the suite it is called in, the two tests of the decider laws: decide is pure and
 * evolve deterministic; a command is refused exactly as the design says, a refusal yields no
 * events and an acceptance only the events allowed from the status it was decided in.
 */
export function testDeciderLaws<S, C extends { type: string }, E extends { type: string }, Status extends string>(
  decider: Decider<S, C, E>,
  design: DeciderDesign<S, C, E, Status>,
): void {
  const run = traceOf(decider);
  const { commands, numRuns, statusOf } = design;

  test('decide is pure and evolve deterministic: same inputs give deep-equal outputs, inputs are not mutated', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        assertPureSteps(decider.decide, decider.evolve, run(cs));
      }),
      { numRuns },
    );
  });

  test('a command is refused exactly when DESIGN refuses it; a refusal yields no events, an acceptance only events allowed from the current status', () => {
    fc.assert(
      fc.property(commands, (cs) => {
        const steps = run(cs);
        assertRefusalsAsDesigned(steps, design.expected, (state) => design.allowedEvents[statusOf(state)], statusOf);
        const most = design.maxEventsPerDecision;
        if (most !== undefined) for (const { decision } of steps) if (decision.ok) assert.ok(decision.events.length <= most);
      }),
      { numRuns },
    );
  });
}
