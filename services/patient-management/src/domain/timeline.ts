import type { Actor, EventDataOf, EventType, VisitStage } from '@medical/contracts';

/**
 * The visit's timeline: one step per event the view applied, saying what happened, who did it
 * (the `actor` the event carries: a person's command or a service's own reaction) and where the
 * visit stood afterwards. Descriptions name ids and examination types, never clinical content
 * (results, opinions, reasons): those stay with the services that own them.
 */
export type TimelineStep = {
  eventId: string;
  receptionId: number;
  event: string;
  at: string;
  service: string;
  description: string;
  stage: VisitStage;
  actor?: Actor;
};

/** What the timeline needs of a consumed event. */
export type TimelineEvent = { id: string; type: string; time: string; source: string; data: unknown };

export function timelineStep(event: TimelineEvent, receptionId: number, stage: VisitStage): TimelineStep {
  const actor = (event.data as { actor?: Actor }).actor;
  return {
    eventId: event.id,
    receptionId,
    event: event.type,
    at: event.time,
    service: event.source.replace(/^\//, ''),
    description: describe(event),
    stage,
    ...(actor ? { actor } : {}),
  };
}

function describe(event: TimelineEvent): string {
  const type = event.type as EventType;
  const data = event.data;
  switch (type) {
    case 'ReceptionCompleted':
      return 'Registered at the reception desk';
    case 'ReceptionCancelled':
      return 'Reception cancelled';
    case 'ReceptionPatientMerged': {
      // Ids only: the patient's name stays in the view.
      const d = data as EventDataOf<'ReceptionPatientMerged'>;
      return `Patient records merged: now patient ${d.patientId} (was ${d.previousPatientId})`;
    }
    case 'ReceptionConfirmed':
      return `Outcome confirmed at the desk (${(data as EventDataOf<'ReceptionConfirmed'>).outcome === 'COMPLETED' ? 'diagnosis completed' : 'diagnosis rejected'})`;
    case 'DiagnosisRegistered':
      return `On the doctor's worklist (diagnosis ${(data as EventDataOf<'DiagnosisRegistered'>).diagnosisId})`;
    case 'ExaminationPrescribed':
      return `Examination prescribed: ${(data as EventDataOf<'ExaminationPrescribed'>).examinationType}`;
    case 'ExaminationRequested': {
      const d = data as EventDataOf<'ExaminationRequested'>;
      return `Examination ${d.examinationId} ordered: ${d.examinationType}`;
    }
    case 'ExaminationPerformed':
      return `Examination ${(data as EventDataOf<'ExaminationPerformed'>).examinationId} performed`;
    case 'ExaminationCancelled':
      return `Examination ${(data as EventDataOf<'ExaminationCancelled'>).examinationId} cancelled`;
    case 'DiagnosisCompleted':
      return `Diagnosis ${(data as EventDataOf<'DiagnosisCompleted'>).diagnosisId} completed`;
    case 'DiagnosisRejected':
      return `Diagnosis ${(data as EventDataOf<'DiagnosisRejected'>).diagnosisId} rejected`;
    case 'DiagnosisCancelled':
      return `Diagnosis ${(data as EventDataOf<'DiagnosisCancelled'>).diagnosisId} cancelled`;
    case 'BreakGlassAccessed':
      // Who did it is the step's actor; the reason stays in the diagnosis service's audit trail.
      return `Diagnosis ${(data as EventDataOf<'BreakGlassAccessed'>).diagnosisId} opened in an emergency by someone outside its department (break-glass)`;
    case 'PatientCalled':
      return describeCall(data as EventDataOf<'PatientCalled'>);
    case 'PatientNoShow': {
      const d = data as EventDataOf<'PatientNoShow'>;
      if (d.calledFor === 'DIAGNOSIS') return 'Did not come when called by the doctor';
      return `Did not come when called for ${d.examinationId !== undefined ? `examination ${d.examinationId}` : 'an examination'}`;
    }
    default:
      return event.type; // a newer producer's event type: named as it is
  }
}

/** "Called to room 3 by the doctor", "Recalled (2nd call) for the examination CHEST_XRAY to room CT-1": the room and the code, never why. */
function describeCall(d: EventDataOf<'PatientCalled'>): string {
  const called = d.callCount > 1 ? `Recalled (${ordinal(d.callCount)} call)` : 'Called';
  const room = d.room !== undefined ? ` to room ${d.room}` : '';
  if (d.calledFor === 'DIAGNOSIS') return `${called}${room} by the doctor`;
  const what = d.examinationType ?? (d.examinationId !== undefined ? String(d.examinationId) : undefined);
  return `${called} for ${what !== undefined ? `the examination ${what}` : 'an examination'}${room}`;
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}
