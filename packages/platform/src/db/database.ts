import fs from 'node:fs';
import path from 'node:path';
import { Kysely, sql, type Transaction } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { createNodeSqliteDialect } from './node-sqlite-dialect.ts';
import { platformMigrations } from './platform-migrations.ts';

/**
 * The database port. Services see a Kysely instance typed with their schema and a
 * `transaction` helper; which engine is underneath is the adapter's business.
 */
export type Database<DB> = {
  readonly kind: 'sqlite';
  readonly db: Kysely<DB>;
  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

export type Migrations = Record<string, Migration>;

class StaticMigrationProvider implements MigrationProvider {
  private readonly migrations: Migrations;
  constructor(migrations: Migrations) {
    this.migrations = migrations;
  }
  async getMigrations(): Promise<Migrations> {
    return this.migrations;
  }
}

/** Runs the platform's tables (outbox, inbox) first, then the service's own, in name order. */
export async function migrate(db: Kysely<any>, serviceMigrations: Migrations): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider({ ...platformMigrations, ...serviceMigrations }),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}

export type OpenDatabaseOptions = { serviceName: string; dataDir: string; migrations: Migrations };

/** The embedded adapter: one SQLite file per service under DATA_DIR. */
export async function openDatabase<DB>(options: OpenDatabaseOptions): Promise<Database<DB>> {
  fs.mkdirSync(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, `${options.serviceName}.sqlite`);
  const { dialect } = createNodeSqliteDialect(file);
  const db = new Kysely<DB>({ dialect });
  await migrate(db, options.migrations);
  return {
    kind: 'sqlite',
    db,
    transaction: (work) => db.transaction().execute(work),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
