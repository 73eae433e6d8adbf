import type { Transaction } from 'kysely';
import { commitEvents, eventsOrProblem, notFound, type AggregateStore, type ServiceContext } from '@medical/platform';
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
};

const now = () => new Date().toISOString();

/** Load, decide, save: one transaction per examiner's command. */
function onExamination(context: Context, id: number, command: Command): Promise<Examination> {
  return context.execute(async (trx, emit) => {
    const state = await loadExamination(trx, id);
    if (!state) throw notFound('examination', id);
    return (await commitEvents(trx, emit, examinationStore, state, eventsOrProblem(decide(command, state))))!;
  });
}

export const performExamination = (context: Context, id: number, result: string) =>
  onExamination(context, id, { type: 'PerformExamination', result, now: now() });

export const cancelExamination = (context: Context, id: number, reason?: string) =>
  onExamination(context, id, { type: 'CancelExamination', ...(reason ? { reason } : {}), now: now() });
