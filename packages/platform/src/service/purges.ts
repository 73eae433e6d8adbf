import type { Kysely } from 'kysely';
import { IDEMPOTENCY_KEY_RETENTION_MS, purgeKeys } from '../idempotency/idempotency-keys.ts';
import { purgeInbox } from '../inbox/inbox-retention.ts';
import { VISIT_TRACE_RETENTION_MS, purgeVisitTraces } from '../telemetry/visit-traces.ts';
import type { ServiceConfig } from './config.ts';
import type { PlatformTables } from './platform-tables.ts';

/** One purge of rows past their retention: what it removes, and the removal (answers how many rows). */
export type Purge = { what: string; run: () => Promise<number> };

/**
 * The platform's purges, of what only its machinery needs, past the periods of the retention table
 * (retention/policy.ts): idempotency keys, visit traces, and the inbox rows of applied events. Every
 * service process runs them hourly (housekeeping), and `npm run purge` once on demand; running
 * them side by side only deletes the same rows.
 */
export function platformPurges(db: Kysely<PlatformTables>, config: Pick<ServiceConfig, 'inboxRetentionDays'>): Purge[] {
  const before = (ms: number) => new Date(Date.now() - ms);
  return [
    { what: 'purged expired idempotency keys', run: () => purgeKeys(db, before(IDEMPOTENCY_KEY_RETENTION_MS)) },
    { what: 'purged expired visit traces', run: () => purgeVisitTraces(db, before(VISIT_TRACE_RETENTION_MS)) },
    { what: 'purged expired inbox rows', run: () => purgeInbox(db, before(config.inboxRetentionDays * 24 * 60 * 60 * 1000)) },
  ];
}
