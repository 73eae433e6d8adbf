import type { CreateReceptionRequest } from '@medical/contracts';
import {
  commitEvents,
  eventsOrProblem,
  notFound,
  type AggregateStore,
  type CommandOrigin,
  type ServiceContext,
} from '@medical/platform';
import type { Transaction } from 'kysely';
import { decide, evolve, isPublished, type Command, type DomainEvent, type Reception } from '../domain/reception.ts';
import { loadReception, saveReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

export type Context = ServiceContext<ReceptionDatabase>;
export type Trx = Transaction<ReceptionDatabase>;

export const receptionStore: AggregateStore<Reception, DomainEvent, Trx> = {
  evolve,
  isPublished,
  save: saveReception,
  subject: (reception) => reception.id,
  aggregateId: (reception) => reception.id,
};

const now = () => new Date().toISOString();

export function registerReception(context: Context, origin: CommandOrigin, request: CreateReceptionRequest): Promise<Reception> {
  return context.execute(async (trx, emit) => {
    const receptionId = await context.database.nextId(trx, 'receptions');
    const events = eventsOrProblem(decide({ type: 'RegisterReception', receptionId, ...request, now: now() }, null));
    return (await commitEvents(trx, emit, receptionStore, null, events, { command: 'reception.register', origin }))!;
  });
}

/** Load, decide, save (and audit): one transaction per command on an existing reception. */
function onReception(context: Context, origin: CommandOrigin, id: number, name: string, command: Command): Promise<Reception> {
  return context.execute(async (trx, emit) => {
    const state = await loadReception(trx, id);
    if (!state) throw notFound('reception', id);
    return (await commitEvents(trx, emit, receptionStore, state, eventsOrProblem(decide(command, state)), { command: name, origin }))!;
  });
}

export const cancelReception = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  onReception(context, origin, id, 'reception.cancel', { type: 'CancelReception', ...(reason ? { reason } : {}), now: now() });

export const confirmReception = (context: Context, origin: CommandOrigin, id: number) =>
  onReception(context, origin, id, 'reception.confirm', { type: 'ConfirmReception', now: now() });
