import type { Actor, AttachmentContentType, ExaminationStatus, PatientSex, PrescriptionStatus, VisitStage } from '@medical/contracts';

/**
 * What the FHIR projection keeps per resource, folded from the events alone (never read from
 * another service's database). The mapping to FHIR (the other files of this folder) is pure: a
 * record and the hospital's catalog in, a resource out, so the read side and the subscriptions
 * build the same resource from the same row.
 */

/** A patient as the visits' events name them: ReceptionCompleted, and ReceptionPatientMerged for a duplicate. */
export type PatientRecord = {
  patientId: string;
  name: string;
  birthDate?: string;
  /** The registry's sex, as the registration's event carries it (none for visits of before it did). */
  sex?: PatientSex;
  /** A duplicate merged into another registration: the number of the patient kept. */
  mergedInto?: string;
  updatedAt: string;
};

/** Who acted, as the events' `actor` says it: the person, never the system actor. */
export type PersonRecord = Pick<Actor, 'subject' | 'name'>;

/** A visit (one reception): its stage as patient-management derives it, and what happened when. */
export type EncounterRecord = {
  receptionId: number;
  patientId: string;
  stage: VisitStage;
  /** The visit's department (a code; old free text is kept as it was and shown as text). */
  department?: string;
  queueNumber?: number;
  queueDay?: string;
  receivedAt: string;
  /** When the doctor first called the patient in: the consultation began. */
  calledAt?: string;
  /** When the visit ended: the diagnosis concluded (completed or rejected) or the reception cancelled. */
  endedAt?: string;
  /** The doctor, as the actor of the doctor's first call, prescription or conclusion. */
  doctor?: PersonRecord;
  updatedAt: string;
};

/** A prescription (ExaminationPrescribed, then its examination's outcome). */
export type ServiceRequestRecord = {
  prescriptionId: string;
  receptionId: number;
  patientId: string;
  examinationType: string;
  instructions?: string;
  status: PrescriptionStatus;
  prescribedAt: string;
  doctor?: PersonRecord;
  updatedAt: string;
};

/** Where an examination stands in its waiting room's queue (PatientCalled, PatientNoShow). */
export type QueueState = 'WAITING' | 'CALLED' | 'NO_SHOW';

export type AttachmentRecord = {
  /** The server-generated stored name (contracts ATTACHMENT_NAME_PATTERN). */
  name: string;
  filename: string;
  contentType: AttachmentContentType;
  size: number;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
  uploadedAt: string;
};

/** An examination (ExaminationRequested, then PatientCalled, ExaminationPerformed or ExaminationCancelled). */
export type TaskRecord = {
  examinationId: number;
  prescriptionId: string;
  receptionId: number;
  patientId: string;
  examinationType: string;
  status: ExaminationStatus;
  /** The department whose examiners perform it (its waiting room). */
  department?: string;
  queueState?: QueueState;
  requestedAt: string;
  result?: string;
  performedAt?: string;
  cancelReason?: string;
  attachments: AttachmentRecord[];
  updatedAt: string;
};
