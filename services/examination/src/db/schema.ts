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

export type ExaminationDatabase = PlatformTables & { examinations: ExaminationRow; closed_visits: ClosedVisitRow; attachments: AttachmentRow };
