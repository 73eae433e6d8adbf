import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { Transaction } from 'kysely';
import type { Database } from '../db/database.ts';
import { HttpProblem } from '../http/problem.ts';

const commitCallbacks = new WeakMap<object, Array<() => void>>();

/**
 * Runs `callback` once the transaction `trx` has committed, and never if it rolls back: for what
 * must count a change once, such as a metric observed by a consumer's effect (an effect that
 * fails is rolled back and run again). Only for transactions of a database from `traceDatabase`.
 * A refusal kept by an idempotent command rolls back to a savepoint, not the transaction: work
 * whose callbacks must not follow a refusal registers them after deciding.
 */
export function afterCommit<DB>(trx: Transaction<DB>, callback: () => void): void {
  const callbacks = commitCallbacks.get(trx);
  if (!callbacks) throw new Error('afterCommit needs a transaction of the service database');
  callbacks.push(callback);
}

/**
 * The database port with a span per transaction (`db.transaction`, a child of the request or
 * the event being handled) and commit callbacks (afterCommit). The relay's relaxed transactions
 * are inside its publish spans already and are left alone.
 */
export function traceDatabase<DB>(database: Database<DB>, tracer: Tracer): Database<DB> {
  const system = database.kind === 'postgres' ? 'postgresql' : 'sqlite';
  return {
    ...database,
    transaction<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
      return tracer.startActiveSpan('db.transaction', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': system } }, async (span) => {
        // The PostgreSQL adapter re-runs `work` after a deadlock: only the last run's callbacks count.
        let callbacks: Array<() => void> = [];
        try {
          const result = await database.transaction((trx) => {
            callbacks = [];
            commitCallbacks.set(trx, callbacks);
            return work(trx);
          });
          for (const callback of callbacks) callback();
          return result;
        } catch (error) {
          // A command the state machine refuses (a 4xx) rolls back as designed: not a failure.
          if (!(error instanceof HttpProblem && error.status < 500)) {
            span.recordException(error as Error);
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}
