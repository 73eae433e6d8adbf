/**
 * The operator's tools: the dead letters of the system configured like the services, listed and
 * replayed (`npm run dead-letters`, scripts/dead-letters.ts; the Kafka client is loaded only when
 * the letters are on Kafka), the hash chains of the audit trails checked (`npm run
 * audit:verify`, scripts/audit-verify.ts), and the system made consistent with its event log
 * after a point-in-time restore (`npm run restore`, scripts/restore.ts).
 */
export { auditChainRow } from './audit/chained-fields.ts';
export { createProgress, type Progress } from './lib/progress.ts';
export { reconcileAfterRestore, type ReconcileReport, type SetAsideEvent } from './restore/reconcile.ts';
export { DEFAULT_RESTORE_ID_GAP, firstIdAfterRestore } from './restore/id-blocks.ts';
export { platformPurges, type Purge } from './service/purges.ts';
export { RETENTION_RULES, retentionDays, retentionMs, retentionRule, type RetentionKind, type RetentionRule } from './retention/policy.ts';
export { migrateService } from './service/migrate-service.ts';
export { formatRecodeReports, recodeFreeText, type RecodeReport } from './recode/free-text.ts';
export type { CodedColumn } from './reference/coded-column.ts';
export { verifyChain, type ChainRow, type ChainVerdict } from './audit/hash-chain.ts';
export { DeadLetterStoreError, deadLetterJson, formatDeadLetters, lettersOfVisit, listDeadLetters, openDeadLetterStore, replayDeadLetter, replayVisit, type DeadLetter, type DeadLetterStore, type Replayed } from './inbox/dead-letters.ts';
import type { StoredMessage } from './inbox/stored-message.ts';
export type { StoredMessage };

/**
 * Every message of a Kafka topic from its start to the end offsets seen when the read started,
 * read in a throwaway consumer group that commits nothing (inbox/dead-letters-kafka.ts). The
 * Kafka client is loaded on the first call.
 */
export async function readKafkaTopic(...args: Parameters<typeof import('./inbox/dead-letters-kafka.ts').readKafkaTopic>): Promise<StoredMessage[]> {
  return (await import('./inbox/dead-letters-kafka.ts')).readKafkaTopic(...args);
}
