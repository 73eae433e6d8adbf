import type { Logger } from 'pino';
import type { Database } from './database.ts';
import type { MigrationSet } from './migrate.ts';
import { openSqliteDatabase } from './sqlite-database.ts';

/** The production database's settings (DATABASE_* in the service's configuration). */
export type PostgresSettings = {
  url: string;
  /** The schema holding this service's tables, so one server can host every service. */
  schema: string;
  poolSize: number;
  /**
   * DATABASE_MIGRATIONS: `at-start`, the default, migrates as the process starts (its role must
   * own the schema); `separate`: `npm run migrate` has migrated as the owner, before the services
   * started, and the service, connected as a role that may not change the schema, only checks
   * that every migration it knows has run, waiting for a migration still running.
   */
  migrations: 'at-start' | 'separate';
};

/** What the database needs of the service's configuration (service/config.ts). */
export type DatabaseConfig = {
  serviceName: string;
  dataDir: string;
  /** Set: the production database (PostgreSQL). Unset: a SQLite file under DATA_DIR. */
  postgres?: PostgresSettings;
};

/**
 * Picks the database adapter from the configuration; services never know which one runs. The
 * PostgreSQL adapter (and its driver) is loaded only when configured, so an embedded process
 * does not carry it in memory.
 */
export async function openDatabase<DB>(
  config: DatabaseConfig,
  migrationSets: readonly MigrationSet[],
  logger: Logger,
  idSequences: readonly string[] = [],
): Promise<Database<DB>> {
  if (config.postgres) {
    const { openPostgresDatabase } = await import('./postgres-database.ts');
    return openPostgresDatabase<DB>({ ...config.postgres, migrationSets, idSequences, logger });
  }
  return openSqliteDatabase<DB>({ serviceName: config.serviceName, dataDir: config.dataDir, migrationSets, logger });
}
