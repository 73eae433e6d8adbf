import type { CreateReceptionRequest } from '@medical/contracts';
import { executeCommand, executeCreation, type Aggregate, type CommandOrigin, type ServiceContext } from '@medical/platform';
import type { Transaction } from 'kysely';
import { isPublished, receptionDecider, type Command, type DomainEvent, type Reception } from '../domain/reception.ts';
import { loadReception, saveReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

export type Context = ServiceContext<ReceptionDatabase>;
export type Trx = Transaction<ReceptionDatabase>;

/** A reception as the command pipeline runs it (platform service/command-pipeline.ts). */
export const receptions: Aggregate<Reception, Command, DomainEvent, Trx> = {
  name: 'reception',
  decider: receptionDecider,
  isPublished,
  load: loadReception,
  save: saveReception,
  subject: (reception) => reception.id,
  aggregateId: (reception) => reception.id,
  auditNames: {
    RegisterReception: 'reception.register',
    CancelReception: 'reception.cancel',
    ConfirmReception: 'reception.confirm',
    RecordDiagnosisCompleted: 'reception.recordDiagnosisCompleted',
    RecordDiagnosisRejected: 'reception.recordDiagnosisRejected',
  },
};

const now = () => new Date().toISOString();

export const registerReception = (context: Context, origin: CommandOrigin, request: CreateReceptionRequest): Promise<Reception> =>
  executeCreation(context, receptions, origin, async (trx): Promise<Command> => ({
    type: 'RegisterReception',
    receptionId: await context.database.nextId(trx, 'receptions'),
    ...request,
    now: now(),
  }));

export const cancelReception = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  executeCommand(context, receptions, origin, id, { type: 'CancelReception', ...(reason ? { reason } : {}), now: now() });

export const confirmReception = (context: Context, origin: CommandOrigin, id: number) =>
  executeCommand(context, receptions, origin, id, { type: 'ConfirmReception', now: now() });
