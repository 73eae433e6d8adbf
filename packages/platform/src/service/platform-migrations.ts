import type { Migrations } from '../db/database.ts';
import { idsMigrations } from '../db/id-sequences.ts';
import type { MigrationSet } from '../db/migrate.ts';
import { auditMigrations } from '../audit/tables.ts';
import { idempotencyMigrations } from '../idempotency/tables.ts';
import { inboxMigrations } from '../inbox/tables.ts';
import { outboxMigrations } from '../outbox/tables.ts';
import { telemetryMigrations } from '../telemetry/tables.ts';

/**
 * The tables every service has beside its own, each feature's migrations with their owner (see
 * db/migrate.ts): the transactional outbox (events waiting for the relay) and the events the
 * transport refused; the inbox (ids of the events whose effect is already committed) and where
 * the consumer resumes; the counters that hand out the positive integer ids of DESIGN.md
 * section 6; the answers of commands sent with an Idempotency-Key; the traces of visits; the
 * audit trail. Each owner's names only sort among its own; `sharedTableNames` says what each
 * was called when all owners shared one table and one numbering.
 */
export const platformMigrationSets: readonly MigrationSet[] = [
  outboxMigrations,
  inboxMigrations,
  idsMigrations,
  idempotencyMigrations,
  telemetryMigrations,
  auditMigrations,
];

/** The platform's features first, then the service's own migrations, under the owner `service`. */
export function serviceMigrationSets(migrations: Migrations): MigrationSet[] {
  return [...platformMigrationSets, { owner: 'service', migrations }];
}
