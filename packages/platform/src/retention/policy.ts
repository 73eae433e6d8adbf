import { readInteger, type Env } from '../lib/env.ts';

/**
 * How long each kind of data is kept, and why: the one table the services' settings, the purge
 * job (`npm run purge`), the Kafka topics' retention (created by the services, and declared in
 * deploy/k8s/base/kafka/topics.yaml) and docs/OPERATIONS.md follow. A test holds each of them to it.
 *
 * The rule of the table: clinical records and their amendment history are never purged by the
 * system. Korea's Medical Service Act (의료법 제22조, 시행규칙 제15조) sets minimum periods (the
 * medical record 10 years, examination records and radiology images 5, prescriptions 2) and asks
 * that the original of an amended record be kept; a visit is one record here, so all of it is kept
 * at least as long as its longest part, and its destruction after that is the hospital records
 * officer's decision, made outside the system, never a timer's. What is purged is what only the
 * machinery needs (inbox rows, idempotency keys, traces), and logs whose legal period is shorter.
 */

export type RetentionKind =
  | 'clinical-records'
  | 'attachments'
  | 'audit-log'
  | 'event-log'
  | 'dead-letters'
  | 'access-log'
  | 'access-log-topic'
  | 'inbox'
  | 'idempotency-keys'
  | 'visit-traces'
  | 'interop-deliveries'
  | 'backups';

/** Kept for good (by the system; see above), or a number of days. */
export type Keep = { forever: true } | { days: number; setting?: string; minimumDays?: number };

export type RetentionRule = {
  kind: RetentionKind;
  /** What the data is and where it lives. */
  what: string;
  keep: Keep;
  /** The legal or technical reason for the period. */
  reason: string;
  /** What removes it when its time is up. */
  purgedBy: string;
};

const DAY_MS = 24 * 60 * 60 * 1000;

export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    kind: 'clinical-records',
    what: 'receptions, diagnoses with their prescriptions and opinions, examinations with their results, the visit view and timelines',
    keep: { forever: true },
    reason: 'Medical Service Act art. 22 and Enforcement Rule art. 15: at least 10 years for the medical record (5 for examination records, 2 for prescriptions); one visit is kept as one record',
    purgedBy: 'never by the system: destroying a record past its period is the records officer\'s decision',
  },
  {
    kind: 'attachments',
    what: 'the files of examination results (ATTACHMENTS_DIR)',
    keep: { forever: true },
    reason: 'part of the clinical record (Enforcement Rule art. 15: radiology images and their readings at least 5 years)',
    purgedBy: 'never by the system',
  },
  {
    kind: 'audit-log',
    what: 'every command that changed a record, by whom and when (audit_log, hash-chained)',
    keep: { forever: true },
    reason: 'the amendment history: Medical Service Act art. 22(2) and 23 ask that the original of an amended record and who amended it be kept, as long as the record',
    purgedBy: 'never by the system',
  },
  {
    kind: 'event-log',
    what: 'the workflow\'s events (Kafka topic medical)',
    keep: { forever: true },
    reason: 'the history the read model is rebuilt from and a restore is reconciled with; it carries the clinical records\' content, so it is kept as they are',
    purgedBy: 'never (retention.ms -1)',
  },
  {
    kind: 'dead-letters',
    what: 'events a service gave up on (Kafka topic medical.dlq, and DEAD_LETTERED inbox rows)',
    keep: { forever: true },
    reason: 'each one is a visit stuck until a person decides; its content is already kept in the event log',
    purgedBy: 'never (retention.ms -1); a replayed letter stays as the record of the decision',
  },
  {
    kind: 'access-log',
    what: 'who was shown which patient\'s data, and every refusal (patient-management access_log, hash-chained)',
    keep: { days: 1825, setting: 'ACCESS_LOG_RETENTION_DAYS', minimumDays: 730 },
    reason: 'Personal Information Protection Act safety measures standard art. 8: access records kept at least 2 years where health data is processed; 5 by default, the period of the examination records',
    purgedBy: 'npm run purge (the purge Job), oldest first; the chain keeps an anchor of what was purged',
  },
  {
    kind: 'access-log-topic',
    what: 'access records on their way to the keeper (Kafka topic medical.access-log)',
    keep: { days: 90 },
    reason: 'technical: the keeper stores each record; the topic must outlast a restore\'s window (backups, 30 days), after which the keeper reads the records of the lost interval again',
    purgedBy: 'Kafka (retention.ms)',
  },
  {
    kind: 'inbox',
    what: 'the ids of events each service applied (inbox rows APPLIED)',
    keep: { days: 30, setting: 'INBOX_RETENTION_DAYS', minimumDays: 8 },
    reason: 'technical: must outlast Kafka\'s offsets retention (7 days), see inbox/inbox-retention.ts',
    purgedBy: 'each service hourly, and npm run purge',
  },
  {
    kind: 'idempotency-keys',
    what: 'the stored answers of Idempotency-Key requests',
    keep: { days: 1 },
    reason: 'technical: a client retries within minutes; a day covers an outage',
    purgedBy: 'each service hourly, and npm run purge',
  },
  {
    kind: 'visit-traces',
    what: 'the trace ids that join a visit\'s spans across services',
    keep: { days: 7 },
    reason: 'technical: traces are looked at while a problem is fresh',
    purgedBy: 'each service hourly, and npm run purge',
  },
  {
    kind: 'interop-deliveries',
    what: 'the messages the interop service delivered to other systems: FHIR notifications and HL7 v2 messages (interop_deliveries)',
    keep: { days: 7, setting: 'INTEROP_DELIVERY_RETENTION_DAYS', minimumDays: 1 },
    reason: 'technical: a copy of what the receiving system now holds, kept a week for the interface team to answer "did you send it?"; the record itself is the services\'. A message set aside (refused every time) is kept until a person has looked',
    purgedBy: 'the interop service hourly, and npm run purge',
  },
  {
    kind: 'backups',
    what: 'base backups and the WAL archive (npm run backup; CloudNativePG\'s object store)',
    keep: { days: 30, setting: 'BACKUP_RETENTION_DAYS', minimumDays: 7 },
    reason: 'the restore window; a backup holds everything above, so it is kept no longer than a restore needs',
    purgedBy: 'npm run purge locally (the newest backup is always kept); the ScheduledBackup\'s retentionPolicy on Kubernetes',
  },
];

export function retentionRule(kind: RetentionKind): RetentionRule {
  const rule = RETENTION_RULES.find((r) => r.kind === kind);
  if (!rule) throw new Error(`no retention rule for ${kind}`);
  return rule;
}

/** The days a kind is kept with this environment's settings (never below its minimum); undefined: for good. */
export function retentionDays(kind: RetentionKind, env: Env = {}): number | undefined {
  const { keep } = retentionRule(kind);
  if ('forever' in keep) return undefined;
  return keep.setting ? readInteger(env, keep.setting, keep.days, keep.minimumDays ?? 1, 36_500) : keep.days;
}

/** The same in milliseconds, or -1 for good: Kafka's retention.ms. */
export function retentionMs(kind: RetentionKind, env: Env = {}): number {
  const days = retentionDays(kind, env);
  return days === undefined ? -1 : days * DAY_MS;
}
