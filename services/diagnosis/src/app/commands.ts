import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { commitEvents, eventsOrProblem, notFound, type AggregateStore, type ServiceContext } from '@medical/platform';
import { decide, evolve, isPublished, type Command, type Diagnosis, type DomainEvent } from '../domain/diagnosis.ts';
import { loadDiagnosis, saveDiagnosis } from '../db/repository.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';

export type Context = ServiceContext<DiagnosisDatabase>;
export type Trx = Transaction<DiagnosisDatabase>;

export const diagnosisStore: AggregateStore<Diagnosis, DomainEvent, Trx> = {
  evolve,
  isPublished,
  save: saveDiagnosis,
  subject: (diagnosis) => diagnosis.receptionId,
};

const now = () => new Date().toISOString();

/** Load, decide, save: one transaction per doctor's command. */
function onDiagnosis(context: Context, id: number, command: Command): Promise<Diagnosis> {
  return context.execute(async (trx, emit) => {
    const state = await loadDiagnosis(trx, id);
    if (!state) throw notFound('diagnosis', id);
    return (await commitEvents(trx, emit, diagnosisStore, state, eventsOrProblem(decide(command, state))))!;
  });
}

export const prescribeExamination = (context: Context, id: number, request: { examinationType: string; instructions?: string }) =>
  onDiagnosis(context, id, { type: 'PrescribeExamination', prescriptionId: randomUUID(), ...request, now: now() });

export const completeDiagnosis = (context: Context, id: number, opinion: string) =>
  onDiagnosis(context, id, { type: 'CompleteDiagnosis', opinion, now: now() });

export const rejectDiagnosis = (context: Context, id: number, reason: string) =>
  onDiagnosis(context, id, { type: 'RejectDiagnosis', reason, now: now() });
