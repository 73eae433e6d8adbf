import type { Kysely } from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import type { Migrations } from './database.ts';
import { platformMigrations } from './platform-migrations.ts';

class StaticMigrationProvider implements MigrationProvider {
  private readonly migrations: Migrations;
  constructor(migrations: Migrations) {
    this.migrations = migrations;
  }
  async getMigrations(): Promise<Migrations> {
    return this.migrations;
  }
}

/** Runs the platform's tables first, then the service's own, in name order. */
export async function migrate(db: Kysely<any>, serviceMigrations: Migrations, migrationTableSchema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider({ ...platformMigrations, ...serviceMigrations }),
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
