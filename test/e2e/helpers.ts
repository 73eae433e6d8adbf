import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startSystem, type RunningSystem, type ServiceName } from '../../scripts/lib/processes.ts';
import { CONSUMER_GROUPS, lagReport, type LagReport } from './event-log.ts';

/**
 * The end-to-end tests' toolkit: a system per test file, a small HTTP client for the gateway,
 * `eventually` for the eventual consistency of the saga, and one helper per step of a visit.
 * Everything goes through the gateway, as a user of the system would.
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
};

export class Client {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async request<T = any>(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options.headers };
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

function describe(value: unknown): string {
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
  const timeoutMs = options.timeoutMs ?? 15_000;
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
        message: `${title}: not met after ${timeoutMs} ms (${attempts} attempts); last failure: ${describe(lastError)}`,
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
    if (!accept(value)) throw new Error(`last value: ${describe(value)}`);
    return value;
  }, { ...options, message: options.message ?? 'waiting for a value' });
}

// ---- one system per test file ----------------------------------------------------------------

export const TEST_ENV = {
  LOG_LEVEL: 'warn',
  EVENT_POLL_INTERVAL_MS: '10',
  EVENT_RETRY_BASE_DELAY_MS: '20',
};

export type TestSystem = {
  system: RunningSystem;
  client: Client;
  dataDir: string;
  /** Stops every service; fails if one did not exit 0 (the contract: a clean exit on SIGTERM). */
  stop(): Promise<void>;
};

/**
 * Starts the whole system in a fresh temporary DATA_DIR, with the services' output captured.
 * E2E_SHOW_LOGS=1 prints each service's output when the system stops; E2E_KEEP_DATA=1 keeps
 * the DATA_DIR (it is kept anyway when a service did not stop cleanly).
 */
export async function startTestSystem(label: string): Promise<TestSystem> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${label}-`));
  const system = await startSystem({ dataDir, env: TEST_ENV, output: 'capture', readyTimeoutMs: 30_000 });
  const client = new Client(system.gatewayUrl);
  return {
    system,
    client,
    dataDir,
    async stop() {
      // A service that ended on its own during the tests explains failures better than they do.
      const unexpected = system.unexpectedExits();
      const exits = await system.stopAll();
      if (process.env.E2E_SHOW_LOGS) {
        for (const [name, handle] of Object.entries(system.services)) {
          process.stderr.write(`--- ${label}: ${name} output ---\n${handle.output().slice(-8000)}\n`);
        }
      }
      const unclean = Object.entries(exits).filter(([, exit]) => exit.code !== 0);
      const report = unclean
        .map(([name, exit]) => `${name}: ${JSON.stringify(exit)}\n${system.services[name as ServiceName].output().slice(-4000)}`)
        .join('\n');
      if (unclean.length === 0 && unexpected.length === 0 && !process.env.E2E_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
      assert.deepEqual(unexpected, [], 'no service should end on its own while the tests run (a crash, or a signal from outside the harness)');
      assert.equal(unclean.length, 0, `services should exit 0 on SIGTERM (data kept in ${dataDir}):\n${report}`);
    },
  };
}

/**
 * Waits until every consumer group has consumed the whole log and the log's end stayed put for
 * a few polls: the saga has nothing left in flight.
 */
export async function waitForQuiescence(dataDir: string, options: EventuallyOptions & { stableChecks?: number } = {}): Promise<LagReport> {
  const stableChecks = options.stableChecks ?? 4;
  let previousEnd = -1;
  let stable = 0;
  return eventually(
    () => {
      const report = lagReport(dataDir);
      const caughtUp = CONSUMER_GROUPS.every((g) => report.committed[g] === report.end);
      stable = caughtUp && report.end === previousEnd ? stable + 1 : 0;
      previousEnd = report.end;
      if (stable < stableChecks) throw new Error(`log not quiet yet: ${JSON.stringify(report)}`);
      return report;
    },
    { timeoutMs: 20_000, intervalMs: 40, ...options, message: options.message ?? 'every consumer group caught up with the log' },
  );
}

// ---- reading lists ---------------------------------------------------------------------------

/** Every item of a list endpoint, page by page (size 100), checking the envelope on the way. */
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

/** A patient id unique to this run, so filters in one test never see another test's visits. */
export function uniquePatientId(prefix = 'P'): string {
  patientCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${patientCounter}`;
}

export type NewReception = { patientId?: string; patientName?: string; birthDate?: string; department?: string; symptom?: string };

/** The receptionist registers a visit: 201, the reception, and a Location naming it. */
export async function registerVisit(client: Client, fields: NewReception = {}): Promise<Reception> {
  const body = { patientId: uniquePatientId(), patientName: 'Hong Gildong', ...fields };
  const reply = await client.post<Reception>('/receptions', body);
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
