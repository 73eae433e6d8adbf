import type { Generated } from 'kysely';
import type { DiagnosisStatus, ReceptionStatus, VisitStage } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';

export type VisitRow = {
  reception_id: number;
  patient_id: string;
  patient_name: string;
  reception_status: ReceptionStatus;
  diagnosis_id: number | null;
  diagnosis_status: DiagnosisStatus | null;
  stage: VisitStage;
  /** The visit's examinations as a JSON array: always read and written with the visit. */
  examinations: string;
  created_at: string;
  updated_at: string;
};

/** Visits per scope ('all', 'stage:<stage>'), kept by triggers on visits (migration 0002). */
export type VisitCountRow = { scope: string; visits: number | string };

/** One step of a visit's timeline: an applied event with its actor (migration 0007). */
export type TimelineRow = {
  /** The order in which the steps were applied: breaks ties between steps of the same instant. */
  seq: Generated<number | string>;
  event_id: string;
  reception_id: number;
  event_type: string;
  occurred_at: string;
  service: string;
  description: string;
  stage: VisitStage;
  /** Null for events written before events carried their actor. */
  actor_subject: string | null;
  actor_name: string | null;
  actor_role: string | null;
};

export type PatientManagementDatabase = PlatformTables & { visits: VisitRow; visit_counts: VisitCountRow; visit_timeline: TimelineRow };
