import type { DiagnosisStatus, PrescriptionStatus } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';

export type DiagnosisRow = {
  id: number;
  reception_id: number;
  patient_id: string;
  patient_name: string;
  /** A department code; null on the rows written before departments (migration 0002): the default department's. */
  department: string | null;
  status: DiagnosisStatus;
  opinion: string | null;
  reject_reason: string | null;
  cancel_reason: string | null;
  /** The waiting room (migration 0004). The visit's queue number: null on the visits registered before queue numbers. */
  queue_number: number | null;
  /** 0 until the doctor first calls the patient (and on the rows written before calls); the last call and its room null until then. */
  call_count: number;
  called_at: string | null;
  room: string | null;
  /** The called patient did not come: null again once called anew. */
  no_show_at: string | null;
  created_at: string;
  updated_at: string;
};

export type PrescriptionRow = {
  prescription_id: string;
  diagnosis_id: number;
  position: number;
  examination_type: string;
  instructions: string | null;
  status: PrescriptionStatus;
  examination_id: number | null;
  result: string | null;
  cancel_reason: string | null;
  prescribed_at: string;
};

export type DiagnosisDatabase = PlatformTables & { diagnoses: DiagnosisRow; prescriptions: PrescriptionRow };
