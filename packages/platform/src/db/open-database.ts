import type { Logger } from 'pino';
import type { ServiceConfig } from '../config.ts';
import type { Database, Migrations } from './database.ts';
import { openSqliteDatabase } from './sqlite-database.ts';

/**
 * Picks the database adapter from the configuration; services never know which one runs. The
 * PostgreSQL adapter (and its driver) is loaded only when configured, so an embedded process
 * does not carry it in memory.
 */
export async function openDatabase<DB>(
  config: ServiceConfig,
  migrations: Migrations,
  logger: Logger,
  idSequences: readonly string[] = [],
): Promise<Database<DB>> {
  if (config.postgres) {
    const { openPostgresDatabase } = await import('./postgres-database.ts');
    return openPostgresDatabase<DB>({ ...config.postgres, migrations, idSequences, logger });
  }
  return openSqliteDatabase<DB>({ serviceName: config.serviceName, dataDir: config.dataDir, migrations, logger });
}
