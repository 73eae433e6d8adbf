import type { CloudEvent } from '@medical/contracts';
import { causedBy, executeReaction, type Emit } from '@medical/platform';
import type { Command, Diagnosis } from '../domain/diagnosis.ts';
import { loadDiagnosis, loadDiagnosisOfReception } from '../db/repository.ts';
import { diagnoses, type Context, type Trx } from './commands.ts';

type Data<T extends CloudEvent['type']> = CloudEvent<T>['data'];

/**
 * What the diagnosis service does with the events it consumes: a completed reception puts the
 * patient on the doctor's list; a cancelled one cancels the diagnosis (compensation); the
 * examination service's reports are recorded on the prescriptions.
 */
export function diagnosisEffect(context: Context) {
  const skip = (event: CloudEvent) => (message: string) => context.logger.info({ eventId: event.id, eventType: event.type }, message);

  /** Reactions run as the service's system actor, caused by the event. */
  async function apply(trx: Trx, emit: Emit, event: CloudEvent, state: Diagnosis | null, command: Command) {
    await executeReaction(trx, emit, diagnoses, state, command, causedBy(context, event));
  }

  async function requireDiagnosis(trx: Trx, event: CloudEvent, diagnosisId: number): Promise<Diagnosis> {
    const state = await loadDiagnosis(trx, diagnosisId);
    // Examinations only exist for prescriptions this service wrote: a miss is an inconsistency
    // worth retrying and then dead-lettering, never silently dropping.
    if (!state) throw new Error(`${event.type} for unknown diagnosis ${diagnosisId}`);
    return state;
  }

  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    switch (event.type) {
      case 'ReceptionCompleted': {
        const d = event.data as Data<'ReceptionCompleted'>;
        const existing = await loadDiagnosisOfReception(trx, d.receptionId);
        if (existing) return skip(event)(`reception ${d.receptionId} already has diagnosis ${existing.id}`);
        const diagnosisId = await context.database.nextId(trx, 'diagnoses');
        const command: Command = {
          type: 'RegisterDiagnosis',
          diagnosisId,
          receptionId: d.receptionId,
          patientId: d.patientId,
          patientName: d.patientName,
          now: event.time,
        };
        return apply(trx, emit, event, null, command);
      }
      case 'ReceptionCancelled': {
        const d = event.data as Data<'ReceptionCancelled'>;
        const state = await loadDiagnosisOfReception(trx, d.receptionId);
        if (!state) throw new Error(`ReceptionCancelled for reception ${d.receptionId} that has no diagnosis`);
        return apply(trx, emit, event, state, { type: 'CancelDiagnosis', reason: `Reception cancelled: ${d.reason}`, now: event.time });
      }
      case 'ExaminationRequested': {
        const d = event.data as Data<'ExaminationRequested'>;
        const state = await requireDiagnosis(trx, event, d.diagnosisId);
        const command: Command = { type: 'RecordExaminationRequested', examinationId: d.examinationId, prescriptionId: d.prescriptionId, now: event.time };
        return apply(trx, emit, event, state, command);
      }
      case 'ExaminationPerformed': {
        const d = event.data as Data<'ExaminationPerformed'>;
        const state = await requireDiagnosis(trx, event, d.diagnosisId);
        const command: Command = {
          type: 'RecordExaminationPerformed',
          examinationId: d.examinationId,
          prescriptionId: d.prescriptionId,
          result: d.result,
          now: event.time,
        };
        return apply(trx, emit, event, state, command);
      }
      case 'ExaminationCancelled': {
        const d = event.data as Data<'ExaminationCancelled'>;
        const state = await requireDiagnosis(trx, event, d.diagnosisId);
        const command: Command = {
          type: 'RecordExaminationCancelled',
          examinationId: d.examinationId,
          prescriptionId: d.prescriptionId,
          reason: d.reason,
          now: event.time,
        };
        return apply(trx, emit, event, state, command);
      }
      default:
        return;
    }
  };
}
