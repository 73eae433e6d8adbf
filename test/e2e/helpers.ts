import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { SERVICE_NAMES, startSystem, type BackendServiceName, type Env, type RunningSystem } from '../../scripts/lib/processes.ts';
import { caughtUp, deleteTopics, membersOnOtherTopics, openEventLog, type EventLog, type LagReport } from './event-log.ts';
import { currentTokenSource, roleFor, setCurrentTokenSource, TokenSource } from './support/tokens.ts';
import type { Role } from '@medical/contracts/actor';

export { authHeaders, roleFor, TokenSource } from './support/tokens.ts';

/**
 * The end-to-end tests' toolkit: the runtime profiles and a system per test file and profile, a
 * small HTTP client for the gateway, `eventually` for the eventual consistency of the saga, and
 * one helper per step of a visit. Everything goes through the gateway, as a user of the system
 * would; the event log is looked at through `TestSystem.events`, the same on both profiles.
 *
 * Every request carries a bearer token, as the system requires (issue 8): the Client asks the
 * running test system's gateway (its development identity provider, POST /auth/token) for a token
 * of the first role the permission table names for the route (`rolesFor(method, path)`), so the
 * receptionist registers, the doctor prescribes and the examiner performs. `auth` sends a given
 * role, or none; an Authorization header of the caller's own is sent as it is.
 */

// ---- resources as DESIGN.md section 6 describes them (only what the tests read) ---------------

export type Reception = {
  id: number;
  patientId: string;
  patientName: string;
  status: string;
  diagnosisId?: number;
  diagnosisOutcome?: string;
  diagnosisOpinion?: string;
  diagnosisRejectReason?: string;
  cancelReason?: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
};

export type Prescription = {
  prescriptionId: string;
  examinationType: string;
  status: string;
  examinationId?: number;
  result?: string;
  [field: string]: unknown;
};

export type Diagnosis = {
  id: number;
  receptionId: number;
  patientId: string;
  patientName: string;
  status: string;
  prescriptions: Prescription[];
  opinion?: string;
  rejectReason?: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
};

export type Examination = {
  id: number;
  prescriptionId: string;
  diagnosisId: number;
  receptionId: number;
  examinationType: string;
  status: string;
  result?: string;
  createdAt: string;
  updatedAt: string;
  [field: string]: unknown;
};

export type Visit = {
  receptionId: number;
  patientId: string;
  patientName: string;
  receptionStatus: string;
  diagnosisId?: number;
  diagnosisStatus?: string;
  examinations: Array<{ examinationId?: number; prescriptionId: string; examinationType: string; status: string; result?: string }>;
  stage: string;
  updatedAt: string;
  [field: string]: unknown;
};

export type Page<T> = { items: T[]; page: number; size: number; total: number };

// ---- the HTTP client -------------------------------------------------------------------------

export type HttpReply<T = any> = {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or the raw text when the body is not JSON. */
  body: T;
  text: string;
  /** "POST /receptions", for failure messages. */
  request: string;
};

export type RequestOptions = {
  /** A value to send as JSON (content-type application/json). */
  json?: unknown;
  /** A raw body, sent as is (set the content-type in `headers`). */
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /**
   * Who the request is made as: by default ('route') a bearer token of the first role the
   * permission table allows on the route (none on a public route); a role for that role's token;
   * 'none' for no Authorization header. An `authorization` header in `headers` is sent as given
   * (a forged or malformed one) and no token is added.
   */
  auth?: 'route' | 'none' | Role;
};

export type ClientOptions = {
  /** The default of every request's `auth` (default 'route'). */
  auth?: RequestOptions['auth'];
  /** Where tokens come from (default: the token source of the test system running now). */
  tokens?: TokenSource;
};

export class Client {
  readonly baseUrl: string;
  private readonly auth: NonNullable<RequestOptions['auth']>;
  private readonly tokens: TokenSource | undefined;

  /**
   * A client of the gateway or of one service's own URL: either way its requests carry tokens
   * from the running test system's gateway (or `options.tokens`).
   */
  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.auth = options.auth ?? 'route';
    this.tokens = options.tokens;
  }

  /** The same server, as `auth` ('none', a role, or 'route'). */
  as(auth: NonNullable<RequestOptions['auth']>): Client {
    return new Client(this.baseUrl, { auth, ...(this.tokens ? { tokens: this.tokens } : {}) });
  }

  /** The Authorization header a request would carry, or {} (a public route, 'none', or no token to give). */
  async authorization(method: string, pathAndQuery: string, auth: RequestOptions['auth'] = this.auth): Promise<Record<string, string>> {
    if (auth === 'none') return {};
    const role = auth === 'route' || auth === undefined ? roleFor(method, pathAndQuery) : auth;
    const source = this.tokens ?? currentTokenSource();
    if (!role || !source) return {};
    const token = await source.tokenFor(role);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  async request<T = any>(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
    const given = options.headers ?? {};
    const hasAuthorization = Object.keys(given).some((name) => name.toLowerCase() === 'authorization');
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...(hasAuthorization ? {} : await this.authorization(method, pathAndQuery, options.auth)),
      ...given,
    };
    let body: string | undefined = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${pathAndQuery}`, {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the cause (ECONNREFUSED, EPIPE, a timeout) is what matters.
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause ? `${cause.code ?? ''} ${cause.message ?? ''}`.trim() : (error as Error).message;
      throw new Error(`${method} ${pathAndQuery}: no HTTP answer (${reason})`, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown = text;
    if (/json/i.test(response.headers.get('content-type') ?? '') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text, request: `${method} ${pathAndQuery}` };
  }

  get<T = any>(pathAndQuery: string, options?: RequestOptions): Promise<HttpReply<T>> {
    return this.request<T>('GET', pathAndQuery, options);
  }

  /** POSTs `json` as a JSON body; with no `json`, an empty body with no content-type. */
  post<T = any>(pathAndQuery: string, json?: unknown, options: RequestOptions = {}): Promise<HttpReply<T>> {
    return this.request<T>('POST', pathAndQuery, json === undefined ? options : { ...options, json });
  }

  patch<T = any>(pathAndQuery: string, json: unknown, options: RequestOptions = {}): Promise<HttpReply<T>> {
    return this.request<T>('PATCH', pathAndQuery, { ...options, json });
  }
}

/** A query string from defined values: query({ page: 0, status: undefined }) === '?page=0'. */
export function query(parameters: Record<string, string | number | undefined>): string {
  const defined = Object.entries(parameters).filter(([, v]) => v !== undefined) as Array<[string, string | number]>;
  if (defined.length === 0) return '';
  return `?${new URLSearchParams(defined.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
}

function shorten(text: string, max = 1500): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/** Asserts the status of a reply, with the request and the body in the failure message. */
export function expectStatus(reply: HttpReply, status: number, context = ''): void {
  if (reply.status !== status) {
    assert.fail(`${context ? `${context}: ` : ''}${reply.request} → expected ${status}, got ${reply.status}: ${shorten(reply.text)}`);
  }
}

/** Asserts the status and returns the body. */
export function ok<T>(reply: HttpReply<T>, status = 200, context = ''): T {
  expectStatus(reply, status, context);
  return reply.body;
}

export type ProblemExpectation = {
  /** Field names the `errors` list must name (validation problems). */
  fields?: string[];
  context?: string;
};

/** Asserts an RFC 9457 problem: the status, application/problem+json, and type/title/status in the body. */
export function assertProblem(reply: HttpReply, status: number, expectation: ProblemExpectation = {}): void {
  const where = `${expectation.context ? `${expectation.context}: ` : ''}${reply.request}`;
  expectStatus(reply, status, expectation.context);
  const contentType = reply.headers.get('content-type') ?? '';
  assert.match(contentType, /^application\/problem\+json/, `${where}: content-type should be application/problem+json, got "${contentType}"`);
  const body = reply.body as Record<string, unknown>;
  assert.equal(typeof body, 'object', `${where}: the problem body should be a JSON object, got ${shorten(reply.text)}`);
  assert.equal(typeof body.type, 'string', `${where}: problem.type missing in ${shorten(reply.text)}`);
  assert.ok((body.type as string).length > 0, `${where}: problem.type is empty`);
  assert.equal(typeof body.title, 'string', `${where}: problem.title missing in ${shorten(reply.text)}`);
  assert.equal(body.status, status, `${where}: problem.status should be ${status} in ${shorten(reply.text)}`);
  assert.ok(typeof body.detail === 'string' && body.detail.length > 0, `${where}: problem.detail should explain the error: ${shorten(reply.text)}`);
  if (expectation.fields) {
    const errors = body.errors;
    assert.ok(Array.isArray(errors) && errors.length > 0, `${where}: a validation problem should list the failing fields in "errors": ${shorten(reply.text)}`);
    const named = (errors as Array<{ field?: unknown }>).map((e) => String(e.field ?? ''));
    for (const field of expectation.fields) {
      assert.ok(
        named.some((n) => n === field || n.endsWith(`.${field}`) || n.startsWith(`${field}.`) || n.startsWith(`${field}[`)),
        `${where}: "errors" should name the field "${field}"; it names ${JSON.stringify(named)}`,
      );
    }
  }
}

// ---- eventual consistency --------------------------------------------------------------------

export type EventuallyOptions = { timeoutMs?: number; intervalMs?: number; message?: string };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value instanceof Error) return value.message;
  try {
    return shorten(typeof value === 'string' ? value : JSON.stringify(value), 3000);
  } catch {
    return String(value);
  }
}

/**
 * Retries `probe` until it returns without throwing, and returns what it returned. A throw (an
 * assertion) means "not yet". On timeout it fails with the last failure, which for an assertion
 * shows the value it last saw.
 */
export async function eventually<T>(probe: () => Promise<T> | T, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? patience(15_000);
  const intervalMs = options.intervalMs ?? 25;
  const started = Date.now();
  let attempts = 0;
  let lastError: unknown;
  while (true) {
    attempts += 1;
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() - started >= timeoutMs) {
      const title = options.message ?? 'condition';
      const error = new assert.AssertionError({
        message: `${title}: not met after ${timeoutMs} ms (${attempts} attempts); last failure: ${show(lastError)}`,
      });
      (error as { cause?: unknown }).cause = lastError;
      throw error;
    }
    await sleep(intervalMs);
  }
}

/**
 * Reads a value until `accept` holds for it and returns it; on timeout the failure shows the
 * last value read.
 */
export async function waitFor<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  options: EventuallyOptions = {},
): Promise<T> {
  return eventually(async () => {
    const value = await read();
    if (!accept(value)) throw new Error(`last value: ${show(value)}`);
    return value;
  }, { ...options, message: options.message ?? 'waiting for a value' });
}

// ---- runtime profiles ------------------------------------------------------------------------

/**
 * DESIGN.md section 3: 'embedded' (SQLite files and the embedded log in a temporary DATA_DIR)
 * and 'production' (PostgreSQL and Kafka). Every test file runs its whole suite once per profile.
 */
export type Profile = 'embedded' | 'production';

export const PRODUCTION_SKIP_REASON =
  'KAFKA_BROKERS and DATABASE_URL are not set: the production profile (Kafka + PostgreSQL) is skipped; eval "$(npm run -s infra:up)" to run it';

/** 'embedded' always; 'production' too when KAFKA_BROKERS and DATABASE_URL are both set. */
export function profiles(): Profile[] {
  return process.env.KAFKA_BROKERS?.trim() && process.env.DATABASE_URL?.trim() ? ['embedded', 'production'] : ['embedded'];
}

/**
 * Declares `suite` once per profile, each in a `describe` named after its profile (start the
 * system in that describe's before/after). When the production profile cannot run, a skipped
 * test named 'production' says why (and counts in the run's "skipped"), so a run never looks as
 * if it covered both.
 */
export function describeEachProfile(suite: (profile: Profile) => void): void {
  const available = profiles();
  for (const profile of available) describe(profile, () => suite(profile));
  if (!available.includes('production')) test('production', { skip: PRODUCTION_SKIP_REASON }, () => {});
}

/** A suite for the production profile only (replicas, say): declared, or skipped with the reason. */
export function describeProduction(name: string, suite: () => void): void {
  if (profiles().includes('production')) describe(name, suite);
  else test(name, { skip: PRODUCTION_SKIP_REASON }, () => {});
}

/**
 * How much longer the production profile may take to converge than the embedded one: Kafka adds
 * latency, and a member killed with SIGKILL holds its partitions until its session expires (6 s
 * here) before the group rebalances.
 */
const PATIENCE: Record<Profile, number> = { embedded: 1, production: 2 };

/** The profile of the system running now (systems run one at a time), for `patience`. */
let activeProfile: Profile = 'embedded';

/**
 * A timeout for the profile running now: `ms` on the embedded profile, more on the production
 * one. `eventually` uses it for its default; pass explicit timeouts through it too.
 */
export function patience(ms: number): number {
  return ms * PATIENCE[activeProfile];
}

// ---- one system per test file and profile ----------------------------------------------------

export const TEST_ENV = {
  LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
  EVENT_POLL_INTERVAL_MS: '10',
  EVENT_RETRY_BASE_DELAY_MS: '20',
  // The chaos and replicas tests send many requests from one address; the rate limit's own test sets it.
  RATE_LIMIT_PER_MINUTE: '0',
  ADDRESS_RATE_LIMIT_PER_MINUTE: '0',
  // Every test system logs in once per role, the load test's runs once each: no limit on logins either.
  AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '0',
  // Tokens outlive a test file, so one fetched before the gateway is stopped still serves.
  DEV_TOKEN_LIFETIME_SECONDS: '7200',
};

/**
 * The settings of the other profile, and the per-service ones, blanked: a shell that exported
 * the production settings must not turn an embedded system into a production one, nor share one
 * DATABASE_SCHEMA between services.
 */
const PROFILE_VARIABLES_UNSET: Env = {
  DATABASE_URL: '',
  DATABASE_SCHEMA: '',
  KAFKA_BROKERS: '',
  KAFKA_TOPIC: '',
  DEAD_LETTER_TOPIC: '',
  KAFKA_CLIENT_ID: '',
  // Nor may a collector the shell points at receive the tests' spans.
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
};

export type TestSystemOptions = {
  profile?: Profile;
  /** Processes per backend service (production profile only; see startSystem). */
  replicas?: Partial<Record<BackendServiceName, number>>;
  /** More environment for every service. */
  env?: Env;
  /** The checkout whose code the services run (default this one): another release's, for the rolling-upgrade test. */
  cwd?: string;
};

export type TestSystem = {
  profile: Profile;
  system: RunningSystem;
  client: Client;
  /** Bearer tokens per role from this system's gateway (what every Client uses while it runs). */
  tokens: TokenSource;
  dataDir: string;
  /**
   * The environment every service got (TEST_ENV, DATA_DIR and the profile's database and Kafka
   * settings): what a program run beside the system needs, such as `npm run rebuild`.
   */
  env: Env;
  /** The event log of this system (the embedded log, or this system's Kafka topics). */
  events: EventLog;
  /** production: this system's own database (DATABASE_URL of the services) and topics. */
  database?: { name: string; url: string };
  topics?: { events: string; deadLetters: string };
  /**
   * Records how a test ended (call it from `afterEach`): after a failure `stop` keeps the
   * DATA_DIR, the database and the topics for a look.
   */
  recordOutcome(test: { passed: boolean }): void;
  /**
   * Stops every service; fails if one did not exit 0 (the contract: a clean exit on SIGTERM).
   * Removes the DATA_DIR, the database and the topics unless a test failed, a service did not
   * stop cleanly, or E2E_KEEP_DATA is set.
   */
  stop(): Promise<void>;
};

function randomSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** The URL of another database on the same server as `url`. */
function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withAdminConnection<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where the production systems go: the servers of this process's KAFKA_BROKERS and DATABASE_URL, read once per system. */
type ProductionServers = { brokers: string; serverUrl: string };

function productionServers(): ProductionServers {
  const brokers = process.env.KAFKA_BROKERS?.trim();
  const serverUrl = process.env.DATABASE_URL?.trim();
  if (!brokers || !serverUrl) throw new Error(PRODUCTION_SKIP_REASON);
  return { brokers, serverUrl };
}

/** production: a database of its own and topics of their own, so no two systems ever meet. */
async function isolateProduction(
  label: string,
  { brokers, serverUrl: baseUrl }: ProductionServers,
): Promise<{ env: Env; database: { name: string; url: string }; topics: { events: string; deadLetters: string } }> {
  const suffix = randomSuffix();
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40);
  const name = `e2e_${slug}_${suffix}`;
  await withAdminConnection(baseUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  const url = databaseUrl(baseUrl, name);
  const events = `e2e-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${suffix}`;
  const topics = { events, deadLetters: `${events}.dlq` };
  return {
    database: { name, url },
    topics,
    env: {
      DATABASE_URL: url,
      KAFKA_BROKERS: brokers,
      // The services create both topics at start.
      KAFKA_TOPIC: topics.events,
      DEAD_LETTER_TOPIC: topics.deadLetters,
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    },
  };
}

/**
 * The consumer groups are named after the services on every system (the platform has no setting
 * for them), and two systems consuming from one broker at the same time under the same group
 * names steal each other's partitions. So production systems started by this harness take turns
 * on a broker: a PostgreSQL advisory lock, held on a connection of its own while the system runs
 * (a test process that dies releases it with its connection). Returns the release.
 */
async function takeTheBroker(label: string, { brokers, serverUrl }: ProductionServers): Promise<() => Promise<void>> {
  const key = `medical-e2e:kafka-consumer-groups:${brokers}`;
  const client = new pg.Client({ connectionString: serverUrl });
  client.on('error', () => undefined);
  await client.connect();
  const started = Date.now();
  let told = false;
  try {
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key]);
      if (rows[0]?.locked) break;
      if (!told) {
        process.stderr.write(`${label} (production): waiting for another e2e system on ${brokers} to stop (the consumer groups of every system have the same names)\n`);
        told = true;
      }
      if (Date.now() - started > BROKER_WAIT_MS) {
        throw new Error(`${label}: another e2e system kept the Kafka broker ${brokers} for ${BROKER_WAIT_MS / 60_000} minutes; is a test run stuck?`);
      }
      await sleep(500);
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return async () => {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
    await client.end().catch(() => undefined);
  };
}

const BROKER_WAIT_MS = 20 * 60_000;

/**
 * Waits until no member of the service groups consumes another topic: a system started outside
 * this harness (`npm start` on the production profile, another checkout's tests) or a member
 * killed a moment ago that the broker has not expired yet. Fails, naming them, if they stay.
 */
async function waitForGroupsOfOurOwn(label: string, env: Env, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = await membersOnOtherTopics(env);
    if (others.length === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `${label}: the consumer groups have live members on other topics: ${others.join('; ')}. Another system consumes from this ` +
          'broker under the same group names (they are the service names) and would take partitions of this one; stop it first',
      );
    }
    await sleep(500);
  }
}

/**
 * FORCE ends the system's leftover connections. PostgreSQL 15 refuses it (42501) while an
 * autovacuum worker is in the database and the role is not in pg_signal_backend (infra/postgres
 * grants that, a server we did not set up may not), and 55006 is a connection that came in
 * meanwhile; both pass within seconds, so they are retried before the failure is reported.
 */
async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await withAdminConnection(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if ((code !== '42501' && code !== '55006') || Date.now() >= deadline) throw error;
      await sleep(500);
    }
  }
}

/**
 * Starts the whole system on `profile` (default embedded) in a fresh temporary DATA_DIR, with
 * the services' output captured. On the production profile the system gets a database of its
 * own (CREATE DATABASE on the server of DATABASE_URL) and Kafka topics of its own
 * (e2e-<label>-<random> and its .dlq); consumer groups are named after the services, as always.
 * E2E_SHOW_LOGS=1 prints each service's output when the system stops; E2E_KEEP_DATA=1 keeps the
 * DATA_DIR, the database and the topics (they are kept anyway after a failure).
 */
export async function startTestSystem(label: string, options: TestSystemOptions = {}): Promise<TestSystem> {
  const profile = options.profile ?? 'embedded';
  activeProfile = profile;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${label}-${profile}-`));
  let releaseBroker: (() => Promise<void>) | undefined;
  let servers: ProductionServers | undefined;
  let isolation: Awaited<ReturnType<typeof isolateProduction>> | undefined;
  let env: Env = { ...TEST_ENV, ...PROFILE_VARIABLES_UNSET, ...options.env, DATA_DIR: dataDir };

  const cleanUp = async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (isolation) {
      await deleteTopics(env);
      await dropDatabase(servers!.serverUrl, isolation.database.name);
    }
  };
  const abandon = async (error: unknown): Promise<never> => {
    await cleanUp().catch(() => undefined);
    await releaseBroker?.();
    throw error;
  };

  let system: RunningSystem;
  let events: EventLog;
  try {
    if (profile === 'production') {
      servers = productionServers();
      releaseBroker = await takeTheBroker(label, servers);
      isolation = await isolateProduction(label, servers);
      env = { ...TEST_ENV, ...PROFILE_VARIABLES_UNSET, ...isolation.env, ...options.env, DATA_DIR: dataDir };
      await waitForGroupsOfOurOwn(label, env);
    }
    system = await startSystem({
      dataDir,
      env,
      output: 'capture',
      readyTimeoutMs: 30_000,
      ...(options.replicas ? { replicas: options.replicas } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
  } catch (error) {
    return abandon(error);
  }
  try {
    events = await openEventLog(env);
  } catch (error) {
    await system.stopAll();
    return abandon(error);
  }

  // Tokens for every client of this system, of the gateway or of a service's own URL.
  const tokens = new TokenSource(system.gatewayUrl, env.DEV_PASSWORD || undefined);
  setCurrentTokenSource(tokens);
  try {
    await tokens.prefetch();
  } catch (error) {
    await system.stopAll();
    await events.close().catch(() => undefined);
    return abandon(error);
  }
  const client = new Client(system.gatewayUrl, { tokens });
  let failedTests = 0;
  return {
    profile,
    system,
    client,
    tokens,
    dataDir,
    env,
    events,
    ...(isolation ? { database: isolation.database, topics: isolation.topics } : {}),
    recordOutcome(test) {
      if (!test.passed) failedTests += 1;
    },
    async stop() {
      // A service that ended on its own during the tests explains failures better than they do.
      const unexpected = system.unexpectedExits();
      await system.stopAll();
      await events.close().catch(() => undefined);
      const processes = SERVICE_NAMES.flatMap((name) =>
        system.replicasOf(name).map((handle, index) => ({ name: system.replicaCounts[name] > 1 ? `${name}[${index}]` : name, handle })),
      );
      if (process.env.E2E_SHOW_LOGS) {
        for (const { name, handle } of processes) process.stderr.write(`--- ${label} (${profile}): ${name} output ---\n${handle.output().slice(-8000)}\n`);
      }
      const unclean = processes.filter(({ handle }) => handle.exitInfo()?.code !== 0);
      const report = unclean.map(({ name, handle }) => `${name}: ${JSON.stringify(handle.exitInfo())}\n${handle.output().slice(-4000)}`).join('\n');
      const keep = unclean.length > 0 || unexpected.length > 0 || failedTests > 0 || Boolean(process.env.E2E_KEEP_DATA);
      try {
        if (!keep) await cleanUp();
      } finally {
        await releaseBroker?.();
      }
      const kept = [
        `DATA_DIR ${dataDir}`,
        ...(isolation ? [`database ${isolation.database.url}`, `topics ${isolation.topics.events}, ${isolation.topics.deadLetters}`] : []),
      ].join('; ');
      if (keep && failedTests > 0) process.stderr.write(`${label} (${profile}): ${failedTests} test(s) failed; kept ${kept}\n`);
      assert.deepEqual(unexpected, [], 'no service should end on its own while the tests run (a crash, or a signal from outside the harness)');
      assert.equal(unclean.length, 0, `services should exit 0 on SIGTERM (kept ${kept}):\n${report}`);
    },
  };
}

/**
 * The system the suite running now is on (`running`) and a client of its gateway (`client`), for
 * its tests to read: set by `useTestSystem`'s `before` hook (systems run one at a time).
 */
let suiteSystem: TestSystem;
let suiteClient: Client;
export { suiteClient as client, suiteSystem as running };

type SuiteSystemOptions = Omit<TestSystemOptions, 'profile'>;

/**
 * The hooks of one system per suite, for the `describe` they are called in: `before` starts the
 * system on `profile`, makes it `running` (and its gateway's `client`) and hands it to `onStart`
 * (which can set the file's variables and prepare data), `afterEach` records each test's
 * outcome, `after` stops it. A failing `onStart` counts as a failure, so the system's data is kept.
 */
export function useTestSystem(label: string, profile: Profile, options?: SuiteSystemOptions): void;
export function useTestSystem(label: string, profile: Profile, onStart: (system: TestSystem) => void | Promise<void>, options?: SuiteSystemOptions): void;
export function useTestSystem(
  label: string,
  profile: Profile,
  onStartOrOptions?: ((system: TestSystem) => void | Promise<void>) | SuiteSystemOptions,
  moreOptions: SuiteSystemOptions = {},
): void {
  const onStart = typeof onStartOrOptions === 'function' ? onStartOrOptions : () => {};
  const options = typeof onStartOrOptions === 'function' ? moreOptions : (onStartOrOptions ?? {});
  let current: TestSystem | undefined;
  before(async () => {
    current = await startTestSystem(label, { ...options, profile });
    suiteSystem = current;
    suiteClient = current.client;
    try {
      await onStart(current);
    } catch (error) {
      current.recordOutcome({ passed: false });
      throw error;
    }
  });
  // TestContext.passed (Node 21.7+) is not in every @types/node yet.
  afterEach((t) => current?.recordOutcome({ passed: (t as { passed?: boolean }).passed !== false }));
  after(async () => {
    const system = current;
    current = undefined;
    await system?.stop();
  });
}

/**
 * Waits until every consumer group has consumed the whole log and the log's end stayed put for
 * a few polls: the saga has nothing left in flight.
 */
export async function waitForQuiescence(
  target: TestSystem | EventLog,
  options: EventuallyOptions & { stableChecks?: number } = {},
): Promise<LagReport> {
  const log = 'events' in target ? target.events : target;
  const stableChecks = options.stableChecks ?? 4;
  let previousEnd = -1;
  let stable = 0;
  try {
    return await eventually(
      async () => {
        const report = await log.lagReport();
        stable = caughtUp(report) && report.end === previousEnd ? stable + 1 : 0;
        previousEnd = report.end;
        if (stable < stableChecks) throw new Error(`log not quiet yet: ${JSON.stringify(report)}`);
        return report;
      },
      {
        timeoutMs: patience(20_000),
        intervalMs: log.kind === 'kafka' ? 100 : 40,
        ...options,
        message: options.message ?? 'every consumer group caught up with the log',
      },
    );
  } catch (error) {
    // A consumer group shared with another system explains a stall better than the lag does.
    const others = await log.membersOnOtherTopics().catch(() => []);
    if (others.length > 0 && error instanceof Error) error.message += `\nthe consumer groups also have members on other topics (another system on this broker): ${others.join('; ')}`;
    throw error;
  }
}

// ---- reading lists ---------------------------------------------------------------------------

/** Every item of a list endpoint, page by page (size 100), checking the envelope on the way. */
/**
 * Runs one statement in a service's own database (its SQLite file, or its schema in this
 * system's PostgreSQL database), for what no API exposes: its consumer positions, say. The
 * statement is written with `?` placeholders; on PostgreSQL they become `$1`, `$2`, ...
 */
export async function inServiceDatabase(running: TestSystem, service: BackendServiceName, statement: string, parameters: Array<string | number> = []): Promise<unknown[]> {
  if (running.database) {
    const client = new pg.Client({ connectionString: running.database.url });
    await client.connect();
    try {
      await client.query(`set search_path to "${service.replaceAll('-', '_')}"`);
      let index = 0;
      const { rows } = await client.query(statement.replace(/\?/g, () => `$${++index}`), parameters);
      return rows;
    } finally {
      await client.end();
    }
  }
  const db = new DatabaseSync(path.join(running.dataDir, `${service}.sqlite`));
  try {
    const prepared = db.prepare(statement);
    return /^\s*select/i.test(statement) ? prepared.all(...parameters) : [prepared.run(...parameters)];
  } finally {
    db.close();
  }
}

export async function listAll<T>(client: Client, pathname: string, filters: Record<string, string | number | undefined> = {}): Promise<T[]> {
  const items: T[] = [];
  for (let page = 0; ; page++) {
    const body = ok(await client.get<Page<T>>(`${pathname}${query({ ...filters, page, size: 100 })}`));
    assert.ok(Array.isArray(body.items), `${pathname}: items should be an array`);
    items.push(...body.items);
    if (body.items.length < 100 || items.length >= body.total) {
      assert.equal(items.length, body.total, `${pathname}${query(filters)}: the pages should add up to total`);
      return items;
    }
  }
}

/** The raw JSON text of every page of a list endpoint (for byte-for-byte comparisons). */
export async function rawPages(client: Client, pathname: string): Promise<string[]> {
  const pages: string[] = [];
  for (let page = 0; ; page++) {
    const reply = await client.get(`${pathname}${query({ page, size: 100 })}`);
    expectStatus(reply, 200);
    pages.push(reply.text);
    const body = reply.body as Page<unknown>;
    if (body.items.length < 100) return pages;
  }
}

// ---- the steps of a visit --------------------------------------------------------------------

let patientCounter = 0;

/** A patient id unique to this run that the registry never issued: for a filter that must find nobody. */
export function uniquePatientId(prefix = 'P'): string {
  patientCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${patientCounter}`;
}

export type Patient = {
  patientId: string;
  name: string;
  birthDate?: string;
  sex: 'female' | 'male' | 'other' | 'unknown';
  phone?: string;
  status: 'ACTIVE' | 'MERGED';
  mergedInto?: string;
  possibleDuplicates: string[];
  createdAt: string;
  updatedAt: string;
};

export type NewPatient = { name?: string; birthDate?: string; sex?: Patient['sex']; phone?: string };

/**
 * The receptionist registers a patient of the registry and gets their number. Tests register many
 * patients of one name and birth date; each is declared someone else (`notADuplicate`), as the
 * desk does after looking at the look-alikes.
 */
export async function registerPatient(client: Client, fields: NewPatient = {}): Promise<string> {
  const body = { name: 'Hong Gildong', birthDate: '1980-01-01', sex: 'unknown', ...fields, notADuplicate: true };
  return ok(await client.post<Patient>('/patients', body), 201, 'register a patient').patientId;
}

export type NewReception = { patientId?: string; patientName?: string; birthDate?: string; department?: string; symptom?: string };

/**
 * The receptionist registers a visit: 201, the reception, and a Location naming it. For the
 * registry's patient `patientId`, or else for a patient registered first with `patientName` and
 * `birthDate`. The patient's name (and birth date) go with the registration when known: the
 * registry checks them, and a reception of the release before the registry needs the name.
 */
export async function registerVisit(client: Client, fields: NewReception = {}): Promise<Reception> {
  const { patientId: given, ...visit } = fields;
  const patient: NewPatient = { name: visit.patientName ?? 'Hong Gildong', ...(visit.birthDate !== undefined ? { birthDate: visit.birthDate } : {}) };
  const patientId = given ?? (await registerPatient(client, patient));
  const body = given === undefined ? { ...visit, patientName: patient.name } : visit;
  const reply = await client.post<Reception>('/receptions', { ...body, patientId });
  const reception = ok(reply, 201, 'register a visit');
  assert.equal(reply.headers.get('location'), `/receptions/${reception.id}`, 'Location of the new reception');
  return reception;
}

export async function getReception(client: Client, id: number): Promise<Reception> {
  return ok(await client.get<Reception>(`/receptions/${id}`));
}

export async function getDiagnosis(client: Client, id: number): Promise<Diagnosis> {
  return ok(await client.get<Diagnosis>(`/diagnoses/${id}`));
}

export async function getExamination(client: Client, id: number): Promise<Examination> {
  return ok(await client.get<Examination>(`/examinations/${id}`));
}

export async function getVisit(client: Client, receptionId: number): Promise<Visit> {
  return ok(await client.get<Visit>(`/patientManagements/${receptionId}`));
}

/** The diagnoses of a reception (normally exactly one). */
export async function diagnosesOf(client: Client, receptionId: number): Promise<Diagnosis[]> {
  return ok(await client.get<Page<Diagnosis>>(`/diagnoses${query({ receptionId, size: 100 })}`)).items;
}

/** The examinations of a diagnosis. */
export async function examinationsOf(client: Client, diagnosisId: number): Promise<Examination[]> {
  return ok(await client.get<Page<Examination>>(`/examinations${query({ diagnosisId, size: 100 })}`)).items;
}

/** Waits until the reception reaches the doctor, and until `accept` holds for the diagnosis. */
export async function waitForDiagnosis(
  client: Client,
  receptionId: number,
  accept: (d: Diagnosis) => boolean = () => true,
  options: EventuallyOptions = {},
): Promise<Diagnosis> {
  const found = await waitFor(
    () => diagnosesOf(client, receptionId),
    (list) => list.length > 0 && accept(list[0]!),
    { message: `diagnosis of reception ${receptionId}`, ...options },
  );
  assert.equal(found.length, 1, `reception ${receptionId} should have exactly one diagnosis: ${JSON.stringify(found)}`);
  return found[0]!;
}

/** The doctor prescribes an examination: 201 and the diagnosis; returns both and the new prescription. */
export async function prescribe(
  client: Client,
  diagnosisId: number,
  examinationType: string,
  instructions?: string,
): Promise<{ diagnosis: Diagnosis; prescription: Prescription }> {
  const body = instructions === undefined ? { examinationType } : { examinationType, instructions };
  const diagnosis = ok(await client.post<Diagnosis>(`/diagnoses/${diagnosisId}/prescriptions`, body), 201, `prescribe ${examinationType}`);
  const matching = diagnosis.prescriptions.filter((p) => p.examinationType === examinationType);
  const prescription = matching.at(-1);
  assert.ok(prescription, `the diagnosis returned by the prescription should list it: ${JSON.stringify(diagnosis)}`);
  return { diagnosis, prescription };
}

/** Waits until the prescription has become an examination, and until `accept` holds for it. */
export async function waitForExamination(
  client: Client,
  diagnosisId: number,
  prescriptionId: string,
  accept: (e: Examination) => boolean = () => true,
  options: EventuallyOptions = {},
): Promise<Examination> {
  const found = await waitFor(
    async () => (await examinationsOf(client, diagnosisId)).filter((e) => e.prescriptionId === prescriptionId),
    (list) => list.length > 0 && accept(list[0]!),
    { message: `examination of prescription ${prescriptionId}`, ...options },
  );
  assert.equal(found.length, 1, `prescription ${prescriptionId} should have exactly one examination: ${JSON.stringify(found)}`);
  return found[0]!;
}

/**
 * A visit brought to a pending examination: registered, on the doctor's list, one examination of
 * `examinationType` prescribed and requested from the examiners. What most tests start from.
 */
export async function visitWithPendingExamination(
  client: Client,
  examinationType: string,
  fields: NewReception = {},
): Promise<{ reception: Reception; diagnosis: Diagnosis; examination: Examination }> {
  const reception = await registerVisit(client, fields);
  const diagnosis = await waitForDiagnosis(client, reception.id);
  const { prescription } = await prescribe(client, diagnosis.id, examinationType);
  const examination = await waitForExamination(client, diagnosis.id, prescription.prescriptionId);
  return { reception, diagnosis, examination };
}

export async function waitForReception(
  client: Client,
  receptionId: number,
  accept: (r: Reception) => boolean,
  options: EventuallyOptions = {},
): Promise<Reception> {
  return waitFor(() => getReception(client, receptionId), accept, { message: `reception ${receptionId}`, ...options });
}

export async function waitForVisit(
  client: Client,
  receptionId: number,
  accept: (v: Visit) => boolean,
  options: EventuallyOptions = {},
): Promise<Visit> {
  return waitFor(
    async () => {
      const reply = await client.get<Visit>(`/patientManagements/${receptionId}`);
      if (reply.status === 404) return undefined as unknown as Visit; // not projected yet
      return ok(reply);
    },
    (visit) => visit !== undefined && accept(visit),
    { message: `visit view of reception ${receptionId}`, ...options },
  );
}

export async function perform(client: Client, examinationId: number, result: string): Promise<Examination> {
  return ok(await client.post<Examination>(`/examinations/${examinationId}/perform`, { result }), 200, 'perform');
}

export async function cancelExamination(client: Client, examinationId: number, reason?: string): Promise<Examination> {
  return ok(await client.post<Examination>(`/examinations/${examinationId}/cancel`, reason === undefined ? {} : { reason }), 200, 'cancel examination');
}

export async function complete(client: Client, diagnosisId: number, opinion: string): Promise<Diagnosis> {
  return ok(await client.post<Diagnosis>(`/diagnoses/${diagnosisId}/complete`, { opinion }), 200, 'complete');
}

export async function reject(client: Client, diagnosisId: number, reason: string): Promise<Diagnosis> {
  return ok(await client.post<Diagnosis>(`/diagnoses/${diagnosisId}/reject`, { reason }), 200, 'reject');
}

export async function cancelReception(client: Client, receptionId: number, reason?: string): Promise<Reception> {
  return ok(await client.post<Reception>(`/receptions/${receptionId}/cancel`, reason === undefined ? {} : { reason }), 200, 'cancel reception');
}

export async function confirm(client: Client, receptionId: number): Promise<Reception> {
  return ok(await client.post<Reception>(`/receptions/${receptionId}/confirm`), 200, 'confirm');
}

/** ISO 8601 date-time, as every resource's createdAt/updatedAt. */
export function assertTimestamp(value: unknown, what: string): void {
  assert.equal(typeof value, 'string', `${what} should be an ISO 8601 string, got ${JSON.stringify(value)}`);
  assert.match(value as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, `${what} should be ISO 8601`);
  assert.ok(!Number.isNaN(Date.parse(value as string)), `${what} should be a valid date`);
}
