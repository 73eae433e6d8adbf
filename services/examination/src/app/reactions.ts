import type { CloudEvent } from '@medical/contracts';
import { causedBy, executeReaction, type Emit } from '@medical/platform';
import type { Command } from '../domain/examination.ts';
import {
  closedVisitReason,
  loadExaminationOfPrescription,
  loadPendingExaminations,
  recordClosedVisit,
} from '../db/repository.ts';
import { examinations, type Context, type Trx } from './commands.ts';

type Data<T extends CloudEvent['type']> = CloudEvent<T>['data'];

/**
 * A prescription becomes an examination order; a rejected diagnosis or a cancelled reception
 * cancels the orders still pending (compensation), and is remembered so that a prescription
 * still on its way is cancelled on arrival.
 */
export function examinationEffect(context: Context) {
  const skip = (event: CloudEvent) => (message: string) => context.logger.info({ eventId: event.id, eventType: event.type }, message);

  async function compensate(trx: Trx, emit: Emit, event: CloudEvent, scope: { receptionId: number } | { diagnosisId: number }, reason: string) {
    for (const examination of await loadPendingExaminations(trx, scope)) {
      const command: Command = { type: 'CompensateExamination', reason, now: event.time };
      await executeReaction(trx, emit, examinations, examination, command, causedBy(context, event));
    }
  }

  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    switch (event.type) {
      case 'ExaminationPrescribed': {
        const d = event.data as Data<'ExaminationPrescribed'>;
        if (await loadExaminationOfPrescription(trx, d.prescriptionId)) {
          return skip(event)(`prescription ${d.prescriptionId} already has an examination`);
        }
        const closedBecause = await closedVisitReason(trx, d.receptionId, d.diagnosisId);
        const command: Command = {
          type: 'RequestExamination',
          examinationId: await context.database.nextId(trx, 'examinations'),
          prescriptionId: d.prescriptionId,
          diagnosisId: d.diagnosisId,
          receptionId: d.receptionId,
          patientId: d.patientId,
          patientName: d.patientName,
          examinationType: d.examinationType,
          ...(d.instructions ? { instructions: d.instructions } : {}),
          ...(closedBecause ? { closedBecause } : {}),
          now: event.time,
        };
        await executeReaction(trx, emit, examinations, null, command, causedBy(context, event));
        return;
      }
      case 'DiagnosisRejected': {
        const d = event.data as Data<'DiagnosisRejected'>;
        const reason = `Diagnosis rejected: ${d.reason}`;
        await recordClosedVisit(trx, 'diagnosis', d.diagnosisId, reason, event.time);
        return compensate(trx, emit, event, { diagnosisId: d.diagnosisId }, reason);
      }
      case 'ReceptionCancelled': {
        const d = event.data as Data<'ReceptionCancelled'>;
        const reason = `Reception cancelled: ${d.reason}`;
        await recordClosedVisit(trx, 'reception', d.receptionId, reason, event.time);
        return compensate(trx, emit, event, { receptionId: d.receptionId }, reason);
      }
      default:
        return;
    }
  };
}
