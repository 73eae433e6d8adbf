import type { Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { CloudEvent } from '@medical/contracts';
import { reactionOrigin, type CommandOrigin } from '../audit/audit-log.ts';
import type { Decision } from '../domain/decider.ts';
import { notFound } from '../http/problem.ts';
import { commitEvents, eventsOrProblem, eventsOrSkip, type AggregateStore, type EmitEvents } from './decision.ts';
import type { ServiceContext } from './service.ts';

/**
 * A decider as one value, in the shape of Emmett's: `decide` a command against the state (events,
 * or a refusal), `evolve` the state by an event, and the state before the first event.
 */
export type Decider<S, C, E> = {
  decide: (command: C, state: S | null) => Decision<E>;
  evolve: (state: S | null, event: E) => S | null;
  initialState: () => S | null;
};

/**
 * One kind of aggregate as the command pipeline runs it: its decider, how it is loaded and
 * saved, which of its events leave the service, and the audit trail's name of each command.
 */
export type Aggregate<S, C extends { type: string }, E, Tx, Id extends number | string = number> = Omit<AggregateStore<S, E, Tx>, 'evolve'> & {
  /** Names it in a 404: "reception 7 not found". */
  name: string;
  decider: Decider<S, C, E>;
  /** `<service>.<command>` for each command type: reception.cancel, examination.compensate, ... */
  auditNames: { readonly [K in C['type']]: string };
  /** Loads it for a change: locked to the end of the transaction. Ids are numbers but for a patient's (the patient number). */
  load: (trx: Tx, id: Id) => Promise<S | null>;
};

const storeOf = <S, C extends { type: string }, E, Tx, Id extends number | string>(aggregate: Aggregate<S, C, E, Tx, Id>): AggregateStore<S, E, Tx> => ({
  ...aggregate,
  evolve: aggregate.decider.evolve,
});

/**
 * A command someone sent, on an aggregate that exists, in a transaction of its own: load it (a
 * 404 when there is none), decide (a refusal is a 409 or a 400), and commit the state, the events
 * and the audit row together (commitEvents). Returns the new state.
 */
export function executeCommand<DB, S, C extends { type: string }, E extends { type: string; data: unknown }, Id extends number | string = number>(
  context: ServiceContext<DB>,
  aggregate: Aggregate<S, C, E, Transaction<DB>, Id>,
  origin: CommandOrigin,
  id: Id,
  command: C,
): Promise<S> {
  return context.execute(async (trx, emit) => {
    const state = await aggregate.load(trx, id);
    if (state === null) throw notFound(aggregate.name, id);
    return committed(await decideAndCommit(trx, emit, aggregate, state, command, origin, eventsOrProblem));
  });
}

/**
 * A command that creates an aggregate, in a transaction of its own: `commandIn` builds it inside
 * the transaction (to draw the new id there), then decide from the initial state and commit.
 */
export function executeCreation<DB, S, C extends { type: string }, E extends { type: string; data: unknown }, Id extends number | string = number>(
  context: ServiceContext<DB>,
  aggregate: Aggregate<S, C, E, Transaction<DB>, Id>,
  origin: CommandOrigin,
  commandIn: (trx: Transaction<DB>) => Promise<C>,
): Promise<S> {
  return context.execute(async (trx, emit) => {
    const command = await commandIn(trx);
    return committed(await decideAndCommit(trx, emit, aggregate, aggregate.decider.initialState(), command, origin, eventsOrProblem));
  });
}

/**
 * A command someone sent, as one step of a larger command's transaction `trx` (merging two
 * patients moves each of the duplicate's visits to the patient kept), on a state the caller
 * loaded: decided and committed as executeCommand does, a refusal thrown as its problem.
 */
export function executeStep<DB, S, C extends { type: string }, E extends { type: string; data: unknown }, Id extends number | string = number>(
  trx: Transaction<DB>,
  emit: EmitEvents,
  aggregate: Aggregate<S, C, E, Transaction<DB>, Id>,
  state: S | null,
  command: C,
  origin: CommandOrigin,
): Promise<S | null> {
  return decideAndCommit(trx, emit, aggregate, state, command, origin, eventsOrProblem);
}

/** What a reaction runs on behalf of: the service, and the event that caused it. */
export type ReactionCause = { service: string; event: CloudEvent; logger: Logger };

/** The cause of a reaction of this service to `event`. */
export function causedBy(context: Pick<ServiceContext<unknown>, 'config' | 'logger'>, event: CloudEvent): ReactionCause {
  return { service: context.config.serviceName, event, logger: context.logger };
}

/**
 * A command an event causes, in the consumer's transaction, on a state the reaction loaded (it
 * knows how: by reception, by prescription, or none yet). A conflict means the event no longer
 * applies and is skipped with a log line; any other refusal throws, so the event is retried and
 * then dead-lettered. The audit row names the service's system actor, caused by the event.
 */
export async function executeReaction<DB, S, C extends { type: string }, E extends { type: string; data: unknown }, Id extends number | string = number>(
  trx: Transaction<DB>,
  emit: EmitEvents,
  aggregate: Aggregate<S, C, E, Transaction<DB>, Id>,
  state: S | null,
  command: C,
  cause: ReactionCause,
): Promise<S | null> {
  const skip = (message: string) => cause.logger.info({ eventId: cause.event.id, eventType: cause.event.type }, message);
  return decideAndCommit(trx, emit, aggregate, state, command, reactionOrigin(cause.service, cause.event), (decision) => eventsOrSkip(decision, skip));
}

/** Decides `command` on `state`, turns the decision into events (or throws), and commits them with the command's audit row. */
async function decideAndCommit<DB, S, C extends { type: string }, E extends { type: string; data: unknown }, Id extends number | string>(
  trx: Transaction<DB>,
  emit: EmitEvents,
  aggregate: Aggregate<S, C, E, Transaction<DB>, Id>,
  state: S | null,
  command: C,
  origin: CommandOrigin,
  eventsOf: (decision: Decision<E>) => E[],
): Promise<S | null> {
  const events = eventsOf(aggregate.decider.decide(command, state));
  return commitEvents(trx, emit, storeOf(aggregate), state, events, { command: aggregate.auditNames[command.type as C['type']], origin });
}

/** A command that changed nothing returns the state it found; a new aggregate always has one. */
function committed<S>(state: S | null): S {
  if (state === null) throw new Error('the command left no state');
  return state;
}
