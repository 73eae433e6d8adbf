import pino from 'pino';
import { openDatabase } from '../db/open-database.ts';
import { grantServiceRole } from '../db/service-role.ts';
import type { MigrationDb } from '../db/database.ts';
import { loadConfig } from './config.ts';
import { serviceMigrationSets } from './platform-migrations.ts';
import type { ServiceDefinition } from './service.ts';

/**
 * `npm run migrate` for one service: its migrations (the platform's features' and its own) run
 * as the environment's DATABASE_URL, the schema's owner, under the lock that keeps two runs apart;
 * then, with DATABASE_SERVICE_ROLE set, the role the services connect as gets what it may do
 * (db/service-role.ts). On the embedded profile the SQLite file is migrated; it has no roles.
 * Answers what it did, for the operator.
 */
export async function migrateService(definition: Pick<ServiceDefinition<unknown>, 'name' | 'defaultPort' | 'migrations' | 'idSequences'>, env: Record<string, string | undefined>): Promise<string> {
  const config = loadConfig(definition.name, definition.defaultPort, { ...env, DATABASE_MIGRATIONS: 'at-start' });
  const logger = pino({ level: config.logLevel, base: { service: `${definition.name}-migrate` } });
  const database = await openDatabase(config, serviceMigrationSets(definition.migrations), logger, definition.idSequences);
  try {
    const role = env.DATABASE_SERVICE_ROLE?.trim();
    if (!config.postgres) return `${definition.name}: migrated (${database.kind})`;
    if (!role) return `${definition.name}: migrated schema ${config.postgres.schema} (no DATABASE_SERVICE_ROLE: no grants)`;
    await grantServiceRole(database.db as MigrationDb, config.postgres.schema, role);
    return `${definition.name}: migrated schema ${config.postgres.schema}; ${role} may read and write it, and only add to its append-only tables`;
  } finally {
    await database.close();
  }
}
