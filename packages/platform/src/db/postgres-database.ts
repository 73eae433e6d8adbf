import { Kysely, PostgresDialect, sql, type QueryExecutorProvider, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { commitNotifications, type Notification } from './commit-notifications.ts';
import type { Database, MigrationDb } from './database.ts';
import { awaitMigrations, migrate, type MigrationSet } from './migrate.ts';
import { isStalePlan, POOL_CLIENT_OPTIONS, streamlineClient } from './postgres-statements.ts';

export type OpenPostgresOptions = {
  url: string;
  /** The schema holding this service's tables: one server can host every service. */
  schema: string;
  poolSize: number;
  /** Every owner's migrations, in the order they run (the service's composition: service/platform-migrations.ts). */
  migrationSets: readonly MigrationSet[];
  /** The id sequences the service uses (nextId), created at start-up when missing. */
  idSequences: readonly string[];
  logger: Logger;
  /** See PostgresSettings.migrations (open-database.ts); `at-start` when not given. */
  migrations?: 'at-start' | 'separate';
  /** With `separate`: how long to wait for migrations still to run before giving up (default 60 s). */
  migrationWaitMs?: number;
};

/** Serialization failure and deadlock: the transaction did nothing and can simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 15;

function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

const sequenceName = (sequence: string) => `${sequence}_id_seq`;

/**
 * Migrations run under a session advisory lock named after the schema, so replicas starting
 * together never race: the first migrates, the others wait and then find nothing to do.
 */
async function migrateUnderLock(pool: pg.Pool, db: MigrationDb, { schema, migrationSets, idSequences, logger }: OpenPostgresOptions): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [`medical-migrations:${schema}`]);
    try {
      await client.query(`create schema if not exists "${schema}"`);
      await migrate(db, migrationSets, logger, schema);
      for (const sequence of idSequences) {
        await client.query(`create sequence if not exists "${schema}"."${sequenceName(sequence)}"`);
      }
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [`medical-migrations:${schema}`]);
    }
  } finally {
    client.release();
  }
}

/**
 * The notification channel of `channel` for this service: channels are server-wide and every
 * service may share one server, so the service's schema is part of the name.
 */
const channelName = (channel: string, schema: string) => `${channel}_${schema}`;

/**
 * Listens on a notification channel on a connection of its own, and reconnects with backoff when
 * the server goes away (a restart, a failover), calling `onListening` each time it listens again.
 */
function listenOn(
  url: string,
  channel: string,
  logger: Logger,
  listener: (payload: string) => void,
  onListening: () => void,
): () => Promise<void> {
  const abort = new AbortController();
  let client: pg.Client | undefined;
  void (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      const current = new pg.Client({ connectionString: url });
      client = current;
      const ended = new Promise<void>((resolve) => {
        current.on('error', (error) => {
          logger.warn({ err: error, channel }, 'notification connection lost');
          resolve();
        });
        current.on('end', () => resolve());
      });
      try {
        await current.connect();
        current.on('notification', (message) => listener(message.payload ?? ''));
        await current.query(`listen "${channel}"`);
        failures = 0;
        onListening();
        await Promise.race([ended, new Promise((resolve) => abort.signal.addEventListener('abort', resolve, { once: true }))]);
      } catch (error) {
        logger.warn({ err: error, channel }, 'could not listen for notifications; retrying');
      }
      await current.end().catch(() => undefined);
      if (!abort.signal.aborted) await sleep(backoffDelay(failures++, 200, 5_000), abort.signal);
    }
  })();
  return async () => {
    abort.abort();
    await client?.end().catch(() => undefined);
  };
}

/** How long a committed notification waits for others to go with it: a bound on statements per second. */
const NOTIFY_LINGER_MS = 20;

/**
 * Sends committed transactions' notifications (Database.notify) with pg_notify in a statement of
 * its own, after the commit, never inside the transaction that made them: a transaction that
 * notifies holds PostgreSQL's one notification lock from its commit until its commit record is on
 * disk, so every such transaction of every service on the server would commit one after the other.
 * Standalone, the statement writes no WAL and holds the lock for no flush. One statement at a
 * time, NOTIFY_LINGER_MS after the first commit it carries: what commits meanwhile is sent
 * together, so a burst of commits costs a few statements, not one each, and the order of this
 * process's commits is kept.
 */
class NotificationSender {
  private queue: Notification[] = [];
  private sending: Promise<void> | undefined;
  private readonly db: QueryExecutorProvider;
  private readonly schema: string;
  private readonly logger: Logger;

  constructor(db: QueryExecutorProvider, schema: string, logger: Logger) {
    this.db = db;
    this.schema = schema;
    this.logger = logger;
  }

  send(notifications: Notification[]): void {
    this.queue.push(...notifications);
    // A moment's wait gathers the commits close behind this one into the same statement.
    this.sending ??= sleep(NOTIFY_LINGER_MS).then(() => this.flush());
  }

  /** Resolves once everything handed over so far has been sent (or given up on). */
  async drained(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await sql`select pg_notify(n.channel, n.payload) from unnest(${batch.map((n) => channelName(n.channel, this.schema))}::text[], ${batch.map((n) => n.payload)}::text[]) as n(channel, payload)`.execute(this.db);
      } catch (error) {
        // The changes are committed; only their notices are lost. A listener's connection that
        // broke with the server restarts and says so (onListening), and its clients reload then.
        this.logger.warn({ err: error, notifications: batch.length }, 'could not send notifications after commit');
      }
    }
    this.sending = undefined;
  }
}

/** The production adapter: PostgreSQL through Kysely and node-postgres, one schema per service. */
export async function openPostgresDatabase<DB>(options: OpenPostgresOptions): Promise<Database<DB>> {
  const pool = openPool(options);
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  await migrateOrClose(pool, db, options);

  const sender = new NotificationSender(db, options.schema, options.logger);
  const notifications = commitNotifications<DB>((committed) => sender.send(committed));
  const transaction = <T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> =>
    notifications.around((collecting) => retryingTransaction(db, collecting), work);
  const listeners = notificationListeners(options);

  return {
    kind: 'postgres',
    db,
    transaction,
    relaxedTransaction: relaxed(transaction),
    nextId: nextIdOf<DB>(options.idSequences),
    async notify(trx, channel, payload) {
      notifications.add(trx, channel, payload);
    },
    listen: listeners.listen,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    async close() {
      await sender.drained();
      await listeners.stopAll();
      await db.destroy();
    },
  };
}

function openPool({ url, schema, poolSize, logger }: OpenPostgresOptions): pg.Pool {
  const pool = new pg.Pool({
    ...POOL_CLIENT_OPTIONS,
    connectionString: url,
    max: poolSize,
    // Unqualified table names resolve to the service's own schema.
    options: `-c search_path="${schema}"`,
    connectionTimeoutMillis: 5_000,
  });
  // A connection that the server drops (a restart) must not crash the process: idle ones report
  // on the pool, and busy ones (pg-pool takes its listener off while a client is checked out)
  // on the client itself; the query in flight fails, and the request answers 503.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error }, 'database connection lost'));
    streamlineClient(client);
  });
  return pool;
}

/** A start that cannot migrate must not leave the pool's connections open behind it. */
async function migrateOrClose<DB>(pool: pg.Pool, db: Kysely<DB>, options: OpenPostgresOptions): Promise<void> {
  try {
    if (options.migrations === 'separate') await awaitMigrations(db, options.migrationSets, options.logger, options.schema, options.migrationWaitMs);
    else await migrateUnderLock(pool, db, options);
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/** A transaction that failed on a serialization failure, a deadlock or a stale plan did nothing: it runs again, after a backoff. */
async function retryingTransaction<DB, T>(db: Kysely<DB>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (!(RETRYABLE.has(pgCode(error) ?? '') || isStalePlan(error)) || attempt >= MAX_ATTEMPTS) throw error;
      await sleep(backoffDelay(attempt, 10, 500));
    }
  }
}

function relaxed<DB>(transaction: Database<DB>['transaction']): Database<DB>['relaxedTransaction'] {
  return (work) =>
    transaction(async (trx) => {
      await sql`set local synchronous_commit = off`.execute(trx);
      return work(trx);
    });
}

function nextIdOf<DB>(idSequences: readonly string[]): Database<DB>['nextId'] {
  return async (trx, sequence) => {
    if (!idSequences.includes(sequence)) throw new Error(`id sequence "${sequence}" is not declared by the service`);
    // A sequence never blocks and is never rolled back: concurrent commands get distinct ids
    // without waiting on each other; a rolled-back command leaves a gap, which ids may have.
    const { rows } = await sql<{ id: string }>`select nextval(${sequenceName(sequence)}::regclass) as id`.execute(trx);
    return Number(rows[0]!.id);
  };
}

/** Every listener started through Database.listen is kept, so that close stops them all. */
function notificationListeners({ url, schema, logger }: OpenPostgresOptions) {
  const stops: Array<() => Promise<void>> = [];
  return {
    async listen(channel: string, listener: (payload: string) => void, onListening: () => void = () => undefined) {
      const stop = listenOn(url, channelName(channel, schema), logger, listener, onListening);
      stops.push(stop);
      return stop;
    },
    async stopAll(): Promise<void> {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}
