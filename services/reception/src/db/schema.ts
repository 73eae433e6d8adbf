import type { PatientSex, PatientStatus, ReceptionStatus } from '@medical/contracts';
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
  /** The visit's number in its department's queue on `queue_day`; null for the visits registered before queue numbers. */
  queue_number: number | null;
  queue_day: string | null;
  /** The token of the patient's ticket link: kept here only, the events carry its digest. */
  ticket_token: string | null;
  created_at: string;
  updated_at: string;
};

/** The last queue number given in a department on a hospital day (`2026-12-07`, HOSPITAL_TIME_ZONE). */
export type QueueCounterRow = {
  department: string;
  day: string;
  last_number: number;
};

/** A patient of the registry, with the keys it is searched and compared by (contracts' patients.ts). */
export type PatientRow = {
  patient_id: string;
  name: string;
  /** nameKeyOf(name): lower case, no spaces. */
  name_key: string;
  /** initialsOf(name): 김민지 → ㄱㅁㅈ. */
  initials: string;
  birth_date: string | null;
  sex: PatientSex;
  phone: string | null;
  /** phoneDigitsOf(phone). */
  phone_digits: string | null;
  /** The digits from the last: a search by a phone's last digits is a match from the start of this. */
  phone_digits_reversed: string | null;
  status: PatientStatus;
  merged_into: string | null;
  /** JSON array of patient numbers: the look-alikes it was registered beside, until reviewed. */
  possible_duplicates: string;
  created_at: string;
  updated_at: string;
};

export type ReceptionDatabase = PlatformTables & { receptions: ReceptionRow; patients: PatientRow; queue_counters: QueueCounterRow };
