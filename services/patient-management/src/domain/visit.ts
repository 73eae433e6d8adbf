import type {
  DiagnosisStatus,
  EventDataOf,
  EventType,
  PrescriptionStatus,
  ReceptionStatus,
  VisitStage,
} from '@medical/contracts';
import { visitStageOf } from '@medical/contracts';

/**
 * The visit view (CQRS read model): one row per reception, folded from every integration event.
 * It mirrors the state machines of the reception and diagnosis services (DESIGN.md section 5),
 * so that the view converges on their state whatever the interleaving of their events, and every
 * update is idempotent: a redelivered event leaves the visit exactly as it was.
 */

export type VisitExamination = {
  prescriptionId: string;
  examinationId?: number;
  examinationType: string;
  status: PrescriptionStatus;
  result?: string;
  /** When it was prescribed: the start of its wait (contracts waitStages). */
  prescribedAt?: string;
  /** The department whose waiting room it is called in: the examiners' word, else the catalog's, else the visit's. */
  department?: string;
};

export type Visit = {
  receptionId: number;
  patientId: string;
  patientName: string;
  receptionStatus: ReceptionStatus;
  diagnosisId?: number;
  diagnosisStatus?: DiagnosisStatus;
  examinations: VisitExamination[];
  stage: VisitStage;
  /** The visit's department (a code: the projection reads old free text as the catalog says) and its queue number on `queueDay`. */
  department?: string;
  queueNumber?: number;
  queueDay?: string;
  /**
   * The moments the waits of a visit are measured between (contracts waitStages), by the events'
   * own times: registered, first called by the doctor, the last pending examination ended, and
   * the diagnosis completed or rejected. Not part of the API's visit.
   */
  receivedAt?: string;
  firstCalledAt?: string;
  examinationsEndedAt?: string;
  concludedAt?: string;
  createdAt: string;
  updatedAt: string;
};

/**
 * What the projection needs of a consumed event: its type, its validated data and its time. The
 * data of a ReceptionCompleted comes with its `department` as a code, and of an
 * ExaminationPrescribed with the catalog's performing `department` when it has one (app/projection.ts).
 */
export type ProjectedEvent = { type: string; data: unknown; time: string };

/** When an event happened: its data's own time where it has one, else the envelope's. */
export function occurredAt(event: ProjectedEvent): string {
  const data = event.data as { receivedAt?: unknown; calledAt?: unknown; performedAt?: unknown; markedAt?: unknown; mergedAt?: unknown; accessedAt?: unknown };
  const own = data.receivedAt ?? data.calledAt ?? data.performedAt ?? data.markedAt ?? data.mergedAt ?? data.accessedAt;
  return typeof own === 'string' ? own : event.time;
}

/** The visit's stage from its statuses: the contracts' derivation, which interop's Encounter follows too. */
export const deriveStage = visitStageOf;

export function project(visit: Visit | null, event: ProjectedEvent): Visit | null {
  if (event.type === 'ReceptionCompleted') {
    if (visit) return visit; // redelivery
    const d = event.data as EventDataOf<'ReceptionCompleted'>;
    const created: Omit<Visit, 'stage'> = {
      receptionId: d.receptionId,
      patientId: d.patientId,
      patientName: d.patientName,
      receptionStatus: 'RECEIVED',
      examinations: [],
      ...(d.department !== undefined ? { department: d.department } : {}),
      ...(d.queueNumber !== undefined ? { queueNumber: d.queueNumber } : {}),
      ...(d.queueDay !== undefined ? { queueDay: d.queueDay } : {}),
      receivedAt: d.receivedAt,
      createdAt: event.time,
      updatedAt: event.time,
    };
    return { ...created, stage: deriveStage(created) };
  }
  // Events of one visit share a partition, so this only happens for a visit this view never saw.
  if (!visit) return null;

  const next = apply(visit, event);
  if (next === visit) return visit;
  return { ...next, stage: deriveStage(next), updatedAt: later(visit.updatedAt, event.time) };
}

/** Applies one event; returns the same object when the event changes nothing (a redelivery or an unknown type). */
function apply(visit: Visit, event: ProjectedEvent): Visit {
  const type = event.type as EventType;
  switch (type) {
    case 'ReceptionCompleted':
      return visit;
    case 'ReceptionCancelled':
      // Unconditional: the reception refuses cancel after an outcome, so if the view shows one, the
      // outcome reached the view before the cancellation but the reception after it.
      return set(visit, { receptionStatus: 'CANCELLED' });
    case 'ReceptionConfirmed':
      return set(visit, { receptionStatus: 'CONFIRMED' });
    case 'ReceptionPatientMerged': {
      // The visit's patient was merged into another in the registry: the visit is now that patient's.
      const d = event.data as EventDataOf<'ReceptionPatientMerged'>;
      return set(visit, { patientId: d.patientId, patientName: d.patientName });
    }
    case 'DiagnosisRegistered':
      return registerDiagnosis(visit, event.data as EventDataOf<'DiagnosisRegistered'>);
    case 'ExaminationPrescribed':
      return addExamination(visit, event.data as EventDataOf<'ExaminationPrescribed'> & { department?: string }, event.time);
    case 'ExaminationRequested':
      return linkExamination(visit, event.data as EventDataOf<'ExaminationRequested'>);
    case 'ExaminationPerformed': {
      const d = event.data as EventDataOf<'ExaminationPerformed'>;
      return endExamination(visit, d, { status: 'PERFORMED', result: d.result }, d.performedAt);
    }
    case 'ExaminationCancelled':
      return endExamination(visit, event.data as EventDataOf<'ExaminationCancelled'>, { status: 'CANCELLED' }, event.time);
    case 'DiagnosisCompleted':
      return endDiagnosis(visit, event.data as EventDataOf<'DiagnosisCompleted'>, 'COMPLETED', event.time);
    case 'DiagnosisRejected':
      return endDiagnosis(visit, event.data as EventDataOf<'DiagnosisRejected'>, 'REJECTED', event.time);
    case 'DiagnosisCancelled': {
      const d = event.data as EventDataOf<'DiagnosisCancelled'>;
      return set(visit, { diagnosisId: d.diagnosisId, diagnosisStatus: 'CANCELLED' });
    }
    case 'BreakGlassAccessed':
      // Someone opened the record outside their department: a step of the timeline, no change of the visit.
      return visit;
    case 'PatientCalled': {
      // The waiting room keeps the calls (domain/queue-entries.ts); the visit keeps its first call by the doctor.
      const d = event.data as EventDataOf<'PatientCalled'>;
      return d.calledFor === 'DIAGNOSIS' && visit.firstCalledAt === undefined ? set(visit, { firstCalledAt: d.calledAt }) : visit;
    }
    case 'PatientNoShow':
      return visit;
    default:
      return visit; // an event type this view does not know (a newer producer): ignore it
  }
}

/** A diagnosis status already in the view is newer than the registration (a redelivery, or events that overtook it): it stays. */
function registerDiagnosis(visit: Visit, d: EventDataOf<'DiagnosisRegistered'>): Visit {
  if (visit.diagnosisStatus !== undefined) return set(visit, { diagnosisId: d.diagnosisId });
  return set(visit, { diagnosisId: d.diagnosisId, diagnosisStatus: 'REGISTERED' });
}

function addExamination(visit: Visit, d: EventDataOf<'ExaminationPrescribed'> & { department?: string }, at: string): Visit {
  if (visit.examinations.some((e) => e.prescriptionId === d.prescriptionId)) return visit;
  const department = d.department ?? visit.department;
  const added: VisitExamination = {
    prescriptionId: d.prescriptionId,
    examinationType: d.examinationType,
    status: 'REQUESTED',
    prescribedAt: at,
    ...(department !== undefined ? { department } : {}),
  };
  return withExaminations(set(visit, { diagnosisId: d.diagnosisId }), [...visit.examinations, added]);
}

/** The examination ordered: its id, and the waiting room the examiners call it in, when they say. */
function linkExamination(visit: Visit, d: EventDataOf<'ExaminationRequested'>): Visit {
  return updateExamination(visit, d.prescriptionId, (e) =>
    e.examinationId === undefined ? { examinationId: d.examinationId, ...(d.department !== undefined ? { department: d.department } : {}) } : {},
  );
}

/**
 * Like the diagnosis service: an examination ends once, later reports are redeliveries, and a
 * report from another examination than the one linked to the prescription is not recorded.
 */
function endExamination(
  visit: Visit,
  { prescriptionId, examinationId }: { prescriptionId: string; examinationId: number },
  outcome: { status: 'PERFORMED'; result: string } | { status: 'CANCELLED' },
  at: string,
): Visit {
  const next = updateExamination(visit, prescriptionId, (e) =>
    e.status === 'REQUESTED' && isLinkedTo(e, examinationId) ? { examinationId, ...outcome } : {},
  );
  // The last one pending has ended: the patient goes back to the doctor from this moment.
  return next !== visit && !next.examinations.some((e) => e.status === 'REQUESTED') ? { ...next, examinationsEndedAt: at } : next;
}

function endDiagnosis(visit: Visit, d: { diagnosisId: number }, outcome: 'COMPLETED' | 'REJECTED', at: string): Visit {
  // Like the reception service: the outcome moves only a RECEIVED reception (DESIGN 5).
  const receptionStatus: ReceptionStatus =
    visit.receptionStatus === 'RECEIVED' ? (outcome === 'COMPLETED' ? 'DIAGNOSIS_COMPLETED' : 'DIAGNOSIS_REJECTED') : visit.receptionStatus;
  return set(visit, { diagnosisId: d.diagnosisId, diagnosisStatus: outcome, receptionStatus, concludedAt: visit.concludedAt ?? at });
}

/** A prescription belongs to one examination: the first one reported stays (the diagnosis service refuses the others). */
function isLinkedTo(e: VisitExamination, examinationId: number): boolean {
  return e.examinationId === undefined || e.examinationId === examinationId;
}

/** Applies a change; returns the same visit when every field already has its value. */
function set(visit: Visit, change: Partial<Visit>): Visit {
  const changed = (Object.keys(change) as Array<keyof Visit>).some((k) => change[k] !== visit[k]);
  return changed ? { ...visit, ...change } : visit;
}

function updateExamination(
  visit: Visit,
  prescriptionId: string,
  change: (e: VisitExamination) => Partial<VisitExamination>,
): Visit {
  const index = visit.examinations.findIndex((e) => e.prescriptionId === prescriptionId);
  const current = visit.examinations[index];
  if (!current) return visit; // a prescription this view never saw
  const patch = change(current);
  const changed = (Object.keys(patch) as Array<keyof VisitExamination>).some((k) => patch[k] !== current[k]);
  if (!changed) return visit;
  return withExaminations(visit, visit.examinations.with(index, { ...current, ...patch }));
}

const terminalDiagnosis: ReadonlySet<DiagnosisStatus | undefined> = new Set(['COMPLETED', 'REJECTED', 'CANCELLED']);

/**
 * Mirrors the diagnosis service: before a terminal state its status is a function of the
 * prescriptions (none, some pending, all done), so the view converges on it in any order.
 */
function withExaminations(visit: Visit, examinations: VisitExamination[]): Visit {
  if (terminalDiagnosis.has(visit.diagnosisStatus)) return { ...visit, examinations };
  const diagnosisStatus: DiagnosisStatus =
    examinations.length === 0
      ? 'REGISTERED'
      : examinations.some((e) => e.status === 'REQUESTED')
        ? 'EXAMINATION_PRESCRIBED'
        : 'EXAMINATION_DONE';
  return { ...visit, examinations, diagnosisStatus };
}

/** The later of two ISO timestamps, so that a late redelivery never moves updatedAt backwards. */
function later(a: string, b: string): string {
  return Date.parse(b) > Date.parse(a) ? b : a;
}
