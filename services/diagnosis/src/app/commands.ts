import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { executeCommand, type Aggregate, type CommandOrigin, type ServiceContext } from '@medical/platform';
import { diagnosisDecider, isPublished, type Command, type Diagnosis, type DomainEvent } from '../domain/diagnosis.ts';
import { loadDiagnosis, saveDiagnosis } from '../db/repository.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';

export type Context = ServiceContext<DiagnosisDatabase>;
export type Trx = Transaction<DiagnosisDatabase>;

/** A diagnosis as the command pipeline runs it (platform service/command-pipeline.ts). */
export const diagnoses: Aggregate<Diagnosis, Command, DomainEvent, Trx> = {
  name: 'diagnosis',
  decider: diagnosisDecider,
  isPublished,
  load: loadDiagnosis,
  save: saveDiagnosis,
  subject: (diagnosis) => diagnosis.receptionId,
  aggregateId: (diagnosis) => diagnosis.id,
  auditNames: {
    RegisterDiagnosis: 'diagnosis.register',
    CancelDiagnosis: 'diagnosis.cancel',
    RecordExaminationRequested: 'diagnosis.recordExaminationRequested',
    RecordExaminationPerformed: 'diagnosis.recordExaminationPerformed',
    RecordExaminationCancelled: 'diagnosis.recordExaminationCancelled',
    PrescribeExamination: 'diagnosis.prescribe',
    CompleteDiagnosis: 'diagnosis.complete',
    RejectDiagnosis: 'diagnosis.reject',
  },
};

const now = () => new Date().toISOString();

export const prescribeExamination = (context: Context, origin: CommandOrigin, id: number, request: { examinationType: string; instructions?: string }) =>
  executeCommand(context, diagnoses, origin, id, { type: 'PrescribeExamination', prescriptionId: randomUUID(), ...request, now: now() });

export const completeDiagnosis = (context: Context, origin: CommandOrigin, id: number, opinion: string) =>
  executeCommand(context, diagnoses, origin, id, { type: 'CompleteDiagnosis', opinion, now: now() });

export const rejectDiagnosis = (context: Context, origin: CommandOrigin, id: number, reason: string) =>
  executeCommand(context, diagnoses, origin, id, { type: 'RejectDiagnosis', reason, now: now() });
