import type { PlatformTables } from '@medical/platform';

export type VisitRow = {
  reception_id: number;
  patient_id: string;
  patient_name: string;
  reception_status: string;
  diagnosis_id: number | null;
  diagnosis_status: string | null;
  stage: string;
  /** The visit's examinations as a JSON array: always read and written with the visit. */
  examinations: string;
  created_at: string;
  updated_at: string;
};

/** Visits per scope ('all', 'stage:<stage>'), kept by triggers on visits (migration 0002). */
export type VisitCountRow = { scope: string; visits: number | string };

export type PatientManagementDatabase = PlatformTables & { visits: VisitRow; visit_counts: VisitCountRow };
