import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Two round-trip savings on every connection of the pool, below Kysely (which sends each
 * statement with `client.query(text, values)` and awaits it):
 *
 * - **BEGIN travels with the first statement.** The pool's clients run in node-postgres'
 *   pipeline mode, which writes a query without waiting for the answer to the one before. BEGIN
 *   is answered at once here and written in front of the transaction's first statement, whose
 *   answer then waits for both: one round trip instead of two. A failed BEGIN fails that
 *   statement, so nothing is hidden.
 * - **A statement is parsed and planned once per connection.** Each distinct SQL text gets a
 *   name (a hash of the text), so PostgreSQL keeps it prepared on that connection and the next
 *   use sends only its parameters. The texts are Kysely's with placeholders, a bounded set; the
 *   names per connection are capped all the same (a statement beyond the cap goes unnamed).
 *
 * A prepared `select *` whose table changed under it (a newer replica migrated during a rolling
 * upgrade) fails with "cached plan must not change result type": the text then gets a new name
 * on that connection, so its next use is prepared afresh. Outside a transaction the statement is
 * simply sent again; inside one the transaction is already aborted, so the error is marked and
 * the adapter runs the transaction again (isStalePlan).
 */
export const POOL_CLIENT_OPTIONS = { pipeline: true } as const;

/** Names per connection at most; PostgreSQL keeps each prepared statement until the connection ends. */
const MAX_NAMED_STATEMENTS = 1_000;

/** Transaction control, settings and schema changes run once or cost nothing to parse: left unnamed. */
const UNNAMED = /^\s*(begin|commit|rollback|savepoint|release|set|listen|unlisten|create|alter|drop|do|comment|grant|select pg_advisory)\b/i;

type Query = (config: string | pg.QueryConfig, values?: unknown[]) => Promise<pg.QueryResult>;

const stalePlans = new WeakSet<Error>();

/** Whether `error` says a prepared statement outlived its table's shape: run the transaction again. */
export function isStalePlan(error: unknown): boolean {
  return error instanceof Error && stalePlans.has(error);
}

export function streamlineClient(client: pg.PoolClient): void {
  // pg's `query` has a dozen overloads (callbacks, streams); the adapter only ever makes the one call `Query` names.
  const original = client.query as unknown as (...args: unknown[]) => unknown;
  const send = original.bind(client) as Query;
  const names = new Names();
  let begin: Promise<pg.QueryResult> | undefined;
  let inTransaction = false;

  const run = (text: string, values: unknown[], retried = false): Promise<pg.QueryResult> =>
    send(names.statement(text, values)).catch((error: unknown) => {
      if (!(error instanceof Error && (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(error.message))) throw error;
      names.retire(text);
      if (!inTransaction && !retried) return run(text, values, true);
      stalePlans.add(error);
      throw error;
    });

  const patched = (config: unknown, values?: unknown, callback?: unknown): unknown => {
    // Anything but Kysely's (text, values) form, such as LISTEN or a cursor, goes through untouched.
    if (typeof config !== 'string' || !Array.isArray(values) || callback !== undefined) return original.call(client, config, values, callback);
    if (config === 'begin' && values.length === 0 && begin === undefined) {
      begin = send('begin');
      inTransaction = true;
      // Observed by the statement that follows; never an unhandled rejection meanwhile.
      begin.catch(() => undefined);
      return Promise.resolve({ command: 'BEGIN', rowCount: null, rows: [], fields: [], oid: 0 });
    }
    if (config === 'commit' || config === 'rollback') inTransaction = false;
    const answer = run(config, values);
    const before = begin;
    begin = undefined;
    return before ? Promise.all([before, answer]).then(([, result]) => result) : answer;
  };
  client.query = patched as typeof client.query;
}

/** The statement names of one connection. */
class Names {
  private readonly named = new Set<string>();
  /** Texts whose prepared statement went stale, and how often: part of their next name. */
  private readonly generations = new Map<string, number>();

  statement(text: string, values: unknown[]): pg.QueryConfig {
    if (UNNAMED.test(text)) return { text, values };
    const generation = this.generations.get(text);
    const name = `k${createHash('sha1').update(text).digest('base64url')}${generation ? `_${generation}` : ''}`;
    if (!this.named.has(name)) {
      if (this.named.size >= MAX_NAMED_STATEMENTS) return { text, values };
      this.named.add(name);
    }
    return { name, text, values };
  }

  retire(text: string): void {
    this.generations.set(text, (this.generations.get(text) ?? 0) + 1);
  }
}
