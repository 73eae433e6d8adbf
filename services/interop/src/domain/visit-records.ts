import {
  visitStageOf,
  type Actor,
  type DiagnosisStatus,
  type EventDataOf,
  type EventType,
  type ReceptionStatus,
} from '@medical/contracts';
import type { EncounterRecord, PersonRecord, QueueState, ServiceRequestRecord, TaskRecord } from '../fhir/records.ts';

/**
 * The FHIR projection of one visit, folded from its events alone (the pure half of
 * app/projection.ts): the Encounter's record, with the reception's and the diagnosis's statuses its
 * stage is derived from, and the records of its prescriptions (ServiceRequest) and examinations
 * (Task). Every event of a visit is keyed by the visit, so they arrive in order; each update is
 * idempotent all the same, so a redelivered event leaves the records as they were.
 */
export type VisitRecords = {
  encounter: EncounterRecord;
  receptionStatus: ReceptionStatus;
  diagnosisId?: number;
  diagnosisStatus?: DiagnosisStatus;
  requests: ServiceRequestRecord[];
  tasks: TaskRecord[];
};

/**
 * What the projection reads of an event: its type, its validated data (a registration's department
 * as the catalog's code, app/projection.ts) and the envelope's time.
 */
export type ProjectedEvent = { type: string; data: unknown; time: string };

/** The person who did it, as a FHIR participant or requester: never the system acting by itself. */
export function personOf(actor: Actor | undefined): PersonRecord | undefined {
  if (actor === undefined || actor.role === 'system' || actor.role === 'anonymous') return undefined;
  return actor.name === undefined ? { subject: actor.subject } : { subject: actor.subject, name: actor.name };
}

/** The visit a ReceptionCompleted opens: it has arrived, and nothing else has happened yet. */
export function openVisit(data: EventDataOf<'ReceptionCompleted'>, time: string): VisitRecords {
  const encounter: EncounterRecord = {
    receptionId: data.receptionId,
    patientId: data.patientId,
    stage: 'RECEIVED',
    receivedAt: data.receivedAt,
    updatedAt: time,
  };
  if (data.department !== undefined) encounter.department = data.department;
  if (data.queueNumber !== undefined) encounter.queueNumber = data.queueNumber;
  if (data.queueDay !== undefined) encounter.queueDay = data.queueDay;
  return { encounter, receptionStatus: 'RECEIVED', requests: [], tasks: [] };
}

/**
 * The visit after one of its events: the same object when the event changes nothing (a
 * redelivery, a type the FHIR resources do not show), so the caller saves and announces only
 * what changed. A ReceptionCompleted opens the visit (openVisit).
 */
export function projectVisit(visit: VisitRecords, event: ProjectedEvent): VisitRecords {
  const next = apply(visit, event);
  if (next === visit) return visit;
  const stage = visitStageOf({ ...next, examinations: next.requests });
  const encounter = stage === next.encounter.stage ? next.encounter : { ...next.encounter, stage, updatedAt: event.time };
  return { ...next, encounter };
}

function apply(visit: VisitRecords, event: ProjectedEvent): VisitRecords {
  const at = event.time;
  switch (event.type as EventType) {
    case 'ReceptionCancelled':
      return withReception(visit, 'CANCELLED', at, true);
    case 'ReceptionConfirmed':
      return withReception(visit, 'CONFIRMED', at, false);
    case 'ReceptionPatientMerged':
      return mergePatient(visit, event.data as EventDataOf<'ReceptionPatientMerged'>, at);
    case 'DiagnosisRegistered': {
      const d = event.data as EventDataOf<'DiagnosisRegistered'>;
      if (visit.diagnosisId !== undefined) return visit;
      return { ...visit, diagnosisId: d.diagnosisId, diagnosisStatus: visit.diagnosisStatus ?? 'REGISTERED' };
    }
    case 'PatientCalled':
      return called(visit, event.data as EventDataOf<'PatientCalled'>, at);
    case 'PatientNoShow': {
      const d = event.data as EventDataOf<'PatientNoShow'>;
      return d.calledFor === 'EXAMINATION' && d.examinationId !== undefined ? withQueueState(visit, d.examinationId, 'NO_SHOW', at) : visit;
    }
    case 'ExaminationPrescribed':
      return prescribed(visit, event.data as EventDataOf<'ExaminationPrescribed'>, at);
    case 'ExaminationRequested':
      return requested(visit, event.data as EventDataOf<'ExaminationRequested'>, at);
    case 'ExaminationPerformed': {
      const d = event.data as EventDataOf<'ExaminationPerformed'>;
      return ended(visit, d, { status: 'PERFORMED', result: d.result, performedAt: d.performedAt }, at);
    }
    case 'ExaminationCancelled': {
      const d = event.data as EventDataOf<'ExaminationCancelled'>;
      return ended(visit, d, { status: 'CANCELLED', cancelReason: d.reason }, at);
    }
    case 'DiagnosisCompleted':
      return concluded(visit, event.data as EventDataOf<'DiagnosisCompleted'>, 'COMPLETED', at);
    case 'DiagnosisRejected':
      return concluded(visit, event.data as EventDataOf<'DiagnosisRejected'>, 'REJECTED', at);
    case 'DiagnosisCancelled':
      return visit.diagnosisStatus === 'CANCELLED' ? visit : { ...visit, diagnosisStatus: 'CANCELLED' };
    default:
      return visit;
  }
}

/** The desk cancelled (the visit ends now) or confirmed the outcome (it ended when the doctor concluded). */
function withReception(visit: VisitRecords, status: 'CANCELLED' | 'CONFIRMED', at: string, ends: boolean): VisitRecords {
  if (visit.receptionStatus === status) return visit;
  const encounter = ends && visit.encounter.endedAt === undefined ? { ...visit.encounter, endedAt: at, updatedAt: at } : visit.encounter;
  return { ...visit, receptionStatus: status, encounter };
}

/** The visit is now the kept patient's: the encounter and everything ordered in it. */
function mergePatient(visit: VisitRecords, d: EventDataOf<'ReceptionPatientMerged'>, at: string): VisitRecords {
  if (visit.encounter.patientId === d.patientId) return visit;
  return {
    ...visit,
    encounter: { ...visit.encounter, patientId: d.patientId, updatedAt: at },
    requests: visit.requests.map((r) => ({ ...r, patientId: d.patientId, updatedAt: at })),
    tasks: visit.tasks.map((t) => ({ ...t, patientId: d.patientId, updatedAt: at })),
  };
}

/** The doctor's first call begins the consultation; an examiner's call puts the examination in progress. */
function called(visit: VisitRecords, d: EventDataOf<'PatientCalled'>, at: string): VisitRecords {
  if (d.calledFor === 'EXAMINATION') return d.examinationId === undefined ? visit : withQueueState(visit, d.examinationId, 'CALLED', at);
  if (visit.encounter.calledAt !== undefined) return visit;
  const doctor = visit.encounter.doctor ?? personOf(d.actor);
  return { ...visit, encounter: { ...visit.encounter, calledAt: d.calledAt, ...(doctor ? { doctor } : {}), updatedAt: at } };
}

function withQueueState(visit: VisitRecords, examinationId: number, queueState: QueueState, at: string): VisitRecords {
  return updateTask(visit, examinationId, (t) => (t.status === 'REQUESTED' && t.queueState !== queueState ? { queueState, updatedAt: at } : {}));
}

function prescribed(visit: VisitRecords, d: EventDataOf<'ExaminationPrescribed'>, at: string): VisitRecords {
  if (visit.requests.some((r) => r.prescriptionId === d.prescriptionId)) return visit;
  const doctor = personOf(d.actor);
  const request: ServiceRequestRecord = {
    prescriptionId: d.prescriptionId,
    receptionId: d.receptionId,
    patientId: visit.encounter.patientId,
    examinationType: d.examinationType,
    status: 'REQUESTED',
    prescribedAt: at,
    updatedAt: at,
    ...(d.instructions !== undefined ? { instructions: d.instructions } : {}),
    ...(doctor ? { doctor } : {}),
  };
  const encounterDoctor = visit.encounter.doctor ?? doctor;
  const encounter = encounterDoctor === visit.encounter.doctor ? visit.encounter : { ...visit.encounter, doctor: encounterDoctor!, updatedAt: at };
  return { ...visit, diagnosisId: visit.diagnosisId ?? d.diagnosisId, encounter, requests: [...visit.requests, request] };
}

function requested(visit: VisitRecords, d: EventDataOf<'ExaminationRequested'>, at: string): VisitRecords {
  if (visit.tasks.some((t) => t.examinationId === d.examinationId)) return visit;
  const task: TaskRecord = {
    examinationId: d.examinationId,
    prescriptionId: d.prescriptionId,
    receptionId: d.receptionId,
    patientId: visit.encounter.patientId,
    examinationType: d.examinationType,
    status: 'REQUESTED',
    queueState: 'WAITING',
    requestedAt: at,
    attachments: [],
    updatedAt: at,
    ...(d.department !== undefined ? { department: d.department } : {}),
  };
  return { ...visit, tasks: [...visit.tasks, task] };
}

type Outcome = { status: 'PERFORMED'; result: string; performedAt: string } | { status: 'CANCELLED'; cancelReason: string };

/** An examination ends once: its Task and the ServiceRequest it fulfils, both. Later reports are redeliveries. */
function ended(visit: VisitRecords, d: { examinationId: number; prescriptionId: string }, outcome: Outcome, at: string): VisitRecords {
  const withTask = updateTask(visit, d.examinationId, (t) => (t.status === 'REQUESTED' ? { ...outcome, updatedAt: at } : {}));
  if (withTask === visit) return visit;
  const requests = visit.requests.map((r) => (r.prescriptionId === d.prescriptionId && r.status === 'REQUESTED' ? { ...r, status: outcome.status, updatedAt: at } : r));
  return { ...withTask, requests };
}

function concluded(visit: VisitRecords, d: { diagnosisId: number; actor?: Actor | undefined }, outcome: 'COMPLETED' | 'REJECTED', at: string): VisitRecords {
  if (visit.diagnosisStatus === outcome) return visit;
  const doctor = visit.encounter.doctor ?? personOf(d.actor);
  const encounter: EncounterRecord = { ...visit.encounter, endedAt: visit.encounter.endedAt ?? at, updatedAt: at, ...(doctor ? { doctor } : {}) };
  return { ...visit, diagnosisId: visit.diagnosisId ?? d.diagnosisId, diagnosisStatus: outcome, encounter };
}

function updateTask(visit: VisitRecords, examinationId: number, change: (t: TaskRecord) => Partial<TaskRecord>): VisitRecords {
  const index = visit.tasks.findIndex((t) => t.examinationId === examinationId);
  const current = visit.tasks[index];
  if (current === undefined) return visit;
  const patch = change(current);
  if (Object.keys(patch).length === 0) return visit;
  return { ...visit, tasks: visit.tasks.with(index, { ...current, ...patch }) };
}
