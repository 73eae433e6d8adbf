import type { ReceptionStatus } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';

export type ReceptionRow = {
  id: number;
  patient_id: string;
  patient_name: string;
  birth_date: string | null;
  department: string | null;
  symptom: string | null;
  status: ReceptionStatus;
  received_at: string;
  cancel_reason: string | null;
  diagnosis_id: number | null;
  diagnosis_outcome: string | null;
  diagnosis_opinion: string | null;
  diagnosis_reject_reason: string | null;
  confirmed_at: string | null;
  created_at: string;
  updated_at: string;
};

export type ReceptionDatabase = PlatformTables & { receptions: ReceptionRow };
