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
  /**
   * The waiting room (migration 0007): the department it is called in (null on the examinations
   * ordered before, until their first call), the visit's department and queue number (null for the
   * visits before queue numbers).
   */
  department: string | null;
  visit_department: string | null;
  queue_number: number | null;
  /** 0 until the examiners first call the patient (and on the rows written before calls); the last call and its room null until then. */
  call_count: number;
  called_at: string | null;
  room: string | null;
  /** The called patient did not come: null again once called anew. */
  no_show_at: string | null;
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
