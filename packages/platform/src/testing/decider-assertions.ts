import assert from 'node:assert/strict';
import type { Decision, Refusal } from '../domain/decider.ts';
import type { Decider } from '../service/command-pipeline.ts';

/**
 * The three questions every decider test asks: the state after accepted commands, the events of
 * an accepted decision, and the refusal of a refused one (for the services' domain tests); and
 * `fold`, a state evolved by events.
 */
export function deciderAssertions<S, C extends { type: string }, E>({ decide, evolve }: Decider<S, C, E>) {
  return {
    /** The state after commands that must all be accepted. */
    given(...commands: C[]): S {
      const state = commands.reduce<S | null>((s, c) => {
        const d = decide(c, s);
        assert.ok(d.ok, `setup ${c.type} refused: ${d.ok ? '' : d.refusal.message}`);
        return d.events.reduce(evolve, s);
      }, null);
      assert.ok(state);
      return state;
    },
    accepted(d: Decision<E>): E[] {
      assert.ok(d.ok, d.ok ? '' : d.refusal.message);
      return d.events;
    },
    refused(d: Decision<E>, kind: Refusal['kind']): string {
      assert.equal(d.ok, false);
      if (!d.ok) assert.equal(d.refusal.kind, kind);
      return d.ok ? '' : d.refusal.message;
    },
    fold(state: S | null, events: E[]): S | null {
      return events.reduce(evolve, state);
    },
  };
}
