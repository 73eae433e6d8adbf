import type { CloudEvent, CreateReceptionRequest } from '@medical/contracts';
import {
  commitEvents,
  eventsOrProblem,
  eventsOrSkip,
  notFound,
  reactionOrigin,
  type AggregateStore,
  type CommandOrigin,
  type Emit,
  type ServiceContext,
} from '@medical/platform';
import type { Transaction } from 'kysely';
import { decide, evolve, isPublished, type Command, type DomainEvent, type Reception } from '../domain/reception.ts';
import { loadReception, saveReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

type Context = ServiceContext<ReceptionDatabase>;
type Trx = Transaction<ReceptionDatabase>;

const store: AggregateStore<Reception, DomainEvent, Trx> = {
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
    return (await commitEvents(trx, emit, store, null, events, { command: 'reception.register', origin }))!;
  });
}

/** Load, decide, save (and audit): one transaction per command on an existing reception. */
function onReception(context: Context, origin: CommandOrigin, id: number, name: string, command: Command): Promise<Reception> {
  return context.execute(async (trx, emit) => {
    const state = await loadReception(trx, id);
    if (!state) throw notFound('reception', id);
    return (await commitEvents(trx, emit, store, state, eventsOrProblem(decide(command, state)), { command: name, origin }))!;
  });
}

export const cancelReception = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  onReception(context, origin, id, 'reception.cancel', { type: 'CancelReception', ...(reason ? { reason } : {}), now: now() });

export const confirmReception = (context: Context, origin: CommandOrigin, id: number) =>
  onReception(context, origin, id, 'reception.confirm', { type: 'ConfirmReception', now: now() });

function commandFor(event: CloudEvent): Command | undefined {
  if (event.type === 'DiagnosisCompleted') {
    const d = event.data as CloudEvent<'DiagnosisCompleted'>['data'];
    return { type: 'RecordDiagnosisCompleted', diagnosisId: d.diagnosisId, opinion: d.opinion, now: event.time };
  }
  if (event.type === 'DiagnosisRejected') {
    const d = event.data as CloudEvent<'DiagnosisRejected'>['data'];
    return { type: 'RecordDiagnosisRejected', diagnosisId: d.diagnosisId, reason: d.reason, now: event.time };
  }
  return undefined;
}

/** The reception reacts to the doctor's outcome (DiagnosisCompleted / DiagnosisRejected). */
export function receptionEffect(context: Context) {
  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    const command = commandFor(event);
    if (!command) return;
    const receptionId = (event.data as { receptionId: number }).receptionId;
    const state = await loadReception(trx, receptionId);
    // A diagnosis always follows a reception this service wrote; if it is missing, retry, then dead-letter.
    if (!state) throw new Error(`${event.type} for unknown reception ${receptionId}`);
    const events = eventsOrSkip(decide(command, state), (m) => context.logger.info({ eventId: event.id }, m));
    const name = command.type === 'RecordDiagnosisCompleted' ? 'reception.recordDiagnosisCompleted' : 'reception.recordDiagnosisRejected';
    await commitEvents(trx, emit, store, state, events, { command: name, origin: reactionOrigin(context.config.serviceName, event) });
  };
}
