import type { CloudEvent } from '@medical/contracts';
import { causedBy, executeReaction, type Emit } from '@medical/platform';
import type { Command } from '../domain/examination.ts';
import { waitingRoomOf } from '../domain/waiting-room.ts';
import {
  closedVisitReason,
  loadExaminationOfPrescription,
  loadExaminationsOfReception,
  loadPendingExaminations,
  mergedVisitPatient,
  recordClosedVisit,
  recordVisitPatient,
} from '../db/repository.ts';
import { examinations, type Context, type Trx } from './commands.ts';

type Data<T extends CloudEvent['type']> = CloudEvent<T>['data'];

/**
 * A prescription becomes an examination order; a rejected diagnosis or a cancelled reception
 * cancels the orders still pending (compensation), and is remembered so that a prescription
 * still on its way is cancelled on arrival; a merge of the visit's patient in the registry moves
 * the visit's examinations to the patient kept, and is remembered so that a prescription still
 * naming the previous patient is ordered for the patient kept.
 */
export function examinationEffect(context: Context) {
  async function compensate(trx: Trx, emit: Emit, event: CloudEvent, scope: { receptionId: number } | { diagnosisId: number }, reason: string) {
    for (const examination of await loadPendingExaminations(trx, scope)) {
      const command: Command = { type: 'CompensateExamination', reason, now: event.time };
      await executeReaction(trx, emit, examinations, examination, command, causedBy(context, event));
    }
  }

  return async (trx: Trx, event: CloudEvent, emit: Emit): Promise<void> => {
    switch (event.type) {
      case 'ExaminationPrescribed':
        return requestExamination(context, trx, emit, event);
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
      case 'ReceptionPatientMerged':
        return movePatient(context, trx, emit, event);
      default:
        return;
    }
  };
}

async function requestExamination(context: Context, trx: Trx, emit: Emit, event: CloudEvent): Promise<void> {
  const d = event.data as Data<'ExaminationPrescribed'>;
  if (await loadExaminationOfPrescription(trx, d.prescriptionId)) {
    context.logger.info({ eventId: event.id, eventType: event.type }, `prescription ${d.prescriptionId} already has an examination`);
    return;
  }
  const closedBecause = await closedVisitReason(trx, d.receptionId, d.diagnosisId);
  // The merge of the visit's patient precedes this event in the visit's log, but the diagnosis
  // service may have prescribed before it took the merge: the merge's patient is the newer one.
  const patient = (await mergedVisitPatient(trx, d.receptionId)) ?? { patientId: d.patientId, patientName: d.patientName };
  const command: Command = {
    type: 'RequestExamination',
    examinationId: await context.database.nextId(trx, 'examinations'),
    prescriptionId: d.prescriptionId,
    diagnosisId: d.diagnosisId,
    receptionId: d.receptionId,
    ...patient,
    examinationType: d.examinationType,
    ...(d.instructions ? { instructions: d.instructions } : {}),
    // Called in the waiting room of the department that performs it, by the visit's number.
    department: waitingRoomOf(d.examinationType, d.visitDepartment, context.config.catalog),
    ...(d.visitDepartment !== undefined ? { visitDepartment: d.visitDepartment } : {}),
    ...(d.queueNumber !== undefined ? { queueNumber: d.queueNumber } : {}),
    ...(closedBecause ? { closedBecause } : {}),
    now: event.time,
  };
  await executeReaction(trx, emit, examinations, null, command, causedBy(context, event));
}

/** The visit's patient merged into another: each of its examinations follows the visit to the patient kept. */
async function movePatient(context: Context, trx: Trx, emit: Emit, event: CloudEvent): Promise<void> {
  const d = event.data as Data<'ReceptionPatientMerged'>;
  const patient = { patientId: d.patientId, patientName: d.patientName };
  await recordVisitPatient(trx, d.receptionId, patient, d.mergedAt);
  // A visit without examinations (none prescribed yet, or never) has nothing else to move.
  for (const examination of await loadExaminationsOfReception(trx, d.receptionId)) {
    const command: Command = { type: 'MovePatient', ...patient, now: event.time };
    await executeReaction(trx, emit, examinations, examination, command, causedBy(context, event));
  }
}
