import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { executeCommand, type Aggregate, type ServiceContext } from '@medical/platform';
import { diagnosisDecider, isPublished, type BreakGlass, type Command, type Diagnosis, type DomainEvent } from '../domain/diagnosis.ts';
import { loadDiagnosis, saveDiagnosis } from '../db/repository.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';
import { contextOf, grantedAccess, originOf, type DeskContext, type Granted, type Requester } from './access.ts';

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
    MovePatient: 'diagnosis.movePatient',
    CallPatient: 'diagnosis.call',
    MarkNoShow: 'diagnosis.noShow',
    // A read is audited only when it breaks the glass (a diagnosis outside the reader's departments).
    OpenInEmergency: 'diagnosis.read',
  },
};

const now = () => new Date().toISOString();

/**
 * A doctor's command on diagnosis `id`, as `requester` may send it: within their departments, or
 * breaking the glass (then the command carries the reason, its audit row too, and the access is
 * counted once committed); a 403 otherwise, before anything is written.
 */
export async function commandOnDiagnosis(context: DeskContext, requester: Requester, id: number, command: (breakGlass?: BreakGlass) => Command): Promise<Diagnosis> {
  const granted = await grantedAccess(context, requester, id);
  return executeCommand(contextOf(context, requester, granted), diagnoses, originOf(requester, granted), id, command(granted.breakGlass));
}

/** What a command sent by breaking the glass carries besides its own fields. */
const breakingGlass = (breakGlass: BreakGlass | undefined) => (breakGlass ? { breakGlass } : {});

export const prescribeExamination = (context: DeskContext, requester: Requester, id: number, request: { examinationType: string; instructions?: string }) =>
  commandOnDiagnosis(context, requester, id, (breakGlass) => ({
    type: 'PrescribeExamination',
    prescriptionId: randomUUID(),
    ...request,
    ...breakingGlass(breakGlass),
    now: now(),
  }));

export const completeDiagnosis = (context: DeskContext, requester: Requester, id: number, opinion: string) =>
  commandOnDiagnosis(context, requester, id, (breakGlass) => ({ type: 'CompleteDiagnosis', opinion, ...breakingGlass(breakGlass), now: now() }));

export const rejectDiagnosis = (context: DeskContext, requester: Requester, id: number, reason: string) =>
  commandOnDiagnosis(context, requester, id, (breakGlass) => ({ type: 'RejectDiagnosis', reason, ...breakingGlass(breakGlass), now: now() }));

/** The doctor calls the patient in (again: a recall), in the waiting room of the diagnosis's department. */
export const callPatient = (context: DeskContext, requester: Requester, id: number, room: string | undefined) =>
  commandOnDiagnosis(context, requester, id, (breakGlass) => ({
    type: 'CallPatient',
    ...(room !== undefined ? { room } : {}),
    defaultDepartment: context.config.catalog.defaultDepartment,
    ...breakingGlass(breakGlass),
    now: now(),
  }));

export const markNoShow = (context: DeskContext, requester: Requester, id: number) =>
  commandOnDiagnosis(context, requester, id, (breakGlass) => ({
    type: 'MarkNoShow',
    defaultDepartment: context.config.catalog.defaultDepartment,
    ...breakingGlass(breakGlass),
    now: now(),
  }));

/**
 * Opening a diagnosis the reader broke the glass for is a command of its own: it changes nothing,
 * but its BreakGlassAccessed event and audit row are committed before the diagnosis is shown.
 */
export function openInEmergency(context: DeskContext, requester: Requester, granted: Granted & { breakGlass: BreakGlass }): Promise<Diagnosis> {
  const command: Command = { type: 'OpenInEmergency', breakGlass: granted.breakGlass, now: now() };
  return executeCommand(contextOf(context, requester, granted), diagnoses, originOf(requester, granted), granted.place.diagnosisId, command);
}
