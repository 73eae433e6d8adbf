import { systemActor, type Actor, type EventDataOf, type EventType } from '@medical/contracts';

/**
 * The events of one visit as its producers publish them (the contracts' types), for the tests of
 * the projection: the pure fold (visit-records.test.ts) and the effect on a database
 * (projection.test.ts). Times are minutes after 09:00 in Seoul on 2026-12-07.
 */

export type VisitEvent = { [T in EventType]: { type: T; data: EventDataOf<T>; time: string } }[EventType];

export const at = (minute: number): string => new Date(Date.parse('2026-12-07T00:00:00.000Z') + minute * 60_000).toISOString();

export const doctor: Actor = { subject: 'doctor-1', name: '이의사', role: 'doctor' };
export const otherDoctor: Actor = { subject: 'doctor-2', name: '박의사', role: 'doctor' };
export const examiner: Actor = { subject: 'examiner-1', name: '최검사', role: 'examiner' };
export const receptionist: Actor = { subject: 'desk-1', name: '정접수', role: 'receptionist' };

export type VisitIds = { receptionId: number; diagnosisId: number; examinationId: number; prescriptionId: string; patientId: string };

const event = <T extends EventType>(type: T, data: EventDataOf<T>, time: string) => ({ type, data, time }) as VisitEvent;

/** Each event of a visit with these ids, at the minute given. */
export function visitOf(ids: VisitIds) {
  const { receptionId, diagnosisId, examinationId, prescriptionId, patientId } = ids;
  const link = { examinationId, prescriptionId, diagnosisId, receptionId };
  return {
    completed: (minute = 0, patientName = '김민지') =>
      event('ReceptionCompleted', { actor: receptionist, receptionId, patientId, patientName, birthDate: '1990-04-01', department: 'internal-medicine', receivedAt: at(minute), queueNumber: 3, queueDay: '2026-12-07' }, at(minute)),
    registered: (minute = 1) => event('DiagnosisRegistered', { actor: systemActor('diagnosis'), diagnosisId, receptionId, patientId, patientName: '김민지', department: 'internal-medicine' }, at(minute)),
    doctorCalled: (minute = 5, actor: Actor = doctor, callCount = 1) =>
      event('PatientCalled', { actor, receptionId, calledFor: 'DIAGNOSIS', diagnosisId, department: 'internal-medicine', queueNumber: 3, room: '3', callCount, calledAt: at(minute) }, at(minute)),
    prescribed: (minute = 10, actor: Actor = doctor) =>
      event('ExaminationPrescribed', { actor, prescriptionId, diagnosisId, receptionId, patientId, patientName: '김민지', examinationType: 'CHEST_XRAY', instructions: '금속류 제거', visitDepartment: 'internal-medicine', queueNumber: 3 }, at(minute)),
    requested: (minute = 11) =>
      event('ExaminationRequested', { actor: systemActor('examination'), ...link, examinationType: 'CHEST_XRAY', department: 'radiology', visitDepartment: 'internal-medicine', queueNumber: 3 }, at(minute)),
    examinerCalled: (minute = 20) =>
      event('PatientCalled', { actor: examiner, receptionId, calledFor: 'EXAMINATION', examinationId, examinationType: 'CHEST_XRAY', department: 'radiology', visitDepartment: 'internal-medicine', queueNumber: 3, callCount: 1, calledAt: at(minute) }, at(minute)),
    noShow: (minute = 22) => event('PatientNoShow', { actor: examiner, receptionId, calledFor: 'EXAMINATION', examinationId, department: 'radiology', queueNumber: 3, markedAt: at(minute) }, at(minute)),
    performed: (minute = 30, result = 'No active lung lesion') => event('ExaminationPerformed', { actor: examiner, ...link, result, performedAt: at(minute) }, at(minute)),
    examinationCancelled: (minute = 31, reason = 'Diagnosis rejected') => event('ExaminationCancelled', { actor: systemActor('examination'), ...link, reason }, at(minute)),
    diagnosisCompleted: (minute = 40, actor: Actor = doctor) => event('DiagnosisCompleted', { actor, diagnosisId, receptionId, opinion: 'Common cold' }, at(minute)),
    diagnosisRejected: (minute = 30, actor: Actor = doctor) => event('DiagnosisRejected', { actor, diagnosisId, receptionId, reason: 'Wrong department' }, at(minute)),
    diagnosisCancelled: (minute = 4) => event('DiagnosisCancelled', { actor: systemActor('diagnosis'), diagnosisId, receptionId, reason: 'Reception cancelled' }, at(minute)),
    receptionCancelled: (minute = 3) => event('ReceptionCancelled', { actor: receptionist, receptionId, reason: 'Patient left' }, at(minute)),
    confirmed: (outcome: 'COMPLETED' | 'REJECTED', minute = 45) => event('ReceptionConfirmed', { actor: receptionist, receptionId, outcome }, at(minute)),
    merged: (kept: string, minute = 50, patientName = '김민지') =>
      event('ReceptionPatientMerged', { actor: receptionist, receptionId, patientId: kept, patientName, birthDate: '1990-04-01', previousPatientId: patientId, mergedAt: at(minute) }, at(minute)),
  };
}

/** The three ways a visit goes, each event in the order the log holds them. */
export function visitPaths(ids: VisitIds): Record<'finished' | 'rejected' | 'cancelled', VisitEvent[]> {
  const v = visitOf(ids);
  return {
    finished: [v.completed(), v.registered(), v.doctorCalled(), v.prescribed(), v.requested(), v.examinerCalled(), v.performed(), v.diagnosisCompleted(), v.confirmed('COMPLETED')],
    // The doctor rejects while the examination waits; the examination service cancels it in compensation.
    rejected: [v.completed(), v.registered(), v.doctorCalled(), v.prescribed(), v.requested(), v.diagnosisRejected(), v.examinationCancelled(), v.confirmed('REJECTED', 35)],
    cancelled: [v.completed(), v.registered(), v.receptionCancelled(), v.diagnosisCancelled()],
  };
}
