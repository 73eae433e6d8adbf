import type { ExaminationStatus } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';

export type ExaminationRow = {
  id: number;
  prescription_id: string;
  diagnosis_id: number;
  reception_id: number;
  patient_id: string;
  patient_name: string;
  examination_type: string;
  instructions: string | null;
  status: ExaminationStatus;
  result: string | null;
  performed_at: string | null;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
};

/** Receptions cancelled and diagnoses rejected: a prescription arriving for them is cancelled at once. */
export type ClosedVisitRow = { scope: 'reception' | 'diagnosis'; ref_id: number; reason: string; closed_at: string };

/**
 * Whose each merged visit now is (ReceptionPatientMerged, the latest merge of the visit): a
 * prescription the diagnosis service wrote before it took the merge still names the previous
 * patient, and arrives after the merge (migration 0006).
 */
export type VisitPatientRow = { reception_id: number; patient_id: string; patient_name: string; merged_at: string };

/** One attachment of an examination; its bytes are the file ATTACHMENTS_DIR/<examination_id>/<name>. */
export type AttachmentRow = {
  examination_id: number;
  name: string;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  uploaded_at: string;
};

export type ExaminationDatabase = PlatformTables & {
  examinations: ExaminationRow;
  closed_visits: ClosedVisitRow;
  visit_patients: VisitPatientRow;
  attachments: AttachmentRow;
};
