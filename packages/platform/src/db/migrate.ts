import { sql } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import type { Logger } from 'pino';
import type { MigrationDb, Migrations } from './database.ts';

/**
 * One owner's migrations: a feature of the platform (the outbox, the inbox, ...) or the service.
 * Each owner keeps its list in a table of its own (`migrations_<owner>`), so a migration's name
 * only has to sort after the names of its own owner: nobody needs to know another's numbers.
 */
export type MigrationSet = {
  owner: string;
  migrations: Migrations;
  /**
   * For a migration that stands for one of the time when every owner shared Kysely's one table
   * (`kysely_migration`), that migration's name there: a database migrated then is not migrated
   * again (see seedFromSharedTable).
   */
  sharedTableNames?: Record<string, string>;
};

/** The table every owner shared before each had its own; kept, so an older version still starts. */
const SHARED_TABLE = 'kysely_migration';

export const migrationTableOf = (owner: string) => `migrations_${owner.replaceAll('-', '_')}`;

class StaticMigrationProvider implements MigrationProvider {
  private readonly migrations: Migrations;
  constructor(migrations: Migrations) {
    this.migrations = migrations;
  }
  async getMigrations(): Promise<Migrations> {
    return this.migrations;
  }
}

/**
 * Runs each owner's migrations in the order of `sets` (the platform's features first, then the
 * service's), each owner's in name order. Callers hold whatever lock keeps replicas from
 * migrating together (postgres-database.ts; SQLite has one process per file).
 *
 * A database newer than this code (a rollback, an old pod during a rolling upgrade) holds
 * migrations this code does not know. Kysely refuses to start then; here they are taken as done
 * and named in a warning: by the expand/contract rule of the README, a migration only adds what
 * the version before it can ignore, so this code still works on that schema.
 */
export async function migrate(db: MigrationDb, sets: readonly MigrationSet[], logger: Logger, schema?: string): Promise<void> {
  const tables = new Set(await tableNames(db, schema));
  for (const set of sets) {
    const table = migrationTableOf(set.owner);
    if (!tables.has(table) && tables.has(SHARED_TABLE)) {
      await seedFromSharedTable(db, set, schema);
      tables.add(table);
    }
    // Read once at the start: a table that did not exist then is created by this owner's Migrator below.
    const executed = tables.has(table) ? await executedNames(db, table, schema) : [];
    const unknown = executed.filter((name) => !(name in set.migrations));
    if (unknown.length > 0) {
      logger.warn({ owner: set.owner, unknown }, 'the database has migrations this version does not know (a newer version ran them); taking them as done');
    }
    const migrator = new Migrator({
      db,
      provider: new StaticMigrationProvider({ ...set.migrations, ...Object.fromEntries(unknown.map((name) => [name, ranByANewerVersion(name)])) }),
      migrationTableName: table,
      ...(schema ? { migrationTableSchema: schema } : {}),
    });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
      throw new Error(`database migration ${set.owner}/${failed?.migrationName ?? ''} failed: ${reason}`);
    }
  }
}

/** The migrations of `sets` the database has not run yet, as `owner/name`. */
export async function pendingMigrations(db: MigrationDb, sets: readonly MigrationSet[], schema?: string): Promise<string[]> {
  const tables = new Set(await tableNames(db, schema));
  const pending: string[] = [];
  for (const set of sets) {
    const table = migrationTableOf(set.owner);
    const executed = new Set(tables.has(table) ? await executedNames(db, table, schema) : []);
    for (const name of Object.keys(set.migrations).sort()) if (!executed.has(name)) pending.push(`${set.owner}/${name}`);
  }
  return pending;
}

/**
 * For a service that does not migrate (DATABASE_MIGRATIONS=separate): waits until every migration
 * it knows has run (a migration Job may still be running when it starts), then resolves; after
 * `waitMs`, fails naming what is missing and what to run.
 */
export async function awaitMigrations(db: MigrationDb, sets: readonly MigrationSet[], logger: Logger, schema?: string, waitMs = 60_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    const pending = await pendingMigrations(db, sets, schema);
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`the database lacks migrations this version needs (${pending.join(', ')}): run npm run migrate as the schema's owner first`);
    }
    if (attempt === 0) logger.warn({ pending }, 'waiting for the migrations to run (npm run migrate, as the owner)');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Stands in for a migration only a newer version knows: already run, never to be run here. */
function ranByANewerVersion(name: string): Migration {
  return {
    async up() {
      throw new Error(`migration ${name} is known only to a newer version`);
    },
  };
}

/**
 * The first start after owners got tables of their own: the owner's table is created and given
 * the migrations the shared table says ran, by their name there, so none runs twice.
 */
async function seedFromSharedTable(db: MigrationDb, set: MigrationSet, schema: string | undefined): Promise<void> {
  const ran = new Map((await sql<{ name: string; timestamp: string }>`select name, timestamp from ${qualified(SHARED_TABLE, schema)}`.execute(db)).rows.map((row) => [row.name, row.timestamp]));
  const seeded = Object.keys(set.migrations).flatMap((name) => {
    const timestamp = ran.get(set.sharedTableNames?.[name] ?? name);
    return timestamp === undefined ? [] : [{ name, timestamp }];
  });
  await db.transaction().execute(async (trx) => {
    // The shape Kysely gives its own migration tables.
    await sql`create table if not exists ${qualified(migrationTableOf(set.owner), schema)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx);
    for (const { name, timestamp } of seeded) {
      await sql`insert into ${qualified(migrationTableOf(set.owner), schema)} (name, timestamp) values (${name}, ${timestamp}) on conflict (name) do nothing`.execute(trx);
    }
  });
}

async function executedNames(db: MigrationDb, table: string, schema: string | undefined): Promise<string[]> {
  return (await sql<{ name: string }>`select name from ${qualified(table, schema)}`.execute(db)).rows.map((row) => row.name);
}

async function tableNames(db: MigrationDb, schema: string | undefined): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.filter((t) => schema === undefined || t.schema === schema).map((t) => t.name);
}

const qualified = (table: string, schema: string | undefined) => (schema ? sql.id(schema, table) : sql.id(table));
