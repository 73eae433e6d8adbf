import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';

/**
 * Kysely's SqliteDialect speaks to any database shaped like better-sqlite3. Node's built-in
 * `node:sqlite` is close to that shape; this adapter closes the gap so the embedded profile
 * needs no native addon compiled at install time.
 */
function toSqliteValue(value: unknown): SQLInputValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
  if (value instanceof Uint8Array) return value;
  return JSON.stringify(value);
}

function adaptStatement(statement: StatementSync): SqliteStatement {
  const reader = statement.columns().length > 0;
  const bind = (parameters: ReadonlyArray<unknown>) => parameters.map(toSqliteValue);
  return {
    reader,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => {
      const result = statement.run(...bind(parameters));
      return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
    },
    iterate: (parameters) => statement.iterate(...bind(parameters)) as IterableIterator<unknown>,
  };
}

/**
 * Statements are kept per SQL text: Kysely asks for a fresh one on every query, and preparing
 * cost more than running the service's small queries. Kysely's SqliteDriver runs one query at a
 * time on its single connection, so a cached statement is never in use twice at once. The cache
 * is bounded because `IN (...)` lists of varying length each make a text of their own.
 */
const STATEMENT_CACHE_SIZE = 500;

export function adaptDatabase(database: DatabaseSync): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare: (sql) => {
      let statement = statements.get(sql);
      if (statement) {
        // Most recently used last, so the first key is the one to evict.
        statements.delete(sql);
      } else {
        statement = adaptStatement(database.prepare(sql));
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}

/** Opens a SQLite file with the settings every embedded store uses: WAL, waits on locks, full durability. */
export function openSqliteFile(file: string): DatabaseSync {
  const database = new DatabaseSync(file, { timeout: 10_000 });
  try {
    database.exec('PRAGMA journal_mode = WAL');
    // A committed clinical change must survive a power cut, not only a process crash.
    database.exec('PRAGMA synchronous = FULL');
    database.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    // Locked by another process as it opened (see EmbeddedLog.open): no handle left behind.
    database.close();
    throw error;
  }
  return database;
}

export function createNodeSqliteDialect(file: string): { dialect: SqliteDialect; raw: DatabaseSync } {
  const raw = openSqliteFile(file);
  return { dialect: new SqliteDialect({ database: adaptDatabase(raw) }), raw };
}
