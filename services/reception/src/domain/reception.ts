import type { EventOf, PatientSex, ReceptionStatus } from '@medical/contracts';
import { accept as acceptEvents, compact, refuse as refuseWith, type Decision, type Refusal, type Decider } from '@medical/platform';

/**
 * The reception decider (DESIGN.md section 5): a pure function from a command and the current
 * state to the events that happened, and a pure fold of those events back into state. Time and
 * ids arrive on the commands so that the same inputs always give the same decision.
 */

export type DiagnosisOutcome = 'COMPLETED' | 'REJECTED';

export type Reception = {
  id: number;
  patientId: string;
  patientName: string;
  birthDate?: string;
  department?: string;
  symptom?: string;
  status: ReceptionStatus;
  receivedAt: string;
  cancelReason?: string;
  diagnosisId?: number;
  diagnosisOutcome?: DiagnosisOutcome;
  diagnosisOpinion?: string;
  diagnosisRejectReason?: string;
  confirmedAt?: string;
  /** The visit's number in its department's queue on `queueDay`; none on a visit registered before queue numbers. */
  queueNumber?: number;
  queueDay?: string;
  /** The token of the patient's ticket link: the reception's answer shows it, no event carries it. */
  ticket?: string;
  createdAt: string;
  updatedAt: string;
};

export type State = Reception | null;

export type Command =
  | {
      type: 'RegisterReception';
      receptionId: number;
      patientId: string;
      patientName: string;
      birthDate?: string;
      /** The registry's sex of the patient, carried to the event for the other systems' records. */
      sex?: PatientSex;
      department: string;
      symptom?: string;
      /** The next number of the department's queue on `queueDay`, the hospital day of `now`, drawn in the registration's transaction. */
      queueNumber: number;
      queueDay: string;
      /** The ticket link's token (random, made in app/), and its SHA-256, which is what is published. */
      ticket: string;
      ticketDigest: string;
      now: string;
    }
  | { type: 'CancelReception'; reason?: string; now: string }
  | { type: 'ConfirmReception'; now: string }
  | { type: 'RecordDiagnosisCompleted'; diagnosisId: number; opinion: string; now: string }
  | { type: 'RecordDiagnosisRejected'; diagnosisId: number; reason: string; now: string }
  /** The visit's patient was merged into another in the registry: the visit is now that patient's. */
  | { type: 'MovePatient'; patientId: string; patientName: string; birthDate?: string; sex?: PatientSex; now: string };

/** Every event carries `at`, the `now` of the command that produced it, so evolve stays pure. */
type Stamped<E> = E & { at: string };

/**
 * ReceptionCompleted holds the ticket's token beside `at`, outside its `data`: the outbox publishes
 * only `data` (platform commitEvents), so evolve keeps the token on the reception and it never
 * leaves the service; `data` carries its digest.
 */
type ReceptionRegistered = Stamped<EventOf<'ReceptionCompleted'>> & { ticket: string };

export type PublishedEvent =
  | ReceptionRegistered
  | Stamped<EventOf<'ReceptionCancelled'> | EventOf<'ReceptionConfirmed'> | EventOf<'ReceptionPatientMerged'>>;

/** Never published: the diagnosis outcome is the diagnosis service's fact, the reception only records it. */
export type InternalEvent = Stamped<{
  type: 'DiagnosisOutcomeRecorded';
  data:
    | { receptionId: number; diagnosisId: number; outcome: 'COMPLETED'; opinion: string }
    | { receptionId: number; diagnosisId: number; outcome: 'REJECTED'; reason: string };
}>;

export type DomainEvent = PublishedEvent | InternalEvent;

export type { Decision, Refusal };

export const DEFAULT_CANCEL_REASON = 'Cancelled at reception';

const publishedTypes: ReadonlySet<DomainEvent['type']> = new Set([
  'ReceptionCompleted',
  'ReceptionCancelled',
  'ReceptionConfirmed',
  'ReceptionPatientMerged',
]);

export function isPublished(e: DomainEvent): e is PublishedEvent {
  return publishedTypes.has(e.type);
}

const accept = (...events: DomainEvent[]): Decision<DomainEvent> => acceptEvents(...events);
const refuse = (kind: Refusal['kind'], message: string): Decision<DomainEvent> => refuseWith(kind, message);

export function decide(command: Command, state: State): Decision<DomainEvent> {
  if (command.type === 'RegisterReception') {
    if (state) return refuse('conflict', `reception ${state.id} already exists`);
    const { receptionId, patientId, patientName, birthDate, sex, department, symptom, queueNumber, queueDay, ticket, ticketDigest, now } = command;
    return accept({
      type: 'ReceptionCompleted',
      data: compact({ receptionId, patientId, patientName, birthDate, sex, department, symptom, receivedAt: now, queueNumber, queueDay, ticketDigest }),
      ticket,
      at: now,
    });
  }
  // Handlers answer 404 for unknown ids before deciding; this guards a wiring mistake.
  if (!state) return refuse('invalid', 'unknown reception');

  switch (command.type) {
    case 'CancelReception':
      if (state.status !== 'RECEIVED') {
        return refuse('conflict', `reception ${state.id} is ${state.status}: only a RECEIVED reception can be cancelled`);
      }
      return accept({
        type: 'ReceptionCancelled',
        data: { receptionId: state.id, reason: command.reason ?? DEFAULT_CANCEL_REASON },
        at: command.now,
      });

    case 'ConfirmReception':
      // The desk confirms the doctor's outcome, so there must be one and the visit must still be open.
      if ((state.status !== 'DIAGNOSIS_COMPLETED' && state.status !== 'DIAGNOSIS_REJECTED') || !state.diagnosisOutcome) {
        return refuse('conflict', `reception ${state.id} is ${state.status}: only a diagnosed reception can be confirmed`);
      }
      return accept({
        type: 'ReceptionConfirmed',
        data: { receptionId: state.id, outcome: state.diagnosisOutcome },
        at: command.now,
      });

    case 'RecordDiagnosisCompleted':
    case 'RecordDiagnosisRejected':
      // A diagnosis ends once: a second outcome can only be a redelivery.
      if (state.diagnosisOutcome) return accept();
      return accept({
        type: 'DiagnosisOutcomeRecorded',
        data:
          command.type === 'RecordDiagnosisCompleted'
            ? { receptionId: state.id, diagnosisId: command.diagnosisId, outcome: 'COMPLETED', opinion: command.opinion }
            : { receptionId: state.id, diagnosisId: command.diagnosisId, outcome: 'REJECTED', reason: command.reason },
        at: command.now,
      });

    case 'MovePatient': {
      // Whatever the visit's status: a finished visit is as much the patient's history as an open one.
      if (state.patientId === command.patientId) return accept();
      const { patientId, patientName, birthDate, sex, now } = command;
      return accept({
        type: 'ReceptionPatientMerged',
        data: compact({ receptionId: state.id, patientId, patientName, birthDate, sex, previousPatientId: state.patientId, mergedAt: now }),
        at: now,
      });
    }
  }
}

export function evolve(state: State, event: DomainEvent): State {
  if (event.type === 'ReceptionCompleted') {
    // The sex travels for the other systems' records of the patient; the reception keeps the registry's number.
    const { receptionId, receivedAt, ticketDigest: _digest, sex: _sex, ...visit } = event.data;
    return { id: receptionId, ...visit, ticket: event.ticket, status: 'RECEIVED', receivedAt, createdAt: event.at, updatedAt: event.at };
  }
  if (!state) throw new Error(`cannot apply ${event.type} to a reception that does not exist`);
  const touched = { ...state, updatedAt: event.at };

  switch (event.type) {
    case 'ReceptionCancelled':
      return { ...touched, status: 'CANCELLED', cancelReason: event.data.reason };

    case 'ReceptionConfirmed':
      return { ...touched, status: 'CONFIRMED', confirmedAt: event.at };

    case 'ReceptionPatientMerged': {
      const { birthDate: _previous, ...kept } = touched;
      const { patientId, patientName, birthDate } = event.data;
      return { ...kept, patientId, patientName, ...(birthDate !== undefined ? { birthDate } : {}) };
    }

    case 'DiagnosisOutcomeRecorded': {
      const d = event.data;
      const recorded =
        d.outcome === 'COMPLETED'
          ? { diagnosisId: d.diagnosisId, diagnosisOutcome: d.outcome, diagnosisOpinion: d.opinion }
          : { diagnosisId: d.diagnosisId, diagnosisOutcome: d.outcome, diagnosisRejectReason: d.reason };
      // DESIGN 5: an outcome arriving after the desk cancelled is kept for the record, status unchanged.
      const status: ReceptionStatus =
        state.status === 'RECEIVED' ? (d.outcome === 'COMPLETED' ? 'DIAGNOSIS_COMPLETED' : 'DIAGNOSIS_REJECTED') : state.status;
      return { ...touched, ...recorded, status };
    }
  }
}

/** The reception decider as one value (decide, evolve, the state before the first event): what the command pipeline runs. */
export const receptionDecider: Decider<Reception, Command, DomainEvent> = { decide, evolve, initialState: () => null };
