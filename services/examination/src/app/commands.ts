import type { Transaction } from 'kysely';
import { executeCommand, type Aggregate, type CommandOrigin, type ServiceContext } from '@medical/platform';
import { examinationDecider, isPublished, type Command, type DomainEvent, type Examination } from '../domain/examination.ts';
import { loadExamination, saveExamination } from '../db/repository.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

export type Context = ServiceContext<ExaminationDatabase>;
export type Trx = Transaction<ExaminationDatabase>;

/** An examination as the command pipeline runs it (platform service/command-pipeline.ts). */
export const examinations: Aggregate<Examination, Command, DomainEvent, Trx> = {
  name: 'examination',
  decider: examinationDecider,
  isPublished,
  load: loadExamination,
  save: saveExamination,
  subject: (examination) => examination.receptionId,
  aggregateId: (examination) => examination.id,
  auditNames: {
    RequestExamination: 'examination.request',
    PerformExamination: 'examination.perform',
    CancelExamination: 'examination.cancel',
    CompensateExamination: 'examination.compensate',
    MovePatient: 'examination.movePatient',
  },
};

const now = () => new Date().toISOString();

export const performExamination = (context: Context, origin: CommandOrigin, id: number, result: string) =>
  executeCommand(context, examinations, origin, id, { type: 'PerformExamination', result, now: now() });

export const cancelExamination = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  executeCommand(context, examinations, origin, id, { type: 'CancelExamination', ...(reason ? { reason } : {}), now: now() });
