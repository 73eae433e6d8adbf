import type { Transaction } from 'kysely';
import { commitEvents, eventsOrProblem, notFound, type AggregateStore, type CommandOrigin, type ServiceContext } from '@medical/platform';
import { decide, evolve, isPublished, type Command, type DomainEvent, type Examination } from '../domain/examination.ts';
import { loadExamination, saveExamination } from '../db/repository.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

export type Context = ServiceContext<ExaminationDatabase>;
export type Trx = Transaction<ExaminationDatabase>;

export const examinationStore: AggregateStore<Examination, DomainEvent, Trx> = {
  evolve,
  isPublished,
  save: saveExamination,
  subject: (examination) => examination.receptionId,
  aggregateId: (examination) => examination.id,
};

const now = () => new Date().toISOString();

/** Load, decide, save (and audit): one transaction per examiner's command. */
function onExamination(context: Context, origin: CommandOrigin, id: number, name: string, command: Command): Promise<Examination> {
  return context.execute(async (trx, emit) => {
    const state = await loadExamination(trx, id);
    if (!state) throw notFound('examination', id);
    return (await commitEvents(trx, emit, examinationStore, state, eventsOrProblem(decide(command, state)), { command: name, origin }))!;
  });
}

export const performExamination = (context: Context, origin: CommandOrigin, id: number, result: string) =>
  onExamination(context, origin, id, 'examination.perform', { type: 'PerformExamination', result, now: now() });

export const cancelExamination = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  onExamination(context, origin, id, 'examination.cancel', { type: 'CancelExamination', ...(reason ? { reason } : {}), now: now() });
