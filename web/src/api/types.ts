/**
 * The API's shapes, as the contracts package declares them (type-only imports: the schemas
 * themselves stay on the server). The status lists are repeated here as values because the
 * contracts' modules build schemas at load, which the browser bundle does not need;
 * `satisfies` keeps them in step with the contracts' types.
 */
import type { DiagnosisStatus, DiagnosisView, ReceptionStatus, VisitStage } from '@medical/contracts/api';
import type { PatientSex } from '@medical/contracts/patients';
import type { WaitStage } from '@medical/contracts/queues';

export type {
  AttachmentView,
  CreateReceptionRequest,
  DiagnosisStatus,
  DiagnosisView,
  ExaminationStatus,
  ExaminationView,
  PrescriptionStatus,
  ReceptionStatus,
  ReceptionView,
  TimelineStepView,
  VisitStage,
  VisitTimelineView,
  VisitView,
} from '@medical/contracts/api';
export type PrescriptionView = DiagnosisView['prescriptions'][number];
export type { AccessAction, AccessLogEntry } from '@medical/contracts/access-log';
export type { PatientSex, PatientView, RegisterPatientRequest } from '@medical/contracts/patients';
export type { CallPatientRequest, WaitingTimesView, WaitStage } from '@medical/contracts/queues';

export const visitStages = [
  'RECEIVED',
  'WAITING_FOR_DOCTOR',
  'IN_EXAMINATION',
  'EXAMINATIONS_DONE',
  'DIAGNOSIS_COMPLETED',
  'DIAGNOSIS_REJECTED',
  'CONFIRMED',
  'CANCELLED',
] as const satisfies readonly VisitStage[];

/** The diagnoses on the doctor's worklist: not yet completed, rejected or cancelled. */
export const openDiagnosisStatuses = ['REGISTERED', 'EXAMINATION_PRESCRIBED', 'EXAMINATION_DONE'] as const satisfies readonly DiagnosisStatus[];

/** The receptions the desk may confirm: the doctor decided. */
export const confirmableReceptionStatuses = ['DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED'] as const satisfies readonly ReceptionStatus[];

/** A patient's administrative sex, in the order the desk offers them. */
export const patientSexes = ['female', 'male', 'other', 'unknown'] as const satisfies readonly PatientSex[];

/** What an examiner may attach (attachmentContentTypes in the contracts). */
export const attachmentContentTypes = ['application/pdf', 'image/png', 'image/jpeg'] as const;

/** The stages of a visit whose waits the manager's charts show, in the order a visit passes them. */
export const waitStages = [
  'RECEPTION_TO_CALL',
  'CALL_TO_DIAGNOSIS',
  'PRESCRIPTION_TO_EXAMINATION',
  'EXAMINATIONS_TO_COMPLETION',
  'COMPLETION_TO_CONFIRMATION',
  'VISIT',
] as const satisfies readonly WaitStage[];
