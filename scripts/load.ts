import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { percentile, round } from './lib/stats.ts';

/**
 * npm run load [-- URL] [-- --connections 20 --duration 60 --read-only --json]
 *
 * A load test of a running system through its gateway, as the staff's screens use it: autocannon
 * keeps `connections` connections busy for `duration` seconds (20 for 60 s by default, as the
 * reference's `siege -c20 -t60S`), each cycling through what a receptionist's, a doctor's and an
 * examiner's dashboards do: mostly the lists (the visit board of patient-management, the desk's
 * receptions, the doctor's and the examiners' worklists), and one new reception in ten, which the
 * desk then opens. `--read-only` leaves the writes out (a system whose data must stay untouched).
 *
 * It prints requests/s, latency p50/p95/p99 (of every answer, whatever its status), the status
 * codes per route, non-2xx answers and transport errors (refused connections, timeouts), and exits
 * 1 when any request failed or was answered 5xx, so a CI step or a Kubernetes Job fails visibly.
 * It stops by itself: after `duration` seconds, or after `--amount` requests when given, and in
 * any case `duration` + 30 s later (a watchdog). The target is the first argument, else
 * LOAD_TARGET_URL, else http://127.0.0.1:8088 (`npm start`'s gateway). The receptions it creates
 * have patient ids starting with `LOAD-`.
 *
 * Every request carries a bearer token: `--token` or LOAD_TOKEN as given (a token of your identity
 * provider, AUTH_MODE=oidc), else one the gateway's development identity provider issues at
 * POST /auth/token for LOAD_USERNAME / LOAD_PASSWORD (admin / demo by default: the admin may call
 * every route of the mix), renewed before it expires. A gateway without that endpoint (404) gets
 * requests without a token.
 *
 * In a Kubernetes Job beside a service-mesh proxy (Istio's sidecar), LOAD_SIDECAR_QUIT_URL
 * (`http://127.0.0.1:15020/quitquitquit`) is POSTed when the run ends, whatever its outcome, so
 * the proxy exits too and the Job completes instead of running until its deadline.
 */

export const DEFAULT_TARGET_URL = 'http://127.0.0.1:8088';
const DEFAULT_USERNAME = 'admin';
const DEFAULT_PASSWORD = 'demo';
const LIMITS = { connections: [1, 1_000], duration: [1, 3_600], amount: [1, 100_000_000], timeout: [1, 120] } as const;
/** How long after the planned end the watchdog gives up on autocannon. */
const WATCHDOG_GRACE_MS = 30_000;

export type LoadOptions = {
  target: URL;
  connections: number;
  durationS: number;
  /** Stop after this many requests instead (still bounded by the duration's watchdog). */
  amount?: number;
  /** Seconds before one request counts as timed out (an error). */
  timeoutS: number;
  readOnly: boolean;
  json: boolean;
  /** A bearer token to send as given (--token, LOAD_TOKEN); else one is obtained with `username` and `password`. */
  token?: string;
  username: string;
  password: string;
};

type RouteCounts = Record<string, Record<string, number>>;

export type LoadSummary = {
  target: string;
  connections: number;
  durationS: number;
  readOnly: boolean;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  statusCodes: Record<string, number>;
  /** Per route ("GET /receptions"), the answers by status code. */
  routes: RouteCounts;
  non2xx: number;
  status5xx: number;
  /** Requests that got no answer: refused or reset connections, and timeouts. */
  errors: number;
  timeouts: number;
  /** A few distinct error messages, to say what went wrong. */
  errorSamples: string[];
  ok: boolean;
};

// ---- the mix ---------------------------------------------------------------------------------

/** Context autocannon keeps per connection, reset at each pass over the list. */
type Context = { receptionId?: number };
type Request = {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: Request, context: Context) => Request;
  onResponse?: (status: number, body: string, context: Context) => void;
};

const PAGE = 'page=0&size=20';
const PATIENT_NAMES = ['김민지', '이서준', '박지우', 'Emma Martin', 'Lucas Dubois', '최하은', 'Noah Schmidt', '정도윤'];
// The load's doctor is the demo doctor, who works in internal medicine: a visit of another
// department would be refused to them (outside-department), so every visit is registered there.
const DEPARTMENTS = ['internal-medicine'];
const SYMPTOMS = ['cough and fever', 'back pain', 'rash on the arm', 'headache for three days'];

/**
 * One pass of a connection over the staff's screens. Each entry has a `route` label for the
 * summary (the path without its id and query). The reads are what the dashboards poll; one
 * registration in ten requests, followed by the desk opening the reception it just created. The
 * registrations are visits of returning `patients`, taken in turn.
 */
export function requestMix(prefix: string, readOnly: boolean, patients: readonly string[] = []): Array<Request & { route: string }> {
  let sequence = 0;
  const get = (path: string, route = path.split('?')[0]!) => ({ method: 'GET' as const, path: `${prefix}${path}`, route: `GET ${route}` });
  const reads = [
    get(`/patientManagements?${PAGE}`), // the visit board
    get(`/receptions?status=RECEIVED&${PAGE}`), // the desk's waiting list
    get(`/diagnoses?status=REGISTERED&${PAGE}`), // the doctor's worklist
    get(`/patientManagements?${PAGE}`),
    get(`/examinations?status=REQUESTED&${PAGE}`), // the examiners' worklist
    get(`/receptions?${PAGE}`),
    get(`/patientManagements?${PAGE}`),
    get(`/diagnoses?${PAGE}`),
  ];
  if (readOnly) return reads;
  if (patients.length === 0) throw new Error('a mix with registrations needs the patients they are for');
  const register = {
    method: 'POST' as const,
    path: `${prefix}/receptions`,
    route: 'POST /receptions',
    headers: { 'content-type': 'application/json' },
    setupRequest(request: Request): Request {
      const n = sequence++;
      const body = {
        patientId: patients[n % patients.length]!,
        department: DEPARTMENTS[n % DEPARTMENTS.length]!,
        symptom: SYMPTOMS[n % SYMPTOMS.length]!,
      };
      return { ...request, body: JSON.stringify(body) };
    },
    onResponse(status: number, body: string, context: Context): void {
      context.receptionId = undefined;
      if (status !== 201) return;
      try {
        const id = (JSON.parse(body) as { id?: unknown }).id;
        if (typeof id === 'number' && Number.isInteger(id)) context.receptionId = id;
      } catch {
        // Not JSON: the next request falls back to the list.
      }
    },
  };
  const open = {
    method: 'GET' as const,
    path: `${prefix}/receptions?${PAGE}`,
    route: 'GET /receptions/{id}',
    // The reception just registered; the list when the registration failed.
    setupRequest: (request: Request, context: Context): Request =>
      context.receptionId === undefined ? request : { ...request, path: `${prefix}/receptions/${context.receptionId}` },
  };
  return [register, open, ...reads];
}

// ---- options ---------------------------------------------------------------------------------

function integerOption(name: keyof typeof LIMITS, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const [min, max] = LIMITS[name];
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`--${name} takes a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

export function parseOptions(args: string[], env: Record<string, string | undefined>): LoadOptions {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      connections: { type: 'string', short: 'c' },
      duration: { type: 'string', short: 'd' },
      amount: { type: 'string', short: 'n' },
      timeout: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run load -- [URL] [--connections 20] [--duration 60] [--amount N] [--timeout 10] [--read-only] [--json] [--token JWT]\n' +
        `URL: the gateway (default: LOAD_TARGET_URL, else ${DEFAULT_TARGET_URL})\n` +
        'token: --token, else LOAD_TOKEN, else POST /auth/token as LOAD_USERNAME / LOAD_PASSWORD (default admin / demo)\n',
    );
    process.exit(0);
  }
  if (positionals.length > 1) throw new Error(`one target URL at most, got ${positionals.join(' ')}`);
  const raw = positionals[0] ?? env.LOAD_TARGET_URL?.trim() ?? DEFAULT_TARGET_URL;
  let target: URL;
  try {
    target = new URL(raw || DEFAULT_TARGET_URL);
  } catch {
    throw new Error(`the target must be an http(s) URL, not "${raw}"`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`the target must be an http(s) URL, not "${raw}"`);
  const amount = values.amount === undefined ? undefined : integerOption('amount', values.amount, 0);
  const token = (values.token ?? env.LOAD_TOKEN)?.trim().replace(/^Bearer\s+/i, '');
  const connections = integerOption('connections', values.connections, 20);
  if (amount !== undefined && amount < connections) throw new Error(`--amount (${amount}) must be at least --connections (${connections})`);
  return {
    target,
    connections,
    durationS: integerOption('duration', values.duration, 60),
    ...(amount !== undefined ? { amount } : {}),
    timeoutS: integerOption('timeout', values.timeout, 10),
    readOnly: values['read-only'] ?? false,
    json: values.json ?? false,
    ...(token ? { token } : {}),
    username: env.LOAD_USERNAME?.trim() || DEFAULT_USERNAME,
    password: env.LOAD_PASSWORD || DEFAULT_PASSWORD,
  };
}

// ---- the token -------------------------------------------------------------------------------

/** The bearer token every request carries, renewed (when it came from a login) before it expires. */
type TokenKeeper = { current(): string | undefined; stop(): void };

/** Renewed this long before it expires (or at half its life, if that is sooner). */
const RENEW_BEFORE_MS = 60_000;

/**
 * Logs in at the gateway's development identity provider: the token and its lifetime, or
 * undefined when the gateway has no such endpoint (404) or cannot answer now (5xx: the run
 * itself then reports what the gateway answers). A refused login (401, 400) is an error.
 */
async function login(options: LoadOptions, prefix: string): Promise<{ token: string; expiresInS: number } | undefined> {
  const response = await fetch(`${options.target.origin}${prefix}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ username: options.username, password: options.password }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status === 404 || response.status >= 500) return undefined;
  if (response.status !== 200) {
    throw new Error(`the gateway refused the login as ${options.username} (POST /auth/token: ${response.status} ${text.slice(0, 300)}); set LOAD_USERNAME and LOAD_PASSWORD, or pass --token`);
  }
  const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
  if (typeof body.access_token !== 'string') throw new Error(`POST /auth/token answered no access_token: ${text.slice(0, 300)}`);
  return { token: body.access_token, expiresInS: typeof body.expires_in === 'number' ? body.expires_in : 900 };
}

async function keepToken(options: LoadOptions, prefix: string, log: (line: string) => void): Promise<TokenKeeper> {
  if (options.token) return { current: () => options.token, stop: () => undefined };
  const first = await login(options, prefix);
  if (!first) {
    log('load: the gateway issues no token at /auth/token; requests go without one (pass --token or LOAD_TOKEN for an identity provider of your own)');
    return { current: () => undefined, stop: () => undefined };
  }
  let token = first.token;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (expiresInS: number) => {
    const lifetimeMs = expiresInS * 1_000;
    timer = setTimeout(renew, Math.max(1_000, Math.min(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2)));
    timer.unref();
  };
  const renew = () => {
    login(options, prefix)
      .then((next) => {
        if (stopped) return;
        if (next) token = next.token;
        schedule(next?.expiresInS ?? 30);
      })
      .catch((error: unknown) => {
        log(`load: renewing the token failed: ${(error as Error).message}`);
        if (!stopped) schedule(30);
      });
  };
  schedule(first.expiresInS);
  log(`load: logged in as ${options.username}`);
  return {
    current: () => token,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

// ---- the run ---------------------------------------------------------------------------------

/** Any HTTP answer from the target will do: a refused connection is reported at once, not as a minute of errors. */
async function assertReachable(target: URL): Promise<void> {
  const url = new URL('healthz', target.href.endsWith('/') ? target : new URL(`${target.href}/`));
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`the gateway does not answer at ${target.href} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
}

/** What the run observes beside autocannon's own result: answers by route, every latency, a few error messages. */
type Observations = { routes: RouteCounts; latencies: number[]; errorSamples: Set<string> };

/**
 * The mix as autocannon is given it. Each answer is counted under its route (autocannon gives
 * per-request callbacks the status only), and each request gets the token of the moment (it may
 * have been renewed since the last pass).
 */
function countedRequests(mix: Array<Request & { route: string }>, tokens: TokenKeeper, routes: RouteCounts) {
  return mix.map(({ route, onResponse, setupRequest, ...request }) => ({
    ...request,
    setupRequest(next: Request, context: Context): Request {
      const prepared = setupRequest ? setupRequest(next, context) : next;
      const token = tokens.current();
      return token ? { ...prepared, headers: { ...prepared.headers, authorization: `Bearer ${token}` } } : prepared;
    },
    onResponse(status: number, body: string, context: Context) {
      const counts = (routes[route] ??= {});
      counts[status] = (counts[status] ?? 0) + 1;
      onResponse?.(status, body, context);
    },
  }));
}

function startAutocannon(options: LoadOptions, requests: ReturnType<typeof countedRequests>, observed: Observations): AutocannonRun {
  // autocannon's bundled declaration (bench/lib/autocannon.d.ts) covers a single URL; the mix
  // uses its `requests` option and the progress events.
  const start = autocannon as unknown as (options: object) => AutocannonRun;
  const instance = start({
    url: options.target.origin,
    connections: options.connections,
    duration: options.durationS,
    ...(options.amount ? { amount: options.amount } : {}),
    timeout: options.timeoutS,
    pipelining: 1,
    requests,
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTimeMs: number) => {
    observed.latencies.push(responseTimeMs);
  });
  instance.on('reqError', (error: Error & { code?: string }) => {
    if (observed.errorSamples.size < 5) observed.errorSamples.add(error.code ?? error.message);
  });
  return instance;
}

/**
 * autocannon's result. Interrupted (Ctrl-C, the Job's deadline), it stops and reports what was
 * measured; still running long after the planned end, the process gives up (exit 2) rather than
 * keep a Job alive.
 */
async function resultOf(instance: AutocannonRun, durationS: number, log: (line: string) => void): Promise<AutocannonResult> {
  const stop = () => instance.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const plannedMs = durationS * 1_000 + WATCHDOG_GRACE_MS;
  const watchdog = setTimeout(() => {
    log(`load: autocannon still running ${plannedMs / 1_000} s after the start; giving up`);
    process.exit(2);
  }, plannedMs);
  watchdog.unref();
  try {
    return await instance;
  } finally {
    clearTimeout(watchdog);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

function summarize(options: LoadOptions, prefix: string, result: AutocannonResult, observed: Observations): LoadSummary {
  const { latencies } = observed;
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const status5xx = result['5xx'];
  const errors = result.errors + result.timeouts;
  const requestsDone = result.requests.total;
  return {
    target: `${options.target.origin}${prefix}`,
    connections: options.connections,
    durationS: result.duration,
    readOnly: options.readOnly,
    requests: requestsDone,
    requestsPerSecond: result.duration > 0 ? round(requestsDone / result.duration) : 0,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.length ? round(latencies.reduce((a, b) => (b > a ? b : a), 0)) : null },
    statusCodes,
    routes: observed.routes,
    non2xx: result.non2xx,
    status5xx,
    errors,
    timeouts: result.timeouts,
    errorSamples: [...observed.errorSamples],
    ok: requestsDone > 0 && errors === 0 && status5xx === 0,
  };
}

/** How many patients the registrations of a run are shared among. */
const LOAD_PATIENTS = 50;

/**
 * The run's patients, registered in the registry before the load starts (the desk registers a
 * patient once, and their visits many times): names from the list, each declared someone else
 * than the look-alikes earlier runs left. A registration the gateway refuses (a token without the
 * role) stops the run, saying why; one it cannot answer (5xx) does not: the run goes on, to count
 * what the gateway answers, and its registrations name a patient nobody registered.
 */
async function registerPatients(options: LoadOptions, prefix: string, tokens: TokenKeeper, log: (line: string) => void): Promise<string[]> {
  const patients: string[] = [];
  for (let n = 0; n < LOAD_PATIENTS; n++) {
    const token = tokens.current();
    const response = await fetch(`${options.target.origin}${prefix}/patients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ name: PATIENT_NAMES[n % PATIENT_NAMES.length], birthDate: `19${50 + (n % 50)}-0${1 + (n % 9)}-1${n % 10}`, sex: 'unknown', notADuplicate: true }),
      signal: AbortSignal.timeout(options.timeoutS * 1_000),
    });
    const text = await response.text();
    if (response.status >= 500) {
      log(`load: the run's patients could not be registered (POST /patients: ${response.status}); its registrations name a patient nobody registered`);
      return [UNREGISTERED_PATIENT];
    }
    if (response.status !== 201) throw new Error(`registering the run's patients failed (POST /patients: ${response.status} ${text.slice(0, 300)})`);
    patients.push((JSON.parse(text) as { patientId: string }).patientId);
  }
  return patients;
}

/** The patient of the registrations of a run whose patients could not be registered. */
const UNREGISTERED_PATIENT = 'LOAD-UNREGISTERED';

export async function runLoad(options: LoadOptions, log: (line: string) => void): Promise<LoadSummary> {
  await assertReachable(options.target);
  const prefix = options.target.pathname.replace(/\/+$/, '');
  const tokens = await keepToken(options, prefix, log);
  const mix = requestMix(prefix, options.readOnly, options.readOnly ? [] : await registerPatients(options, prefix, tokens, log));
  const observed: Observations = { routes: {}, latencies: [], errorSamples: new Set<string>() };
  const requests = countedRequests(mix, tokens, observed.routes);
  log(
    `load: ${options.connections} connections for ${options.durationS} s${options.amount ? ` (at most ${options.amount} requests)` : ''} ` +
      `against ${options.target.origin}${prefix}, ${options.readOnly ? 'reads only' : 'reads and registrations'}`,
  );
  const instance = startAutocannon(options, requests, observed);
  let result: AutocannonResult;
  try {
    result = await resultOf(instance, options.durationS, log);
  } finally {
    tokens.stop();
  }
  return summarize(options, prefix, result, observed);
}

type AutocannonResult = {
  requests: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '5xx': number;
  statusCodeStats: Record<string, { count: number }>;
};
type AutocannonRun = PromiseLike<AutocannonResult> & {
  on(event: string, listener: (...args: any[]) => void): void;
  stop(): void;
};

export function formatSummary(summary: LoadSummary): string {
  const { latencyMs: l } = summary;
  const lines = [
    `target        ${summary.target} (${summary.connections} connections, ${summary.durationS} s${summary.readOnly ? ', reads only' : ''})`,
    `requests      ${summary.requests} (${summary.requestsPerSecond} requests/s)`,
    `latency       p50 ${l.p50 ?? '-'} ms, p95 ${l.p95 ?? '-'} ms, p99 ${l.p99 ?? '-'} ms, max ${l.max ?? '-'} ms`,
    `status codes  ${Object.entries(summary.statusCodes).map(([code, count]) => `${code}: ${count}`).join(', ') || 'none'}`,
    `non-2xx       ${summary.non2xx} (5xx: ${summary.status5xx})`,
    `errors        ${summary.errors} (timeouts: ${summary.timeouts})${summary.errorSamples.length ? ` — ${summary.errorSamples.join(', ')}` : ''}`,
    'per route:',
    ...Object.entries(summary.routes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([route, counts]) => `  ${route.padEnd(28)} ${Object.entries(counts).map(([code, count]) => `${code}: ${count}`).join(', ')}`),
    summary.ok ? 'result        OK' : `result        FAILED (${summary.requests === 0 ? 'no request completed' : 'errors or 5xx answers'})`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Asks a sidecar proxy to exit (see above); a proxy that is not there is no failure of the run. */
async function quitSidecar(url: string | undefined, log: (line: string) => void): Promise<void> {
  if (!url?.trim()) return;
  try {
    const response = await fetch(url.trim(), { method: 'POST', signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    log(`load: asked the sidecar to quit (${url.trim()}: ${response.status})`);
  } catch (error) {
    log(`load: could not ask the sidecar to quit at ${url.trim()}: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  try {
    await measure();
  } finally {
    await quitSidecar(process.env.LOAD_SIDECAR_QUIT_URL, (line) => process.stderr.write(`${line}\n`));
  }
}

async function measure(): Promise<void> {
  let options: LoadOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`load: ${(error as Error).message}\n`);
    process.exitCode = 64;
    return;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const summary = await runLoad(options, log);
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
  process.exitCode = summary.ok ? 0 : 1;
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`load failed: ${(error as Error).message ?? error}\n`);
    process.exitCode = 1;
  });
}
