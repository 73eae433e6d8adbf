import type { Kysely, Transaction } from 'kysely';
import type { AuditTables } from '../audit/tables.ts';
import type { Database } from '../db/database.ts';
import type { IdTables } from '../db/id-sequences.ts';
import type { IdempotencyTables } from '../idempotency/tables.ts';
import type { InboxTables } from '../inbox/tables.ts';
import type { OutboxTables } from '../outbox/tables.ts';
import type { TelemetryTables } from '../telemetry/tables.ts';

/** The tables every service has beside its own (platform-migrations.ts creates them). */
export type PlatformTables = OutboxTables & InboxTables & IdTables & IdempotencyTables & TelemetryTables & AuditTables;

/**
 * A service's database, or one of its transactions, seen with the platform's tables only. Every
 * service's database has them: serviceMigrationSets runs the platform's migrations first, and a
 * service's schema type is `PlatformTables & { its own tables }`. But the service kit is generic
 * over that type, and for a type parameter `DB` TypeScript cannot show that `Kysely<DB>` has the
 * platform's tables (Kysely's method types are conditional on `DB`, which stay unresolved for a
 * type parameter; kysely-org/kysely#815). So the kit narrows here, and only here; every feature
 * takes its own tables' type (`Transaction<AuditTables>`, ...), which a service's concrete
 * transaction satisfies without a cast.
 */
export function platformTables<DB>(trx: Transaction<DB>): Transaction<PlatformTables>;
export function platformTables<DB>(db: Kysely<DB>): Kysely<PlatformTables>;
export function platformTables<DB>(database: Database<DB>): Database<PlatformTables>;
export function platformTables(handle: unknown): unknown {
  return handle;
}
