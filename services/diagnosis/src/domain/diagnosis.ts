import { fitClinicalText, type DiagnosisStatus, type EventOf, type PrescriptionStatus } from '@medical/contracts';
import { accept as acceptEvents, compact, refuse as refuseWith, type Decision, type Refusal, type Decider } from '@medical/platform';
import { departmentOf } from './departments.ts';

/**
 * The diagnosis decider (DESIGN.md section 5). A diagnosis is opened when its reception
 * completes, collects prescriptions whose examinations report back through events, and ends
 * COMPLETED or REJECTED by the doctor, or CANCELLED when its reception is cancelled. It belongs to
 * the department of its visit; a doctor outside that department opens or acts on it only by
 * breaking the glass, which the decision records as BreakGlassAccessed (departments.ts says who
 * may; the handlers decide whether a request breaks the glass before they send the command).
 * While it is open the doctor calls the patient in (PatientCalled), again after the examinations
 * (a recall), and marks a called patient who did not come (PatientNoShow).
 */

export type Prescription = {
  prescriptionId: string;
  examinationType: string;
  instructions?: string;
  status: PrescriptionStatus;
  examinationId?: number;
  result?: string;
  cancelReason?: string;
  prescribedAt: string;
};

export type Diagnosis = {
  id: number;
  receptionId: number;
  patientId: string;
  patientName: string;
  /** A department code; absent on a diagnosis registered before departments (the default department's). */
  department?: string;
  status: DiagnosisStatus;
  opinion?: string;
  rejectReason?: string;
  cancelReason?: string;
  prescriptions: Prescription[];
  /** The visit's number in its department's queue (ReceptionCompleted); absent for a visit registered before queue numbers. */
  queueNumber?: number;
  /** How many times the doctor called the patient (0: not yet), the last call and its room. */
  callCount: number;
  calledAt?: string;
  room?: string;
  /** The called patient did not come: set by a no-show, cleared by the next call. */
  noShowAt?: string;
  createdAt: string;
  updatedAt: string;
};

export type State = Diagnosis | null;

/** A doctor acting on a diagnosis outside their departments, in an emergency: the reason they gave. */
export type BreakGlass = { reason: string };

export type Command =
  | {
      type: 'RegisterDiagnosis';
      diagnosisId: number;
      receptionId: number;
      patientId: string;
      patientName: string;
      department: string;
      queueNumber?: number;
      now: string;
    }
  | { type: 'PrescribeExamination'; prescriptionId: string; examinationType: string; instructions?: string; breakGlass?: BreakGlass; now: string }
  | { type: 'RecordExaminationRequested'; examinationId: number; prescriptionId: string; now: string }
  | { type: 'RecordExaminationPerformed'; examinationId: number; prescriptionId: string; result: string; now: string }
  | { type: 'RecordExaminationCancelled'; examinationId: number; prescriptionId: string; reason: string; now: string }
  | { type: 'CompleteDiagnosis'; opinion: string; breakGlass?: BreakGlass; now: string }
  | { type: 'RejectDiagnosis'; reason: string; breakGlass?: BreakGlass; now: string }
  | { type: 'CancelDiagnosis'; reason: string; now: string }
  /**
   * The doctor calls the patient in (again: a recall), to `room` or to the room of the call before.
   * `defaultDepartment`: the hospital's, whose waiting room a diagnosis registered before
   * departments is called in.
   */
  | { type: 'CallPatient'; room?: string; defaultDepartment: string; breakGlass?: BreakGlass; now: string }
  /** The called patient did not come: they leave the waiting room's screen until called again. */
  | { type: 'MarkNoShow'; defaultDepartment: string; breakGlass?: BreakGlass; now: string }
  /**
   * The visit's patient was merged into another in the reception's registry
   * (ReceptionPatientMerged): the diagnosis is now that patient's.
   */
  | { type: 'MovePatient'; patientId: string; patientName: string; now: string }
  /** A doctor opens (reads) a diagnosis outside their departments: only the access is recorded. */
  | { type: 'OpenInEmergency'; breakGlass: BreakGlass; now: string };

/** Every event carries `at`, the `now` of the command that produced it, so evolve stays pure. */
type Stamped<E> = E & { at: string };

export type PublishedEvent = Stamped<
  | EventOf<'DiagnosisRegistered'>
  | EventOf<'ExaminationPrescribed'>
  | EventOf<'DiagnosisCompleted'>
  | EventOf<'DiagnosisRejected'>
  | EventOf<'DiagnosisCancelled'>
  | EventOf<'BreakGlassAccessed'>
  | EventOf<'PatientCalled'>
  | EventOf<'PatientNoShow'>
>;

/**
 * Never published: what the examination service reported, as recorded on the prescription. The
 * examination service already published the facts; republishing them would duplicate them.
 */
export type InternalEvent = Stamped<
  | { type: 'PrescriptionExaminationLinked'; data: { prescriptionId: string; examinationId: number } }
  | { type: 'PrescriptionPerformed'; data: { prescriptionId: string; examinationId: number; result: string } }
  | { type: 'PrescriptionCancelled'; data: { prescriptionId: string; examinationId: number; reason: string } }
  // The reception already published the merge (ReceptionPatientMerged) to every service.
  | { type: 'PatientMoved'; data: { diagnosisId: number; patientId: string; patientName: string } }
  // The reception already published the visit's queue number (ReceptionCompleted).
  | { type: 'QueueNumberRecorded'; data: { diagnosisId: number; queueNumber: number } }
>;

export type DomainEvent = PublishedEvent | InternalEvent;

export type { Decision, Refusal };

const publishedTypes: ReadonlySet<DomainEvent['type']> = new Set([
  'DiagnosisRegistered',
  'ExaminationPrescribed',
  'DiagnosisCompleted',
  'DiagnosisRejected',
  'DiagnosisCancelled',
  'BreakGlassAccessed',
  'PatientCalled',
  'PatientNoShow',
]);

export function isPublished(e: DomainEvent): e is PublishedEvent {
  return publishedTypes.has(e.type);
}

const terminalStatuses: ReadonlySet<DiagnosisStatus> = new Set(['COMPLETED', 'REJECTED', 'CANCELLED']);

export function isTerminal(status: DiagnosisStatus): boolean {
  return terminalStatuses.has(status);
}

export function hasPendingPrescriptions(state: Pick<Diagnosis, 'prescriptions'>): boolean {
  return state.prescriptions.some((p) => p.status === 'REQUESTED');
}

/**
 * Before a terminal state the status is a function of the prescriptions alone: none yet,
 * some pending, or all performed/cancelled. Deriving it (instead of stepping it) makes a new
 * prescription after EXAMINATION_DONE return to EXAMINATION_PRESCRIBED without a special case.
 */
function openStatus(prescriptions: Prescription[]): DiagnosisStatus {
  if (prescriptions.length === 0) return 'REGISTERED';
  return hasPendingPrescriptions({ prescriptions }) ? 'EXAMINATION_PRESCRIBED' : 'EXAMINATION_DONE';
}

const accept = (...events: DomainEvent[]): Decision<DomainEvent> => acceptEvents(...events);
const refuse = (kind: Refusal['kind'], message: string): Decision<DomainEvent> => refuseWith(kind, message);

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

/** What the examination service reports about a prescription's examination. */
type ExaminationReport = CommandOf<'RecordExaminationRequested' | 'RecordExaminationPerformed' | 'RecordExaminationCancelled'>;

export function decide(command: Command, state: State): Decision<DomainEvent> {
  if (command.type === 'RegisterDiagnosis') return register(command, state);
  // Handlers answer 404 for unknown ids before deciding; this guards a wiring mistake.
  if (!state) return refuse('invalid', 'unknown diagnosis');
  return withBreakGlass(command, state, decideOn(command, state));
}

function decideOn(command: Exclude<Command, CommandOf<'RegisterDiagnosis'>>, state: Diagnosis): Decision<DomainEvent> {
  switch (command.type) {
    case 'PrescribeExamination':
      return prescribe(command, state);
    case 'RecordExaminationRequested':
    case 'RecordExaminationPerformed':
    case 'RecordExaminationCancelled':
      return recordExaminationReport(command, state);
    case 'CompleteDiagnosis':
      return complete(command, state);
    case 'RejectDiagnosis':
      return reject(command, state);
    case 'CancelDiagnosis':
      return cancel(command, state);
    case 'MovePatient':
      return movePatient(command, state);
    case 'CallPatient':
      return callPatient(command, state);
    case 'MarkNoShow':
      return markNoShow(command, state);
    case 'OpenInEmergency':
      return accept(); // reading changes nothing: withBreakGlass records the access
  }
}

/**
 * A command sent by breaking the glass: its events come after BreakGlassAccessed, so the access
 * is saved, published and audited with them in one transaction, or not at all. A refused command
 * leaves no trace: it changed nothing and the refusal shows no clinical content.
 */
function withBreakGlass(command: Command, state: Diagnosis, decision: Decision<DomainEvent>): Decision<DomainEvent> {
  const breakGlass = 'breakGlass' in command ? command.breakGlass : undefined;
  if (!breakGlass || !decision.ok) return decision;
  const accessed: DomainEvent = {
    type: 'BreakGlassAccessed',
    data: { ...identity(state), reason: breakGlass.reason, accessedAt: command.now },
    at: command.now,
  };
  return accept(accessed, ...decision.events);
}

function register(command: CommandOf<'RegisterDiagnosis'>, state: State): Decision<DomainEvent> {
  const { diagnosisId, receptionId, patientId, patientName, department, queueNumber, now } = command;
  if (state) {
    // Registration is driven by ReceptionCompleted: the same reception again is a redelivery.
    if (state.receptionId === receptionId) return accept();
    return refuse('conflict', `diagnosis ${state.id} already exists for reception ${state.receptionId}`);
  }
  const registered: DomainEvent = { type: 'DiagnosisRegistered', data: { diagnosisId, receptionId, patientId, patientName, department }, at: now };
  if (queueNumber === undefined) return accept(registered);
  return accept(registered, { type: 'QueueNumberRecorded', data: { diagnosisId, queueNumber }, at: now });
}

function prescribe(command: CommandOf<'PrescribeExamination'>, state: Diagnosis): Decision<DomainEvent> {
  if (isTerminal(state.status)) return endedRefusal(state, 'prescribe on');
  const { prescriptionId, examinationType, instructions, now } = command;
  if (state.prescriptions.some((p) => p.prescriptionId === prescriptionId)) {
    return refuse('conflict', `prescription ${prescriptionId} already exists`);
  }
  return accept({
    type: 'ExaminationPrescribed',
    data: compact({
      prescriptionId,
      ...identity(state),
      patientId: state.patientId,
      patientName: state.patientName,
      examinationType,
      instructions,
      // The examiners call the patient by the visit's number, in the queue of the visit's department.
      visitDepartment: state.department,
      queueNumber: state.queueNumber,
    }),
    at: now,
  });
}

/**
 * Examination reports are recorded in every diagnosis status, terminal ones included: the
 * prescription must show what really happened to the examination.
 */
function recordExaminationReport(command: ExaminationReport, state: Diagnosis): Decision<DomainEvent> {
  const prescription = state.prescriptions.find((p) => p.prescriptionId === command.prescriptionId);
  if (!prescription) {
    return refuse('invalid', `diagnosis ${state.id} has no prescription ${command.prescriptionId}`);
  }
  if (prescription.examinationId !== undefined && prescription.examinationId !== command.examinationId) {
    return refuse(
      'conflict',
      `prescription ${prescription.prescriptionId} belongs to examination ${prescription.examinationId}, not ${command.examinationId}`,
    );
  }
  if (command.type === 'RecordExaminationRequested') return linkExamination(command, prescription);
  return endExamination(command, prescription);
}

function linkExamination(command: CommandOf<'RecordExaminationRequested'>, prescription: Prescription): Decision<DomainEvent> {
  const { examinationId, prescriptionId, now } = command;
  if (prescription.examinationId !== undefined) return accept(); // redelivery
  return accept({ type: 'PrescriptionExaminationLinked', data: { prescriptionId, examinationId }, at: now });
}

function endExamination(
  command: CommandOf<'RecordExaminationPerformed' | 'RecordExaminationCancelled'>,
  prescription: Prescription,
): Decision<DomainEvent> {
  const { examinationId, prescriptionId, now } = command;
  // An examination ends once; anything after that is a redelivery.
  if (prescription.status !== 'REQUESTED') return accept();
  return accept(
    command.type === 'RecordExaminationPerformed'
      ? { type: 'PrescriptionPerformed', data: { prescriptionId, examinationId, result: command.result }, at: now }
      : { type: 'PrescriptionCancelled', data: { prescriptionId, examinationId, reason: command.reason }, at: now },
  );
}

function complete(command: CommandOf<'CompleteDiagnosis'>, state: Diagnosis): Decision<DomainEvent> {
  if (isTerminal(state.status)) return endedRefusal(state, 'complete');
  if (hasPendingPrescriptions(state)) {
    return refuse('conflict', `diagnosis ${state.id} has pending prescriptions: wait until every examination is performed or cancelled`);
  }
  return accept({ type: 'DiagnosisCompleted', data: { ...identity(state), opinion: command.opinion }, at: command.now });
}

function reject(command: CommandOf<'RejectDiagnosis'>, state: Diagnosis): Decision<DomainEvent> {
  if (isTerminal(state.status)) return endedRefusal(state, 'reject');
  return accept({ type: 'DiagnosisRejected', data: { ...identity(state), reason: command.reason }, at: command.now });
}

function cancel(command: CommandOf<'CancelDiagnosis'>, state: Diagnosis): Decision<DomainEvent> {
  // Compensation for a cancelled reception: a diagnosis that already ended keeps its outcome.
  if (isTerminal(state.status)) return accept();
  return accept({ type: 'DiagnosisCancelled', data: { ...identity(state), reason: fitClinicalText(command.reason) }, at: command.now });
}

/**
 * Allowed in every status: an ended diagnosis is as much the patient's history as an open one.
 * Prescriptions made afterwards name the new patient (ExaminationPrescribed takes it from the state).
 */
function movePatient(command: CommandOf<'MovePatient'>, state: Diagnosis): Decision<DomainEvent> {
  const { patientId, patientName, now } = command;
  // ReceptionPatientMerged again: the diagnosis is already the new patient's.
  if (state.patientId === patientId) return accept();
  return accept({ type: 'PatientMoved', data: { diagnosisId: state.id, patientId, patientName }, at: now });
}

/**
 * The doctor calls the patient in while the diagnosis is open: the first time, or again (a recall:
 * the patient did not come, or is back from the examinations). A recall that names no room is to
 * the room of the call before.
 */
function callPatient(command: CommandOf<'CallPatient'>, state: Diagnosis): Decision<DomainEvent> {
  if (isTerminal(state.status)) return endedRefusal(state, 'call the patient of');
  const { defaultDepartment, now } = command;
  return accept({
    type: 'PatientCalled',
    data: compact({ ...inQueue(state, defaultDepartment), room: command.room ?? state.room, callCount: state.callCount + 1, calledAt: now }),
    at: now,
  });
}

/** Once per call: a patient not called, or already marked since the last call, cannot be marked again. */
function markNoShow(command: CommandOf<'MarkNoShow'>, state: Diagnosis): Decision<DomainEvent> {
  if (isTerminal(state.status)) return endedRefusal(state, 'mark a no-show on');
  if (state.calledAt === undefined) {
    return refuse('conflict', `the patient of diagnosis ${state.id} has not been called: call them before marking that they did not come`);
  }
  if (state.noShowAt !== undefined) {
    return refuse('conflict', `the patient of diagnosis ${state.id} was already marked as not come at ${state.noShowAt}: call them again first`);
  }
  const { defaultDepartment, now } = command;
  return accept({ type: 'PatientNoShow', data: compact({ ...inQueue(state, defaultDepartment), markedAt: now }), at: now });
}

/** What a call and a no-show of the doctor's carry: the visit, the waiting room (the diagnosis's department) and the number. */
function inQueue(state: Diagnosis, defaultDepartment: string) {
  return {
    ...identity(state),
    calledFor: 'DIAGNOSIS' as const,
    department: departmentOf(state, defaultDepartment),
    queueNumber: state.queueNumber,
  };
}

/** The ids every published event of a diagnosis carries. */
function identity(state: Diagnosis): { diagnosisId: number; receptionId: number } {
  return { diagnosisId: state.id, receptionId: state.receptionId };
}

function endedRefusal(state: Diagnosis, action: string): Decision<DomainEvent> {
  return refuse('conflict', `diagnosis ${state.id} is ${state.status}: cannot ${action} an ended diagnosis`);
}

export function evolve(state: State, event: DomainEvent): State {
  if (event.type === 'DiagnosisRegistered') {
    const { diagnosisId, receptionId, patientId, patientName, department } = event.data;
    const registered: Diagnosis = compact({
      id: diagnosisId,
      receptionId,
      patientId,
      patientName,
      department,
      status: 'REGISTERED',
      prescriptions: [],
      callCount: 0,
      createdAt: event.at,
      updatedAt: event.at,
    });
    return registered;
  }
  if (!state) throw new Error(`cannot apply ${event.type} to a diagnosis that does not exist`);
  // Opening a diagnosis is no change of it, not even of its updatedAt.
  if (event.type === 'BreakGlassAccessed') return state;
  // Part of the registration: the diagnosis was just created, at the same instant.
  if (event.type === 'QueueNumberRecorded') return { ...state, queueNumber: event.data.queueNumber };
  const touched = { ...state, updatedAt: event.at };

  switch (event.type) {
    case 'ExaminationPrescribed': {
      const { prescriptionId, examinationType, instructions } = event.data;
      const added: Prescription = compact({ prescriptionId, examinationType, instructions, status: 'REQUESTED', prescribedAt: event.at });
      return withPrescriptions(touched, [...state.prescriptions, added]);
    }
    case 'PrescriptionExaminationLinked':
      return withPrescriptions(touched, update(state.prescriptions, event.data.prescriptionId, { examinationId: event.data.examinationId }));
    case 'PrescriptionPerformed': {
      const { prescriptionId, examinationId, result } = event.data;
      return withPrescriptions(touched, update(state.prescriptions, prescriptionId, { status: 'PERFORMED', examinationId, result }));
    }
    case 'PrescriptionCancelled': {
      const { prescriptionId, examinationId, reason } = event.data;
      return withPrescriptions(touched, update(state.prescriptions, prescriptionId, { status: 'CANCELLED', examinationId, cancelReason: reason }));
    }
    case 'DiagnosisCompleted':
      return { ...touched, status: 'COMPLETED', opinion: event.data.opinion };
    case 'DiagnosisRejected':
      return { ...touched, status: 'REJECTED', rejectReason: event.data.reason };
    case 'DiagnosisCancelled':
      return { ...touched, status: 'CANCELLED', cancelReason: event.data.reason };
    case 'PatientMoved':
      return { ...touched, patientId: event.data.patientId, patientName: event.data.patientName };
    case 'PatientCalled': {
      const { noShowAt: _cleared, ...called } = touched;
      const { callCount, calledAt, room } = event.data;
      return compact({ ...called, callCount, calledAt, room });
    }
    case 'PatientNoShow':
      return { ...touched, noShowAt: event.data.markedAt };
  }
}

/** A terminal status stays; an open one follows the prescriptions. */
function withPrescriptions(state: Diagnosis, prescriptions: Prescription[]): Diagnosis {
  return { ...state, prescriptions, status: isTerminal(state.status) ? state.status : openStatus(prescriptions) };
}

function update(prescriptions: Prescription[], prescriptionId: string, change: Partial<Prescription>): Prescription[] {
  return prescriptions.map((p) => (p.prescriptionId === prescriptionId ? { ...p, ...change } : p));
}

/** The diagnosis decider as one value (decide, evolve, the state before the first event): what the command pipeline runs. */
export const diagnosisDecider: Decider<Diagnosis, Command, DomainEvent> = { decide, evolve, initialState: () => null };
