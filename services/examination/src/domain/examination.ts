import { fitClinicalText, type EventOf, type ExaminationStatus } from '@medical/contracts';
import { accept as acceptEvents, compact, refuse as refuseWith, type Decision, type Refusal, type Decider } from '@medical/platform';

/**
 * The examination decider (DESIGN.md section 5). An examination is ordered by a prescription,
 * then performed or cancelled by the examiner, or cancelled automatically (compensation) when
 * its diagnosis is rejected or its reception cancelled while it is still pending. While it is
 * pending the examiner calls the patient in, in the waiting room of the examination's department
 * (PatientCalled), again if need be, and marks a called patient who did not come (PatientNoShow).
 */

export type Examination = {
  id: number;
  prescriptionId: string;
  diagnosisId: number;
  receptionId: number;
  patientId: string;
  patientName: string;
  examinationType: string;
  instructions?: string;
  status: ExaminationStatus;
  result?: string;
  performedAt?: string;
  cancelReason?: string;
  /**
   * The department whose waiting room it is called in (waiting-room.ts); absent on an examination
   * ordered before waiting rooms, which the calls are given as they load it (app/commands.ts).
   */
  department?: string;
  /** The visit's department, whose queue `queueNumber` is of; absent for visits before queue numbers. */
  visitDepartment?: string;
  queueNumber?: number;
  /** How many times the examiners called the patient (0: not yet), the last call and its room. */
  callCount: number;
  calledAt?: string;
  room?: string;
  /** The called patient did not come: set by a no-show, cleared by the next call. */
  noShowAt?: string;
  createdAt: string;
  updatedAt: string;
};

export type State = Examination | null;

export type Command =
  | {
      type: 'RequestExamination';
      examinationId: number;
      prescriptionId: string;
      diagnosisId: number;
      receptionId: number;
      patientId: string;
      patientName: string;
      examinationType: string;
      instructions?: string;
      /**
       * Where it is called (waiting-room.ts), as examinationEffect always gives it; optional as the
       * examination's own is (an order of before waiting rooms has none).
       */
      department?: string;
      visitDepartment?: string;
      queueNumber?: number;
      /**
       * Set when the visit was already closed (its reception cancelled or its diagnosis rejected)
       * before this prescription arrived: a doctor can prescribe while the cancellation is still
       * on its way, and such an order must not stay pending forever.
       */
      closedBecause?: string;
      now: string;
    }
  | { type: 'PerformExamination'; result: string; now: string }
  | { type: 'CancelExamination'; reason?: string; now: string }
  | { type: 'CompensateExamination'; reason: string; now: string }
  /** The examiner calls the patient in (again: a recall), to `room` or to the room of the call before. */
  | { type: 'CallPatient'; room?: string; now: string }
  /** The called patient did not come: they leave the waiting room's screen until called again. */
  | { type: 'MarkNoShow'; now: string }
  /**
   * The visit's patient was merged into another in the reception's registry
   * (ReceptionPatientMerged): the examination is now that patient's.
   */
  | { type: 'MovePatient'; patientId: string; patientName: string; now: string };

/** Every event carries `at`, the `now` of the command that produced it, so evolve stays pure. */
type Stamped<E> = E & { at: string };

export type PublishedEvent = Stamped<
  | EventOf<'ExaminationRequested'>
  | EventOf<'ExaminationPerformed'>
  | EventOf<'ExaminationCancelled'>
  | EventOf<'PatientCalled'>
  | EventOf<'PatientNoShow'>
>;

/**
 * Never published. ExaminationRequested tells the other services only what they need (no patient
 * data, no instructions), so the order itself is a separate internal fact that evolve builds from.
 * PatientMoved: the reception already published the merge (ReceptionPatientMerged) to every service.
 */
export type InternalEvent = Stamped<
  | {
      type: 'ExaminationOrderCreated';
      data: {
        examinationId: number;
        prescriptionId: string;
        diagnosisId: number;
        receptionId: number;
        patientId: string;
        patientName: string;
        examinationType: string;
        instructions?: string;
        department?: string;
        visitDepartment?: string;
        queueNumber?: number;
      };
    }
  | { type: 'PatientMoved'; data: { examinationId: number; patientId: string; patientName: string } }
>;

export type DomainEvent = PublishedEvent | InternalEvent;

export type { Decision, Refusal };

export const DEFAULT_CANCEL_REASON = 'Cancelled by examiner';

const publishedTypes: ReadonlySet<DomainEvent['type']> = new Set([
  'ExaminationRequested',
  'ExaminationPerformed',
  'ExaminationCancelled',
  'PatientCalled',
  'PatientNoShow',
]);

export function isPublished(e: DomainEvent): e is PublishedEvent {
  return publishedTypes.has(e.type);
}

const accept = (...events: DomainEvent[]): Decision<DomainEvent> => acceptEvents(...events);
const refuse = (kind: Refusal['kind'], message: string): Decision<DomainEvent> => refuseWith(kind, message);

export function decide(command: Command, state: State): Decision<DomainEvent> {
  if (command.type === 'RequestExamination') {
    const { type: _command, now, closedBecause, ...order } = command;
    if (state) {
      // Ordering is driven by ExaminationPrescribed: the same prescription again is a redelivery.
      if (state.prescriptionId === order.prescriptionId) return accept();
      return refuse('conflict', `examination ${state.id} already exists for prescription ${state.prescriptionId}`);
    }
    const { examinationId, prescriptionId, diagnosisId, receptionId, examinationType, department, visitDepartment, queueNumber } = order;
    const created: DomainEvent[] = [
      { type: 'ExaminationOrderCreated', data: compact(order), at: now },
      {
        type: 'ExaminationRequested',
        data: compact({ examinationId, prescriptionId, diagnosisId, receptionId, examinationType, department, visitDepartment, queueNumber }),
        at: now,
      },
    ];
    if (closedBecause === undefined) return accept(...created);
    const link = { examinationId, prescriptionId, diagnosisId, receptionId };
    return accept(...created, { type: 'ExaminationCancelled', data: { ...link, reason: fitClinicalText(closedBecause) }, at: now });
  }
  // Handlers answer 404 for unknown ids before deciding; this guards a wiring mistake.
  if (!state) return refuse('invalid', 'unknown examination');

  const link = {
    examinationId: state.id,
    prescriptionId: state.prescriptionId,
    diagnosisId: state.diagnosisId,
    receptionId: state.receptionId,
  };

  switch (command.type) {
    case 'PerformExamination':
      if (state.status !== 'REQUESTED') {
        return refuse('conflict', `examination ${state.id} is ${state.status}: only a REQUESTED examination can be performed`);
      }
      return accept({
        type: 'ExaminationPerformed',
        data: { ...link, result: command.result, performedAt: command.now },
        at: command.now,
      });

    case 'CancelExamination':
      if (state.status !== 'REQUESTED') {
        return refuse('conflict', `examination ${state.id} is ${state.status}: only a REQUESTED examination can be cancelled`);
      }
      return accept({
        type: 'ExaminationCancelled',
        data: { ...link, reason: command.reason ?? DEFAULT_CANCEL_REASON },
        at: command.now,
      });

    case 'CompensateExamination':
      // Automatic: an examination already performed or cancelled stays as it is.
      if (state.status !== 'REQUESTED') return accept();
      return accept({ type: 'ExaminationCancelled', data: { ...link, reason: fitClinicalText(command.reason) }, at: command.now });

    case 'MovePatient':
      return movePatient(command, state);
    case 'CallPatient':
    case 'MarkNoShow':
      return decideInQueue(command, state);
  }
}

type QueueCommand = Extract<Command, { type: 'CallPatient' | 'MarkNoShow' }>;
/** An examination in a waiting room: every one is, once loaded for a call (app/commands.ts). */
type Queued = Examination & { department: string };

/** A pending examination only: the patient of one performed or cancelled has nothing to come for. */
function decideInQueue(command: QueueCommand, state: Examination): Decision<DomainEvent> {
  if (state.status !== 'REQUESTED') {
    const action = command.type === 'CallPatient' ? 'called' : 'marked as not come';
    return refuse('conflict', `examination ${state.id} is ${state.status}: only the patient of a REQUESTED examination can be ${action}`);
  }
  const { department } = state;
  // The calls load an examination ordered before waiting rooms with the catalog's: this guards a wiring mistake.
  if (department === undefined) return refuse('invalid', `examination ${state.id} has no waiting room`);
  return command.type === 'CallPatient' ? callPatient(command, { ...state, department }) : markNoShow(command, { ...state, department });
}

/** The first call or a recall; a recall that names no room is to the room of the call before. */
function callPatient(command: Extract<QueueCommand, { type: 'CallPatient' }>, state: Queued): Decision<DomainEvent> {
  const { now } = command;
  const call = {
    examinationType: state.examinationType,
    visitDepartment: state.visitDepartment,
    room: command.room ?? state.room,
    callCount: state.callCount + 1,
    calledAt: now,
  };
  return accept({ type: 'PatientCalled', data: compact({ ...inQueue(state), ...call }), at: now });
}

/** Once per call: a patient not called, or already marked since the last call, cannot be marked again. */
function markNoShow(command: Extract<QueueCommand, { type: 'MarkNoShow' }>, state: Queued): Decision<DomainEvent> {
  if (state.calledAt === undefined) {
    return refuse('conflict', `the patient of examination ${state.id} has not been called: call them before marking that they did not come`);
  }
  if (state.noShowAt !== undefined) {
    return refuse('conflict', `the patient of examination ${state.id} was already marked as not come at ${state.noShowAt}: call them again first`);
  }
  return accept({ type: 'PatientNoShow', data: compact({ ...inQueue(state), markedAt: command.now }), at: command.now });
}

/** What a call and a no-show of the examiners' carry: the visit, the examination, the waiting room and the number. */
function inQueue(state: Queued) {
  return {
    receptionId: state.receptionId,
    calledFor: 'EXAMINATION' as const,
    examinationId: state.id,
    diagnosisId: state.diagnosisId,
    department: state.department,
    queueNumber: state.queueNumber,
  };
}

/** In every status: a performed or cancelled examination is as much the patient's history as a pending one. */
function movePatient(command: Extract<Command, { type: 'MovePatient' }>, state: Examination): Decision<DomainEvent> {
  const { patientId, patientName, now } = command;
  // ReceptionPatientMerged again: the examination is already the new patient's.
  if (state.patientId === patientId) return accept();
  return accept({ type: 'PatientMoved', data: { examinationId: state.id, patientId, patientName }, at: now });
}

export function evolve(state: State, event: DomainEvent): State {
  if (event.type === 'ExaminationOrderCreated') {
    const { examinationId, ...order } = event.data;
    return { id: examinationId, ...order, status: 'REQUESTED', callCount: 0, createdAt: event.at, updatedAt: event.at };
  }
  if (!state) throw new Error(`cannot apply ${event.type} to an examination that does not exist`);

  switch (event.type) {
    case 'ExaminationRequested':
      // The notification of the order just created: nothing new for the state.
      return state;
    case 'ExaminationPerformed':
      return { ...state, status: 'PERFORMED', result: event.data.result, performedAt: event.data.performedAt, updatedAt: event.at };
    case 'ExaminationCancelled':
      return { ...state, status: 'CANCELLED', cancelReason: event.data.reason, updatedAt: event.at };
    case 'PatientMoved':
      return { ...state, patientId: event.data.patientId, patientName: event.data.patientName, updatedAt: event.at };
    case 'PatientCalled': {
      const { noShowAt: _cleared, ...called } = state;
      const { department, callCount, calledAt, room } = event.data;
      // The department is kept: an examination ordered before waiting rooms keeps the one it was called in.
      return compact({ ...called, department, callCount, calledAt, room, updatedAt: event.at });
    }
    case 'PatientNoShow':
      return { ...state, noShowAt: event.data.markedAt, updatedAt: event.at };
  }
}

/**
 * Why an examination takes no new attachment, if it does not. REQUESTED (the images come before
 * the result is written) and PERFORMED (the signed report comes after) take them; a CANCELLED
 * examination was never done, so a report or an image filed on it belongs to another order: a
 * 409, as for any command the examination's state refuses. Its earlier attachments stay readable.
 * Attaching changes no state and emits no event (the event contract of DESIGN.md is fixed).
 */
export function attachmentRefusal(state: Examination): string | undefined {
  return state.status === 'CANCELLED' ? `examination ${state.id} is CANCELLED: attachments can be added to a REQUESTED or PERFORMED examination only` : undefined;
}

/** The examination decider as one value (decide, evolve, the state before the first event): what the command pipeline runs. */
export const examinationDecider: Decider<Examination, Command, DomainEvent> = { decide, evolve, initialState: () => null };
