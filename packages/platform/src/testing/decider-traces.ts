import assert from 'node:assert/strict';
import type { Decision } from '../domain/decider.ts';

/**
 * What the services' property tests share (services/<name>/test/properties.test.ts): a decider
 * run over a sequence of commands on frozen states, step by step, and the purity check every
 * decider must pass. The properties proper (which refusals, which transitions) stay in each
 * service's file, written from DESIGN.md.
 */

/** Freezes a value and everything in it, so that a decider that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type Step<C, S, E> = { before: S; command: C; decision: Decision<E>; states: S[]; after: S };

/** Decides each command on a frozen state and folds the accepted events, from `from` on. */
export function trace<C, S, E>(decide: (command: C, state: S) => Decision<E>, evolve: (state: S, event: E) => S, commands: C[], from: S): Array<Step<C, S, E>> {
  const steps: Array<Step<C, S, E>> = [];
  let state = deepFreeze(from);
  for (const command of commands) {
    const before = state;
    const decision = deepFreeze(decide(deepFreeze(command), before));
    const states: S[] = [];
    let after = before;
    if (decision.ok) for (const e of decision.events) states.push((after = deepFreeze(evolve(after, e))));
    steps.push({ before, command, decision, states, after });
    state = after;
  }
  return steps;
}

/** decide is pure and evolve deterministic: the same inputs give deep-equal outputs, and inputs are not mutated. */
export function assertPureSteps<C, S, E>(decide: (command: C, state: S) => Decision<E>, evolve: (state: S, event: E) => S, steps: Array<Step<C, S, E>>): void {
  for (const { before, command, decision } of steps) {
    const snapshot = structuredClone(before);
    assert.deepEqual(decide(command, before), decision);
    assert.deepEqual(before, snapshot);
    if (!decision.ok) continue;
    let s = before;
    for (const e of decision.events) {
      const once = evolve(s, e);
      assert.deepEqual(evolve(s, e), once);
      s = deepFreeze(once);
    }
  }
}

/**
 * Each command refused exactly when the design refuses it, with the refusal's kind (`expected`
 * says 'accepted' or the kind); a refusal yields no events and leaves the state; an acceptance
 * yields only events the design allows from the state it was decided on (`allowed`, by `label`).
 */
export function assertRefusalsAsDesigned<C extends { type: string }, S, E extends { type: string }>(
  steps: Array<Step<C, S, E>>,
  expected: (command: C, state: S) => string,
  allowed: (state: S) => readonly string[],
  label: (state: S) => string,
): void {
  for (const { before, command, decision, after } of steps) {
    const want = expected(command, before);
    if (!decision.ok) {
      assert.equal(decision.refusal.kind, want, `${command.type} in ${label(before)}: ${decision.refusal.message}`);
      assert.ok(decision.refusal.message.length > 0);
      assert.equal('events' in decision, false);
      assert.equal(after, before);
      continue;
    }
    assert.equal(want, 'accepted', `${command.type} in ${label(before)} was accepted`);
    for (const e of decision.events) assert.ok(allowed(before).includes(e.type), `${e.type} from ${label(before)}`);
  }
}
