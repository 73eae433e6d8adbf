import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemDetails } from '@medical/contracts';
import type { Database } from '../db/database.ts';
import { HttpProblem, problemTypes, validationProblem } from '../http/problem.ts';
import { claimKey, findKey, recordResponse, type KeyRecord, type KeyUse, type StoredResponse } from './idempotency-keys.ts';
import type { IdempotencyTables } from './tables.ts';

/**
 * Safe retries of commands: every POST accepts an `Idempotency-Key` header, and a retry with
 * the same key answers what the first request got, without running the command again.
 *
 * - The key is claimed (a row of idempotency_keys) at the start of the command's own
 *   transaction (ServiceContext.execute), and the answer about to be sent is written into that
 *   row before the same transaction commits: the state change, its events, the key and the
 *   answer commit together or not at all. To have the answer inside the transaction, the
 *   transaction stays open after the handler gets the command's result, until the answer passes
 *   through onSend (a few microseconds: the handler only builds the reply); the answer leaves
 *   only once the commit has succeeded.
 * - A second request with a key held by a transaction still open waits on that row (PostgreSQL:
 *   the primary key, across replicas; SQLite: transactions are serial), then answers the stored
 *   answer, marked `Idempotent-Replayed: true`.
 * - Kept: the command's success (2xx) and its refusal (a 4xx problem thrown by the command, whose
 *   state changes are rolled back to a savepoint taken after the claim). Not kept: 5xx answers
 *   (the transaction rolls back and the key with it), so a retry after a 503 or a crash runs
 *   the command, which is safe because nothing of the first attempt committed.
 * - The body is identified by the sha-256 of its canonical JSON (object keys sorted, no
 *   insignificant whitespace), not of its raw bytes: a client that re-serializes its body on a
 *   retry (other key order, other spacing) sends the same command, and must not get a 422.
 */

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
/** The answer's headers worth replaying; the rest (request id, date, length) belong to each answer. */
const STORED_HEADERS = ['content-type', 'location'] as const;
/** 1 to 255 visible ASCII characters: a UUID, a ULID, any token; no spaces, no control characters. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** A command's transaction never waits longer than this for its answer (the request vanished). */
const ANSWER_TIMEOUT_MS = 30_000;

export const problemTypeKeyReused = 'urn:medical:problem:idempotency-key-reused';

const keyHeaderSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[!-~]+$',
  description:
    'Makes the command safe to retry: a retry with the same key (after a timeout or a 503) gets the first answer, marked ' +
    '`Idempotent-Replayed: true`, and the command runs once. 1 to 255 visible ASCII characters (a UUID, say); keys are ' +
    'kept 24 hours. The same key with another body or path is a 422.',
};

/** JSON with object keys sorted and no whitespace: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function bodyHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body ?? {})).digest('hex');
}

/** Thrown inside the command's transaction when the key turns out to be taken: the caller replays. */
class KeyTaken extends Error {
  readonly record: KeyRecord | undefined;
  constructor(record: KeyRecord | undefined) {
    super('the idempotency key is already taken');
    this.record = record;
  }
}

/** Rolls back a command whose answer must not be kept (a 5xx, or no answer at all). */
class AnswerNotKept extends Error {
  constructor() {
    super('the answer is not kept: the command is rolled back');
  }
}

type TransactionEnd = { committed: true } | { committed: false; error: unknown };

const isRefusal = (error: unknown): error is HttpProblem => error instanceof HttpProblem && error.status < 500;

/** One request that came with a key and was not answered from the table: it may run its command. */
class IdempotentRequest {
  readonly use: KeyUse;
  commandStarted = false;
  /** The handler has returned: work started later from its async context is not its command. */
  handlerReturned = false;
  /** The command's transaction is open, waiting for the answer that onSend hands it. */
  awaitingAnswer = false;
  /** onSend has seen the answer (later sends are error answers of a failed commit). */
  answered = false;
  readonly answer = Promise.withResolvers<StoredResponse | null>();
  transactionEnded: Promise<TransactionEnd> | undefined;

  constructor(use: KeyUse) {
    this.use = use;
  }

  /**
   * ServiceContext.execute for this request (see the module comment); `keysIn` is the same
   * transaction seen with the idempotency_keys table (the service kit's platformTables).
   */
  execute<DB, T>(database: Database<DB>, keysIn: (trx: Transaction<DB>) => Transaction<IdempotencyTables>, work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    if (this.commandStarted) throw new Error('a request with an Idempotency-Key runs at most one command');
    this.commandStarted = true;
    const outcome = Promise.withResolvers<T>();
    let decided = false;
    const ended = database.transaction(async (trx) => {
      // The PostgreSQL adapter re-runs a transaction after a deadlock; once the handler has the
      // command's outcome, re-running it could change that outcome: give up instead.
      if (decided) throw new Error('the transaction of an answered command cannot run again');
      const keys = keysIn(trx);
      if (!(await claimKey(keys, this.use))) throw new KeyTaken(await findKey(keys, this.use.key));
      await sql`savepoint idempotent_command`.execute(trx);
      let refused = false;
      try {
        const value = await work(trx);
        decided = true;
        this.awaitingAnswer = true;
        outcome.resolve(value);
      } catch (error) {
        if (!isRefusal(error)) throw error;
        // A refusal is kept like any answer, but nothing the command wrote before refusing.
        await sql`rollback to savepoint idempotent_command`.execute(trx);
        refused = true;
        decided = true;
        this.awaitingAnswer = true;
        outcome.reject(error);
      }
      const timer = setTimeout(() => this.answer.resolve(null), ANSWER_TIMEOUT_MS);
      timer.unref();
      const answer = await this.answer.promise;
      clearTimeout(timer);
      // Kept: the command's success or its refusal. A 5xx, or a 4xx the handler raised after a
      // successful command, is not an answer to repeat: roll everything back.
      if (!answer || answer.status >= 500 || (!refused && answer.status >= 400)) throw new AnswerNotKept();
      await recordResponse(keys, this.use.key, answer);
    });
    this.transactionEnded = ended.then(
      (): TransactionEnd => ({ committed: true }),
      (error: unknown): TransactionEnd => {
        outcome.reject(error);
        return { committed: false, error };
      },
    );
    return outcome.promise;
  }
}

const requestsInScope = new AsyncLocalStorage<IdempotentRequest>();
const requestsByFastifyRequest = new WeakMap<FastifyRequest, IdempotentRequest>();

/** The keyed request whose handler is running, if any: ServiceContext.execute asks. */
export function currentIdempotentRequest(): IdempotentRequest | undefined {
  const request = requestsInScope.getStore();
  return request && !request.handlerReturned ? request : undefined;
}

function invalidKey(): HttpProblem {
  return validationProblem('the Idempotency-Key header must be 1 to 255 visible ASCII characters (no spaces or control characters)', [
    { field: IDEMPOTENCY_KEY_HEADER, in: 'headers', message: 'must be 1 to 255 visible ASCII characters' },
  ]);
}

function keyReused(detail: string): HttpProblem {
  return new HttpProblem({ status: 422, title: 'Unprocessable Content', type: problemTypeKeyReused, detail });
}

/**
 * The key as stored: the client's key under the token's subject. Two users who send the same key
 * send two requests, and nobody is answered another user's stored answer (and the patient data in
 * it) by sending their key. The subject is hashed: it may be long and hold any character.
 */
function keyOfSubject(request: FastifyRequest, key: string): string {
  const subject = createHash('sha256').update(request.actor?.subject ?? '').digest('base64url').slice(0, 22);
  return `${subject}.${key}`;
}

/**
 * A key stored before keys were kept per subject (kept 24 hours): its retry still replays, so a
 * retry across the upgrade does not run the command twice, if its method, path and body match.
 * Remove with the release after the one that scoped the keys (expand, then contract).
 */
async function findUnscopedKey(database: IdempotencyOptions['database'], key: string): Promise<KeyRecord | undefined> {
  return findKey(database.db, key);
}

function pathOf(url: string): string {
  const path = url.split('?')[0]!;
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function storable(reply: FastifyReply, payload: unknown): StoredResponse | null {
  let body: string;
  if (payload === null || payload === undefined) body = '';
  else if (typeof payload === 'string') body = payload;
  else if (Buffer.isBuffer(payload)) body = payload.toString('utf8');
  else return null; // a stream: not an answer a command gives
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  return { status: reply.statusCode, headers, body };
}

function replay(reply: FastifyReply, record: KeyRecord | undefined, use: KeyUse): FastifyReply {
  if (!record || record.response.status === 0) {
    // Only if the row was purged between the wait and the read: the client may simply retry.
    throw new HttpProblem({ status: 409, title: 'Conflict', type: problemTypes.conflict, detail: 'a request with this Idempotency-Key is in progress; retry shortly' });
  }
  if (record.method !== use.method || record.path !== use.path) {
    throw keyReused(`this Idempotency-Key was first used for ${record.method} ${record.path}; use a new key for another request`);
  }
  if (record.bodyHash !== use.bodyHash) {
    throw keyReused('this Idempotency-Key was first used with a different body; use a new key for another request');
  }
  return reply.code(record.response.status).headers(record.response.headers).header(IDEMPOTENT_REPLAYED_HEADER, 'true').send(record.response.body);
}

type Handler = RouteOptions['handler'];
type Hooks<H> = H | H[] | undefined;
const asArray = <H>(hooks: Hooks<H>): H[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);

export type IdempotencyOptions = { database: Database<IdempotencyTables>; logger: Logger };

/**
 * The route's handler, run for a request with a key: answered from the table when the key is
 * known, else run with the request in scope (ServiceContext.execute finds it there).
 */
function guard(handler: Handler, { database }: IdempotencyOptions): Handler {
  return function idempotentHandler(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (key === undefined) return handler.call(this, request, reply);
    return (async () => {
      const use: KeyUse = { key: keyOfSubject(request, String(key)), method: request.method, path: pathOf(request.url), bodyHash: bodyHash(request.body) };
      const known = (await findKey(database.db, use.key)) ?? (await findUnscopedKey(database, String(key)));
      if (known) return replay(reply, known, use);
      const idempotent = new IdempotentRequest(use);
      requestsByFastifyRequest.set(request, idempotent);
      try {
        return await requestsInScope.run(idempotent, () => handler.call(this, request, reply));
      } catch (error) {
        if (error instanceof KeyTaken) return replay(reply, error.record, use);
        throw error;
      } finally {
        idempotent.handlerReturned = true;
      }
    })();
  };
}

async function checkKey(request: FastifyRequest): Promise<void> {
  const key = request.headers[IDEMPOTENCY_KEY_HEADER];
  if (key !== undefined && (typeof key !== 'string' || !KEY_PATTERN.test(key))) throw invalidKey();
}

/** Waits for the command's transaction, which the answer was handed to, and lets the answer go only once it committed. */
async function answerOnceCommitted(idempotent: IdempotentRequest, answer: StoredResponse | null): Promise<void> {
  idempotent.answer.resolve(answer);
  const ended = await idempotent.transactionEnded!;
  // The commit failed (the database went away, say): the error handler answers instead.
  if (!ended.committed && !(ended.error instanceof AnswerNotKept)) throw ended.error;
  if (!ended.committed && answer === null) throw new Error('the answer of an idempotent command must be text');
  // Rolled back although it succeeded (its answer came too late, or the client had left):
  // it must not look done; a retry runs it.
  if (!ended.committed && answer !== null && answer.status < 400) throw new Error('the command was rolled back before its answer left');
}

/** Keeps an answer given without running a command (a refusal before it, say), in a transaction of its own. */
async function keepAnswerAlone({ database, logger }: IdempotencyOptions, use: KeyUse, answer: StoredResponse): Promise<void> {
  try {
    await database.transaction(async (trx) => {
      if (await claimKey(trx, use)) await recordResponse(trx, use.key, answer);
    });
  } catch (error) {
    logger.warn({ err: error }, 'could not keep the answer of an idempotent request');
  }
}

/** onSend: hands the answer to the command's open transaction, and lets it go only once committed. */
function keepAnswer(options: IdempotencyOptions) {
  return async function keepAnswerHook(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const idempotent = requestsByFastifyRequest.get(request);
    if (!idempotent || idempotent.answered) return payload;
    idempotent.answered = true;
    const answer = storable(reply, payload);
    if (idempotent.awaitingAnswer) await answerOnceCommitted(idempotent, answer);
    else if (!idempotent.commandStarted && answer && answer.status < 500) await keepAnswerAlone(options, idempotent.use, answer);
    return payload;
  };
}

/** No answer is coming (the client went away, or it is sent): the transaction must not wait. */
async function release(request: FastifyRequest): Promise<void> {
  requestsByFastifyRequest.get(request)?.answer.resolve(null);
}

/** Names the header as clients write it (Fastify validates headers through a lower-cased copy), and the 422, in the route's OpenAPI schema. */
function documentKey(route: RouteOptions): void {
  const schema = (route.schema ??= {});
  // A route's schemas are JSON Schema objects (Fastify types them `unknown`).
  const headers = (schema.headers ?? { type: 'object', properties: {} }) as { properties?: object };
  schema.headers = { ...headers, properties: { ...headers.properties, 'Idempotency-Key': keyHeaderSchema } };
  const response = schema.response as Record<string, unknown> | undefined;
  if (response && !response[422]) schema.response = { ...response, 422: ProblemDetails };
}

/**
 * Gives every POST route registered after it the Idempotency-Key behaviour (see the module
 * comment), and documents the header and the 422 in the route's OpenAPI schema. Register it
 * before the service's routes; requests without the header go through unchanged.
 */
export const idempotency = fp<IdempotencyOptions>(
  async (app, options) => {
    const keepAnswerHook = keepAnswer(options);
    app.addHook('onRoute', (route) => {
      if (!asArray(route.method).includes('POST')) return;
      route.handler = guard(route.handler, options);
      route.preValidation = [...asArray(route.preValidation), checkKey];
      route.onSend = [...asArray(route.onSend), keepAnswerHook];
      route.onResponse = [...asArray(route.onResponse), release];
      route.onRequestAbort = [...asArray(route.onRequestAbort), release];
      documentKey(route);
    });
  },
  { name: 'idempotency' },
);
