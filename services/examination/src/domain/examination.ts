import { fitClinicalText, type EventOf, type ExaminationStatus } from '@medical/contracts';
import { accept as acceptEvents, compact, refuse as refuseWith, type Decision, type Refusal, type Decider } from '@medical/platform';

/**
 * The examination decider (DESIGN.md section 5). An examination is ordered by a prescription,
 * then performed or cancelled by the examiner, or cancelled automatically (compensation) when
 * its diagnosis is rejected or its reception cancelled while it is still pending.
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
  /**
   * The visit's patient was merged into another in the reception's registry
   * (ReceptionPatientMerged): the examination is now that patient's.
   */
  | { type: 'MovePatient'; patientId: string; patientName: string; now: string };

/** Every event carries `at`, the `now` of the command that produced it, so evolve stays pure. */
type Stamped<E> = E & { at: string };

export type PublishedEvent = Stamped<
  EventOf<'ExaminationRequested'> | EventOf<'ExaminationPerformed'> | EventOf<'ExaminationCancelled'>
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
    const { examinationId, prescriptionId, diagnosisId, receptionId, examinationType } = order;
    const created: DomainEvent[] = [
      { type: 'ExaminationOrderCreated', data: compact(order), at: now },
      {
        type: 'ExaminationRequested',
        data: { examinationId, prescriptionId, diagnosisId, receptionId, examinationType },
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
  }
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
    return { id: examinationId, ...order, status: 'REQUESTED', createdAt: event.at, updatedAt: event.at };
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
