import type { Kysely, Transaction } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The database port. Services see a Kysely instance typed with their schema, a `transaction`
 * helper and an id generator; which engine is underneath is the adapter's business
 * (sqlite-database.ts for the embedded profile, postgres-database.ts for production).
 */
export type Database<DB> = {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<DB>;
  /**
   * Runs `work` in one transaction (READ COMMITTED on PostgreSQL, re-run on a deadlock).
   * Load-decide-save loads its aggregate with `forUpdate` (row-lock.ts), so concurrent
   * commands on one aggregate take turns and none loses another's update.
   */
  transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
  /**
   * `transaction`, committed without waiting for the disk (SQLite synchronous = NORMAL,
   * PostgreSQL synchronous_commit = off): a power cut may undo it, a process crash does not. Only
   * for writes whose loss is harmless because they are repeated and the repetition absorbed, such
   * as the relay deleting the outbox rows it has published (lost, they are published again, and
   * consumers deduplicate by event id). Never for a state change or an event.
   */
  relaxedTransaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T>;
  /** The next positive integer id of a named sequence ('receptions', ...): never reused. */
  nextId(trx: Transaction<DB>, sequence: string): Promise<number>;
  /**
   * Sends `payload` on `channel` once `trx` commits, never if it rolls back, to the listeners of
   * every replica of this service, in the order this process committed them (PostgreSQL: NOTIFY
   * in a statement of its own after the commit, see postgres-database.ts; the embedded profile has
   * one process per service, so there it is this process's listeners). A notice, not a message:
   * one may be lost (the process ends between the commit and the send), so what it announces
   * must be readable again by other means.
   */
  notify(trx: Transaction<DB>, channel: string, payload: string): Promise<void>;
  /**
   * Calls `listener` with every payload sent on `channel` while listening, and `onListening` each
   * time listening starts or starts again after a lost connection: whatever was sent in between is
   * lost, so a listener that mirrors state reloads it then. Returns the stop.
   */
  listen(channel: string, listener: (payload: string) => void, onListening?: () => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
};

export type Migrations = Record<string, Migration>;

/**
 * The database a migration is handed. Kysely's Migrator gives every migration `Kysely<any>` on
 * purpose: a migration must keep working after the code's table types have moved on, so it is
 * written against the schema as it was, not typed with today's tables.
 */
export type MigrationDb = Parameters<Migration['up']>[0];
