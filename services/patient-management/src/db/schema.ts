import type { Generated } from 'kysely';
import type { AccessAction, Actor, CallPurpose, DiagnosisStatus, ReceptionStatus, VisitStage, WaitStage } from '@medical/contracts';
import type { PlatformTables } from '@medical/platform';
import type { QueueState } from '../domain/queue-entries.ts';

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
  /** The visit's department, queue number and day, and the moments its waits are measured between (migration 0015). */
  department: string | null;
  queue_number: number | null;
  queue_day: string | null;
  received_at: string | null;
  first_called_at: string | null;
  examinations_ended_at: string | null;
  concluded_at: string | null;
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

/** One access record as kept (migration 0012): who asked what of which route, and how it was answered. */
export type AccessLogRow = {
  seq: Generated<number | string>;
  /** Which chain the record is linked in: the partition of the access-log topic it came by (migration 0013). */
  chain: number;
  /** The record's id: a record delivered twice is kept once. */
  record_id: string;
  recorded_at: string;
  service: string;
  actor_subject: string;
  actor_name: string | null;
  actor_role: Actor['role'];
  action: AccessAction;
  method: string;
  route: string;
  status: number;
  break_glass_reason: string | null;
  request_id: string;
  client_request_id: string | null;
  /** The hash of the record before it, and its own, which covers its subjects too (db/access-log.ts; migration 0013). */
  prev_hash: string | null;
  hash: string | null;
};

/**
 * What one access record concerned: a visit it showed (its reception id, and the patient when the
 * service knew it), or, when it showed none, the ids its request named. Read by patient: a
 * patient's rows are those naming the patient, one of their visits, diagnoses or examinations.
 */
export type AccessSubjectRow = {
  id: Generated<number | string>;
  seq: number | string;
  patient_id: string | null;
  reception_id: number | null;
  diagnosis_id: number | null;
  examination_id: number | null;
};

/** A message of the access-log topic that is no access record: kept as it came, for a person to look at. */
export type UnreadableAccessRecordRow = {
  id: Generated<number | string>;
  received_at: string;
  partition: number;
  offset: string;
  value: string;
  problem: string;
};

/**
 * One purge of a chain's oldest records past ACCESS_LOG_RETENTION_DAYS (db/access-log-purge.ts): the
 * anchor the chain's first kept record links to (the hash of the last one purged), and what went.
 */
export type AccessLogPurgeRow = {
  id: Generated<number | string>;
  chain: number;
  through_seq: number | string;
  through_hash: string;
  records: number;
  recorded_before: string;
  purged_at: string;
};

/**
 * A patient in a department's queue on a hospital day (migration 0016): the doctor's entry of a
 * visit (`item` ''), or an examination's (`item` its prescription id).
 */
export type QueueEntryRow = {
  reception_id: number;
  item: string;
  purpose: CallPurpose;
  examination_id: number | null;
  /** The queue it is in, and the visit's department, whose number it is. */
  department: string;
  visit_department: string;
  queue_day: string;
  queue_number: number;
  masked_name: string;
  state: QueueState;
  joined_at: string;
  waiting_since: string;
  first_called_at: string | null;
  last_called_at: string | null;
  call_count: number;
  room: string | null;
  updated_at: string;
};

/** The visit a ticket's link names, by the SHA-256 of its token (migration 0017). */
export type TicketRow = { ticket_digest: string; reception_id: number };

/** The wait of one stage of a visit that ended (migration 0018): once per visit, stage and item (an examination's id, or ''). */
export type WaitRow = {
  reception_id: number;
  stage: WaitStage;
  item: string;
  department: string;
  started_at: string;
  ended_at: string;
  seconds: number;
};

export type PatientManagementDatabase = PlatformTables & {
  visits: VisitRow;
  visit_counts: VisitCountRow;
  visit_timeline: TimelineRow;
  access_log: AccessLogRow;
  access_log_subjects: AccessSubjectRow;
  access_log_unreadable: UnreadableAccessRecordRow;
  access_log_purges: AccessLogPurgeRow;
  queue_entries: QueueEntryRow;
  tickets: TicketRow;
  visit_waits: WaitRow;
};
