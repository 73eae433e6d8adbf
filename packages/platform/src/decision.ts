import { HttpProblem, conflict } from './http/problem.ts';

/** The shape every service's decider returns (see the services' domain modules). */
export type Refusal = { kind: 'conflict' | 'invalid'; message: string };
export type Decision<E> = { ok: true; events: E[] } | { ok: false; refusal: Refusal };

/** For commands from HTTP: a refused transition is a 409, anything else the decider refuses a 400. */
export function eventsOrProblem<E>(decision: Decision<E>): E[] {
  if (decision.ok) return decision.events;
  if (decision.refusal.kind === 'conflict') throw conflict(decision.refusal.message);
  throw new HttpProblem({ status: 400, title: 'Bad Request', detail: decision.refusal.message });
}

/**
 * For commands driven by events: a conflict means the event no longer applies (the decider
 * already returns no events for plain redeliveries), so it is skipped; an invalid command means
 * the event contradicts this service's state, which is worth retrying and then dead-lettering.
 */
export function eventsOrSkip<E>(decision: Decision<E>, log: (message: string) => void): E[] {
  if (decision.ok) return decision.events;
  if (decision.refusal.kind === 'conflict') {
    log(decision.refusal.message);
    return [];
  }
  throw new Error(decision.refusal.message);
}

/** Folds the decided events into the state, as the decider's evolve defines. */
export function fold<S, E>(state: S, events: E[], evolve: (state: S, event: E) => S): S {
  return events.reduce(evolve, state);
}
