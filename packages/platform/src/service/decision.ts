import type { Transaction } from 'kysely';
import { recordAudit, type CommandOrigin } from '../audit/audit-log.ts';
import type { Decision } from '../domain/decider.ts';
import { HttpProblem, conflict } from '../http/problem.ts';
import { platformTables } from './platform-tables.ts';

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

/** How a handler persists one kind of aggregate: fold, keep, and say which events leave the service. */
export type AggregateStore<S, E, Tx> = {
  evolve: (state: S | null, event: E) => S | null;
  isPublished: (event: E) => boolean;
  save: (trx: Tx, state: S) => Promise<void>;
  /**
   * The CloudEvents subject and Kafka key: the reception id, so one visit stays in order.
   * Undefined for an aggregate that is no visit's (a patient of the registry), which publishes nothing.
   */
  subject: (state: S) => number | undefined;
  /** The aggregate's own id, for the audit trail. */
  aggregateId: (state: S) => number | string;
};

export type EmitEvents = (events: Array<{ type: string; data: unknown }>, subject: string | number) => Promise<ReadonlyArray<{ id: string }>>;

/** The command being committed, for the audit trail and the events' `actor`. */
export type AuditedCommand = {
  /** `<service>.<command>`: reception.cancel, examination.compensate, ... */
  command: string;
  origin: CommandOrigin;
};

/**
 * The save half of load-decide-save: folds the decided events into the state, saves it, writes
 * the events meant for other services to the outbox, each with the command's actor in its data,
 * and appends the command to the audit trail, all in the caller's transaction. A decision with no
 * events changed nothing (a redelivery, a skipped reaction): nothing is saved, emitted or audited.
 */
export async function commitEvents<DB, S, E extends { type: string; data: unknown }>(
  trx: Transaction<DB>,
  emit: EmitEvents,
  store: AggregateStore<S, E, Transaction<DB>>,
  state: S | null,
  events: E[],
  audit: AuditedCommand,
): Promise<S | null> {
  if (events.length === 0) return state;
  const next = fold(state, events, store.evolve);
  if (next === null) throw new Error('events left the aggregate without a state');
  await store.save(trx, next);
  const { actor } = audit.origin;
  const published = events.filter(store.isPublished).map(({ type, data }) => ({ type, data: { ...(data as object), actor } }));
  const subject = store.subject(next);
  if (published.length > 0 && subject === undefined) throw new Error(`${audit.command} published events about no visit`);
  const emitted = published.length > 0 ? await emit(published, subject!) : [];
  await recordAudit(platformTables(trx), {
    origin: audit.origin,
    command: audit.command,
    aggregateId: store.aggregateId(next),
    ...(subject !== undefined ? { receptionId: subject } : {}),
    eventIds: emitted.map((e) => e.id),
  });
  return next;
}
