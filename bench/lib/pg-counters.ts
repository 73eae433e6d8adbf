import pg from 'pg';

/**
 * PostgreSQL's own counters of the work a system's database did, read by the bench from the
 * server (on a connection to the server's base database, DATABASE_URL, so that the readings are
 * not counted in the system's own):
 * - transactions: pg_stat_database.xact_commit + xact_rollback of the system's database;
 * - WAL syncs: pg_stat_wal.wal_sync (the whole server's: WAL has no per-database counter);
 * - statements: pg_stat_statements' calls in the system's database (top-level statements,
 *   BEGIN and COMMIT included), when the server loads it (infra/postgres/up.sh does).
 *
 * The first two are cumulative statistics that each backend sends at most once a second while
 * busy, and only after 10 s (PGSTAT_IDLE_INTERVAL) once it goes idle with some unsent: a reading
 * is complete for a moment only 10 s later (see STATS_SETTLE_MS). pg_stat_statements counts as
 * each statement ends.
 */

/** How long after a moment the server's cumulative statistics include it (PostgreSQL 15: 10 s for an idle backend, and a margin). */
export const STATS_SETTLE_MS = 11_000;

export type PgCounters = {
  atMs: number;
  transactions: number;
  walSyncs: number;
  /** Transactions of each of the server's other databases (the reader's own left out): work that shares the WAL syncs. */
  otherDatabases: Record<string, number>;
};

/** The other databases' transactions between two readings (a database created meanwhile counts from zero, a dropped one is not seen). */
export function otherTransactionsBetween(from: PgCounters, to: PgCounters): number {
  return Object.entries(to.otherDatabases).reduce((sum, [oid, count]) => sum + Math.max(0, count - (from.otherDatabases[oid] ?? 0)), 0);
}
export type StatementCount = { query: string; calls: number; meanMs: number };

export class PgStats {
  private readonly client: pg.Client;
  private readonly databaseOid: number;
  /** Why statements cannot be counted, or null when they can. */
  readonly statementsUnavailable: string | null;

  private constructor(client: pg.Client, databaseOid: number, statementsUnavailable: string | null) {
    this.client = client;
    this.databaseOid = databaseOid;
    this.statementsUnavailable = statementsUnavailable;
  }

  static async open(serverUrl: string, database: string): Promise<PgStats> {
    const client = new pg.Client({ connectionString: serverUrl, application_name: 'bench-pg-stats' });
    // An 'error' event (the server going away between queries) would otherwise crash the process.
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [database]);
      if (!rows[0]) throw new Error(`no database ${database} on the server`);
      let unavailable: string | null = null;
      try {
        await client.query('SELECT calls FROM pg_stat_statements LIMIT 1');
      } catch (error) {
        unavailable = `pg_stat_statements cannot be read (${(error as Error).message}); infra/postgres/up.sh loads it`;
      }
      return new PgStats(client, Number(rows[0].oid), unavailable);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  async counters(): Promise<PgCounters> {
    const { rows } = await this.client.query<{ transactions: string; wal_syncs: string; others: Record<string, number> | null }>(
      `SELECT (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datid = $1) AS transactions,
              (SELECT wal_sync FROM pg_stat_wal) AS wal_syncs,
              (SELECT json_object_agg(datid, xact_commit + xact_rollback) FROM pg_stat_database
                WHERE datname IS NOT NULL AND datid <> $1 AND datname <> current_database()) AS others`,
      [this.databaseOid],
    );
    const row = rows[0]!;
    return { atMs: performance.now(), transactions: Number(row.transactions), walSyncs: Number(row.wal_syncs), otherDatabases: row.others ?? {} };
  }

  /** Forgets the statements counted so far in the system's database (the others' are left alone). */
  async resetStatements(): Promise<void> {
    if (this.statementsUnavailable) return;
    await this.client.query('SELECT pg_stat_statements_reset(0, $1, 0)', [this.databaseOid]);
  }

  /** The statements since the last reset: how many in all, and the `top` most called. */
  async statements(top = 10): Promise<{ total: number; top: StatementCount[] } | null> {
    if (this.statementsUnavailable) return null;
    const total = await this.client.query<{ calls: string }>('SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE dbid = $1', [this.databaseOid]);
    const most = await this.client.query<{ query: string; calls: string; mean_ms: number }>(
      'SELECT query, calls, mean_exec_time AS mean_ms FROM pg_stat_statements WHERE dbid = $1 ORDER BY calls DESC, query LIMIT $2',
      [this.databaseOid, top],
    );
    return {
      total: Number(total.rows[0]!.calls),
      top: most.rows.map((row) => ({ query: row.query.replace(/\s+/g, ' ').trim(), calls: Number(row.calls), meanMs: Math.round(row.mean_ms * 1000) / 1000 })),
    };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
