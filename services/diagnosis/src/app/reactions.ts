import type { CloudEvent } from '@medical/contracts';
import { causedBy, executeReaction, type Emit } from '@medical/platform';
import { departmentOfVisit } from '../domain/departments.ts';
import type { Command, Diagnosis } from '../domain/diagnosis.ts';
import { loadDiagnosis, loadDiagnosisOfReception } from '../db/repository.ts';
import { diagnoses, type Context, type Trx } from './commands.ts';

type Data<T extends CloudEvent['type']> = CloudEvent<T>['data'];

/** What a consumed event asks of a diagnosis: a command, and the diagnosis it applies to (null: a new one). */
type Reaction = { state: Diagnosis | null; command: Command };

/**
 * What the diagnosis service does with the events it consumes: a completed reception puts the
 * patient on the doctor's list; a cancelled one cancels the diagnosis (compensation); a merge of
 * the visit's patient in the registry moves the diagnosis to the patient kept; the examination
 * service's reports are recorded on the prescriptions.
 */
export function diagnosisEffect(context: Context) {
  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    const reaction = await reactionTo(context, trx, event);
    if (!reaction) return;
    // Reactions run as the service's system actor, caused by the event.
    await executeReaction(trx, emit, diagnoses, reaction.state, reaction.command, causedBy(context, event));
  };
}

/** Undefined when the event asks nothing: a type this service does not react to, or a redelivery. */
async function reactionTo(context: Context, trx: Trx, event: CloudEvent): Promise<Reaction | undefined> {
  switch (event.type) {
    case 'ReceptionCompleted':
      return registerDiagnosis(context, trx, event);
    case 'ReceptionCancelled':
      return cancelDiagnosis(trx, event);
    case 'ReceptionPatientMerged':
      return movePatient(trx, event);
    case 'ExaminationRequested':
    case 'ExaminationPerformed':
    case 'ExaminationCancelled':
      return recordExaminationReport(trx, event);
    default:
      return undefined;
  }
}

async function registerDiagnosis(context: Context, trx: Trx, event: CloudEvent): Promise<Reaction | undefined> {
  const d = event.data as Data<'ReceptionCompleted'>;
  const existing = await loadDiagnosisOfReception(trx, d.receptionId);
  if (existing) {
    context.logger.info({ eventId: event.id, eventType: event.type }, `reception ${d.receptionId} already has diagnosis ${existing.id}`);
    return undefined;
  }
  const diagnosisId = await context.database.nextId(trx, 'diagnoses');
  const command: Command = {
    type: 'RegisterDiagnosis',
    diagnosisId,
    receptionId: d.receptionId,
    patientId: d.patientId,
    patientName: d.patientName,
    // The visit's department if it is one of the hospital's codes, else the default one: events
    // written before departments were codes carry free text, or none.
    department: departmentOfVisit(d.department, context.config.catalog),
    // Visits registered before queue numbers have none.
    ...(d.queueNumber !== undefined ? { queueNumber: d.queueNumber } : {}),
    now: event.time,
  };
  return { state: null, command };
}

async function cancelDiagnosis(trx: Trx, event: CloudEvent): Promise<Reaction> {
  const d = event.data as Data<'ReceptionCancelled'>;
  const state = await loadDiagnosisOfReception(trx, d.receptionId);
  if (!state) throw new Error(`ReceptionCancelled for reception ${d.receptionId} that has no diagnosis`);
  return { state, command: { type: 'CancelDiagnosis', reason: `Reception cancelled: ${d.reason}`, now: event.time } };
}

/** The visit's patient merged into another: the diagnosis follows the visit to the patient kept. */
async function movePatient(trx: Trx, event: CloudEvent): Promise<Reaction> {
  const d = event.data as Data<'ReceptionPatientMerged'>;
  const state = await loadDiagnosisOfReception(trx, d.receptionId);
  // It follows the visit's ReceptionCompleted in the log: a miss is retried, then dead-lettered.
  if (!state) throw new Error(`ReceptionPatientMerged for reception ${d.receptionId} that has no diagnosis`);
  return { state, command: { type: 'MovePatient', patientId: d.patientId, patientName: d.patientName, now: event.time } };
}

/** What the examination service reported: the command that records it on the prescription. */
function reportCommand(event: CloudEvent): Command {
  const d = event.data as Data<'ExaminationRequested'>;
  const report = { examinationId: d.examinationId, prescriptionId: d.prescriptionId, now: event.time };
  if (event.type === 'ExaminationPerformed') return { type: 'RecordExaminationPerformed', ...report, result: (event.data as Data<'ExaminationPerformed'>).result };
  if (event.type === 'ExaminationCancelled') return { type: 'RecordExaminationCancelled', ...report, reason: (event.data as Data<'ExaminationCancelled'>).reason };
  return { type: 'RecordExaminationRequested', ...report };
}

/** An examination requested, performed or cancelled, recorded on its prescription. */
async function recordExaminationReport(trx: Trx, event: CloudEvent): Promise<Reaction> {
  const { diagnosisId } = event.data as Data<'ExaminationRequested'>;
  return { state: await requireDiagnosis(trx, event, diagnosisId), command: reportCommand(event) };
}

async function requireDiagnosis(trx: Trx, event: CloudEvent, diagnosisId: number): Promise<Diagnosis> {
  const state = await loadDiagnosis(trx, diagnosisId);
  // Examinations only exist for prescriptions this service wrote: a miss is an inconsistency
  // worth retrying and then dead-lettering, never silently dropping.
  if (!state) throw new Error(`${event.type} for unknown diagnosis ${diagnosisId}`);
  return state;
}
