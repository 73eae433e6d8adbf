import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { commitEvents, eventsOrProblem, notFound, type AggregateStore, type CommandOrigin, type ServiceContext } from '@medical/platform';
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
  aggregateId: (diagnosis) => diagnosis.id,
};

const now = () => new Date().toISOString();

/** Load, decide, save (and audit): one transaction per doctor's command. */
function onDiagnosis(context: Context, origin: CommandOrigin, id: number, name: string, command: Command): Promise<Diagnosis> {
  return context.execute(async (trx, emit) => {
    const state = await loadDiagnosis(trx, id);
    if (!state) throw notFound('diagnosis', id);
    return (await commitEvents(trx, emit, diagnosisStore, state, eventsOrProblem(decide(command, state)), { command: name, origin }))!;
  });
}

export const prescribeExamination = (
  context: Context,
  origin: CommandOrigin,
  id: number,
  request: { examinationType: string; instructions?: string },
) => onDiagnosis(context, origin, id, 'diagnosis.prescribe', { type: 'PrescribeExamination', prescriptionId: randomUUID(), ...request, now: now() });

export const completeDiagnosis = (context: Context, origin: CommandOrigin, id: number, opinion: string) =>
  onDiagnosis(context, origin, id, 'diagnosis.complete', { type: 'CompleteDiagnosis', opinion, now: now() });

export const rejectDiagnosis = (context: Context, origin: CommandOrigin, id: number, reason: string) =>
  onDiagnosis(context, origin, id, 'diagnosis.reject', { type: 'RejectDiagnosis', reason, now: now() });
