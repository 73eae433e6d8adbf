import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { endWithGrace, pollUntilAnswering } from './child-lifecycle.ts';

/**
 * Starting and stopping the service processes: the one module that the `npm start` script and
 * the end-to-end tests share, so both run the system the same way. The profile is the
 * environment's: embedded by default (SQLite files and the event log under DATA_DIR), production
 * with DATABASE_URL and KAFKA_BROKERS (PostgreSQL and Kafka).
 *
 *   const system = await startSystem({ dataDir: './data', ports: DEFAULT_PORTS });
 *   console.log(system.gatewayUrl);
 *   await system.restart('diagnosis');
 *   await system.stopAll();
 *
 * The API:
 * - `startSystem(options)` starts reception, diagnosis, examination, patient-management and interop, then
 *   the gateway pointed at them, waits until all answer GET /readyz, and returns a
 *   `RunningSystem`: `services` (a handle per name), `gatewayUrl`, `ports`, `dataDir`,
 *   `restart(name, index?)`, `stop(name, index?)`, `kill(name, index?)` and `stopAll()`. It
 *   refuses ports already in use. With `replicas` (production profile only) a backend service
 *   runs as several processes on several ports, sharing its database and consumer group; the
 *   gateway gets every replica's URL, `services[name]` is the first replica and
 *   `replicasOf(name)` lists them all. Every process gets OIDC_ISSUER=http://<host>:<gateway port>/auth
 *   (the gateway's development identity provider, wherever the gateway runs) unless the
 *   environment gives OIDC_ISSUER or AUTH_MODE=oidc.
 * - `startServiceProcess(options)` starts one service (`node services/<name>/src/main.ts` with
 *   PORT and HOST) and returns a `ServiceProcess` handle: `url`, `pid`, `exited`, `exitInfo()`,
 *   `output()`, `stderr()`, `waitReady(timeoutMs)`, `stop(timeoutMs)`, `kill()`.
 * - `freePort()` and `isPortFree(port)` for choosing ports; `killSurvivors()` SIGKILLs every
 *   child still running (what the exit guard below does); `isProductionEnv(env)`.
 *
 * Every process this module starts is tracked until it exits. Child processes are never leaked:
 * when this process exits, survivors are SIGKILLed; when it is signalled (SIGINT, SIGTERM, SIGHUP)
 * and nothing else listens for that signal, survivors are SIGKILLed and the signal's default
 * behaviour (exit) follows. A program that installs its own handler (a start script stopping
 * gracefully with `stopAll()`) keeps full control of the signal.
 */

export const BACKEND_SERVICES = ['reception', 'diagnosis', 'examination', 'patient-management', 'interop'] as const;
export const SERVICE_NAMES = ['gateway', ...BACKEND_SERVICES] as const;
export type BackendServiceName = (typeof BACKEND_SERVICES)[number];
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** The local ports of DESIGN.md section 2. Tests use free ports instead (see `freePort`). */
export const DEFAULT_PORTS: Readonly<Record<ServiceName, number>> = {
  gateway: 8088,
  reception: 8082,
  diagnosis: 8083,
  examination: 8084,
  'patient-management': 8085,
  interop: 8086,
};

/** The gateway's environment variable that points at each backend service. */
export const UPSTREAM_URL_VARIABLES: Readonly<Record<BackendServiceName, string>> = {
  reception: 'RECEPTION_URL',
  diagnosis: 'DIAGNOSIS_URL',
  examination: 'EXAMINATION_URL',
  'patient-management': 'PATIENT_MANAGEMENT_URL',
  interop: 'INTEROP_URL',
};

/** The repository root: scripts/lib/ is two levels below it. */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CAPTURE_LIMIT_CHARS = 64 * 1024;
const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** Longer than a service's own shutdown bound (SHUTDOWN_TIMEOUT_MS, 10 s by default). */
const DEFAULT_STOP_TIMEOUT_MS = 15_000;

export type Env = Record<string, string | undefined>;

/** How a process ended: its exit code, or the signal that ended it. */
export type ExitInfo = { code: number | null; signal: NodeJS.Signals | null };

export type StartServiceOptions = {
  name: ServiceName;
  port: number;
  /** Added to this process's environment; PORT and HOST are set from `port` and `host`. */
  env?: Env;
  /** The repository root the entry file is resolved against (default: this repository). */
  cwd?: string;
  /**
   * 'inherit': the child writes to this process's stdout/stderr (a developer's terminal).
   * 'capture': the output is kept (the last 64 KiB) for error messages and `output()` (tests).
   */
  output?: 'inherit' | 'capture';
  /** The address the service binds (HOST); default 127.0.0.1. The handle's url always uses a connectable address. */
  host?: string;
  /** The entry file, relative to cwd (default services/<name>/src/main.ts). */
  entry?: string;
};

/** A running (or exited) service process. */
export type ServiceProcess = {
  readonly name: ServiceName;
  readonly port: number;
  /** http://host:port, without a trailing slash. */
  readonly url: string;
  readonly pid: number;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** The exit information once the process has exited, undefined while it runs. */
  exitInfo(): ExitInfo | undefined;
  /**
   * How the process ended if it ended on its own (a crash, or a signal sent by someone else),
   * not through `stop()` or `kill()`; undefined while it runs or when the harness ended it.
   */
  unexpectedExit(): ExitInfo | undefined;
  /** The captured stdout and stderr so far ('' with output 'inherit'). */
  output(): string;
  /** The captured stderr so far ('' with output 'inherit'). */
  stderr(): string;
  /**
   * Polls GET /readyz until it answers 200. Rejects at once, with the captured stderr, if the
   * process exits first, and after `timeoutMs` with the last answer seen.
   */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then waits for the exit; SIGKILL if it takes longer than `timeoutMs`. Idempotent. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<ExitInfo>;
};

// ---- leak protection -------------------------------------------------------------------------

const running = new Set<ChildProcess>();
let guardsInstalled = false;

/** SIGKILLs every process this module started that has not exited yet (synchronously). */
export function killSurvivors(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function installGuards(): void {
  if (guardsInstalled) return;
  guardsInstalled = true;
  process.on('exit', killSurvivors);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // Someone else handles this signal: leave the decision (and a graceful stop) to them.
      if (process.listenerCount(signal) > 1) return;
      killSurvivors();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// ---- ports -----------------------------------------------------------------------------------

/** A TCP port that is free on `host` right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close((error) => (error ? reject(error) : resolve(port)));
    });
  });
}

/** Whether a TCP port can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Refuses to start on a port something already listens on: the readiness poll would otherwise
 * reach that other process (a service left over from an earlier run) and report ours ready.
 */
async function assertPortsFree(ports: Array<[string, number]>, host: string): Promise<void> {
  const busy: string[] = [];
  for (const [name, port] of ports) if (!(await isPortFree(port, host))) busy.push(`${name} on ${port}`);
  if (busy.length > 0) {
    throw new Error(`cannot start: port already in use (${busy.join(', ')}); is an earlier run still going?`);
  }
}

function connectableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

// ---- one process -----------------------------------------------------------------------------

function appendBounded(current: string, chunk: string): string {
  const next = current + chunk;
  return next.length > CAPTURE_LIMIT_CHARS ? next.slice(next.length - CAPTURE_LIMIT_CHARS) : next;
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** One service process's options with their defaults filled in, and the URL it will answer on. */
type Launch = {
  name: ServiceName;
  port: number;
  env: Env | undefined;
  cwd: string;
  host: string;
  outputMode: 'inherit' | 'capture';
  entry: string;
  url: string;
};

function launchOf(options: StartServiceOptions): Launch {
  const host = options.host ?? '127.0.0.1';
  return {
    name: options.name,
    port: options.port,
    env: options.env,
    cwd: options.cwd ?? REPOSITORY_ROOT,
    host,
    outputMode: options.output ?? 'inherit',
    entry: options.entry ?? path.join('services', options.name, 'src', 'main.ts'),
    url: `http://${connectableHost(host)}:${options.port}`,
  };
}

/** Spawns the service and tracks it until it exits, so the exit guard can kill it if we go first. */
function spawnTracked(launch: Launch): ChildProcess {
  const child = spawn(process.execPath, [launch.entry], {
    cwd: launch.cwd,
    env: { ...process.env, ...launch.env, PORT: String(launch.port), HOST: launch.host },
    stdio: launch.outputMode === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  return child;
}

/** The last 64 KiB of a process's output: both streams together, and stderr alone. */
class CapturedOutput {
  combined = '';
  stderr = '';

  addStdout(chunk: string): void {
    this.combined = appendBounded(this.combined, chunk);
  }

  addStderr(chunk: string): void {
    this.combined = appendBounded(this.combined, chunk);
    this.stderr = appendBounded(this.stderr, chunk);
  }
}

function captureOutput(child: ChildProcess, outputMode: Launch['outputMode']): CapturedOutput {
  const captured = new CapturedOutput();
  if (outputMode === 'capture') {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => captured.addStdout(chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => captured.addStderr(chunk));
  }
  return captured;
}

/** A process's exit: a promise for whoever waits, and the value for whoever asks once it is known. */
type ExitWatch = { exited: Promise<ExitInfo>; current(): ExitInfo | undefined };

function watchExit(child: ChildProcess, captured: CapturedOutput): ExitWatch {
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    // 'close' waits for the output streams too, so the captured output is complete.
    child.once('close', (code, signal) => {
      running.delete(child);
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
    child.once('error', (error) => {
      // Spawning failed (no such executable): there will be no 'close' with a code.
      running.delete(child);
      captured.addStderr(`${error.message}\n`);
      exitInfo ??= { code: null, signal: null };
      resolve(exitInfo);
    });
  });
  return { exited, current: () => exitInfo };
}

/** What an error about a process adds: its last lines, or where they went. */
function outputForErrors(launch: Launch, captured: CapturedOutput): string {
  return launch.outputMode === 'capture'
    ? `\n--- ${launch.name} output (last lines) ---\n${tail(captured.combined, 40)}`
    : ' (its output went to the terminal)';
}

async function waitUntilReady(launch: Launch, exit: ExitWatch, captured: CapturedOutput, timeoutMs: number): Promise<void> {
  const outcome = await pollUntilAnswering(`${launch.url}/readyz`, { timeoutMs, hasExited: () => exit.current() !== undefined, exited: exit.exited });
  if (outcome.ready) return;
  if (outcome.reason === 'exited') {
    throw new Error(`${launch.name} ${describeExit(exit.current()!)} before it was ready${outputForErrors(launch, captured)}`);
  }
  throw new Error(`${launch.name} was not ready on ${launch.url} after ${timeoutMs} ms; last /readyz: ${outcome.lastAnswer}${outputForErrors(launch, captured)}`);
}

/**
 * stop() and kill() of one process. They remember that the harness asked for the end, so that
 * an exit nobody asked for can be told apart (`unexpectedExit`).
 */
function endingOf(child: ChildProcess, exit: ExitWatch) {
  let endRequested = false;
  let stopping: Promise<ExitInfo> | undefined;
  return {
    endRequested: () => endRequested,
    stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitInfo> {
      const done = exit.current();
      if (done) return Promise.resolve(done);
      endRequested = true;
      return (stopping ??= endWithGrace(child, exit.exited, 'SIGTERM', timeoutMs));
    },
    async kill(): Promise<ExitInfo> {
      const done = exit.current();
      if (done) return done;
      endRequested = true;
      child.kill('SIGKILL');
      return exit.exited;
    },
  };
}

/** Starts `node services/<name>/src/main.ts` with PORT and HOST set; returns at once (see waitReady). */
export function startServiceProcess(options: StartServiceOptions): ServiceProcess {
  installGuards();
  const launch = launchOf(options);
  const child = spawnTracked(launch);
  const captured = captureOutput(child, launch.outputMode);
  const exit = watchExit(child, captured);
  const ending = endingOf(child, exit);
  return {
    name: launch.name,
    port: launch.port,
    url: launch.url,
    pid: child.pid ?? -1,
    exited: exit.exited,
    exitInfo: exit.current,
    unexpectedExit: () => (ending.endRequested() ? undefined : exit.current()),
    output: () => captured.combined,
    stderr: () => captured.stderr,
    waitReady: (timeoutMs = DEFAULT_READY_TIMEOUT_MS) => waitUntilReady(launch, exit, captured, timeoutMs),
    stop: ending.stop,
    kill: ending.kill,
  };
}

// ---- the whole system ------------------------------------------------------------------------

export type StartSystemOptions = {
  /**
   * The directory every service keeps its SQLite file in, with the shared event log (DATA_DIR).
   * The production adapters do not use it, but every service still gets it.
   */
  dataDir: string;
  /**
   * Ports by service; a missing one gets a free port. Pass DEFAULT_PORTS for the documented ones.
   * For a service with several replicas this is the first replica's port; the others get free ports.
   */
  ports?: Partial<Record<ServiceName, number>>;
  /** Environment for every service (LOG_LEVEL, EVENT_POLL_INTERVAL_MS, DATABASE_URL, KAFKA_BROKERS, ...). */
  env?: Env;
  /** Environment for one service (every replica of it), on top of `env`. */
  serviceEnv?: Partial<Record<ServiceName, Env>>;
  /**
   * Processes per backend service (default 1). Replicas share the service's database and
   * consumer group, and the gateway balances across them (it gets their URLs comma-separated).
   * More than one needs the production profile (DATABASE_URL and KAFKA_BROKERS): on the embedded
   * profile each service owns one SQLite file, which is not made to be shared by processes.
   */
  replicas?: Partial<Record<BackendServiceName, number>>;
  cwd?: string;
  output?: 'inherit' | 'capture';
  host?: string;
  /** How long each service may take to become ready (default 30 s). */
  readyTimeoutMs?: number;
};

export type RunningSystem = {
  /**
   * The current process of each service (of a replicated service, the first replica);
   * `restart` replaces the entry, so read it after a restart.
   */
  readonly services: Readonly<Record<ServiceName, ServiceProcess>>;
  readonly gatewayUrl: string;
  readonly dataDir: string;
  /** The port of each service (of a replicated service, the first replica's; see `replicasOf`). */
  readonly ports: Readonly<Record<ServiceName, number>>;
  /** How many processes each service runs (1 for the gateway). */
  readonly replicaCounts: Readonly<Record<ServiceName, number>>;
  /** The current process of every replica of a service, in order (index 0 is `services[name]`). */
  replicasOf(name: ServiceName): readonly ServiceProcess[];
  /**
   * Starts the replica `index` again on the same port and DATA_DIR and waits until it is ready.
   * A replica still running is stopped gracefully first; one that was stopped or killed is
   * simply started. Without an index every replica is restarted, one after the other (a rolling
   * restart), and the first one's new process is returned. `from.cwd` starts it from another
   * checkout's code (a rolling upgrade to, or back to, another release); `from.env` with more
   * environment than the system's (a setting changed, such as the hospital's time zone).
   */
  restart(name: ServiceName, index?: number, from?: { cwd?: string; env?: Env }): Promise<ServiceProcess>;
  /**
   * Stops the replica `index` gracefully (SIGTERM), or without an index every replica of the
   * service (the service is down); the other services keep running. Returns how it ended: for
   * several replicas, the first one that did not exit cleanly (code 0), else the first one's exit.
   */
  stop(name: ServiceName, index?: number): Promise<ExitInfo>;
  /** Kills the replica `index` (or every replica of the service) with SIGKILL; the rest keeps running. */
  kill(name: ServiceName, index?: number): Promise<ExitInfo>;
  /**
   * Stops the gateway, then every other process, gracefully; returns how each service exited
   * (of several replicas, as `stop` reports them; each replica's own exit is on `replicasOf`).
   */
  stopAll(): Promise<Record<ServiceName, ExitInfo>>;
  /** Every process of this system that ended on its own (crashed, or was signalled by someone else). */
  unexpectedExits(): Array<{ name: ServiceName; index: number; pid: number; exit: ExitInfo }>;
};

/** Whether an environment selects the production profile: PostgreSQL and Kafka both configured. */
export function isProductionEnv(env: Env): boolean {
  return Boolean(env.DATABASE_URL?.trim()) && Boolean(env.KAFKA_BROKERS?.trim());
}

function replicaCountsOf(options: StartSystemOptions): Record<ServiceName, number> {
  const counts = { gateway: 1 } as Record<ServiceName, number>;
  const refused: string[] = [];
  for (const name of BACKEND_SERVICES) {
    const count = options.replicas?.[name] ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`replicas of ${name} must be a positive integer, got ${count}`);
    // The environment the service would get: this process's, then the system's, then its own.
    if (count > 1 && !isProductionEnv({ ...process.env, ...options.env, ...options.serviceEnv?.[name] })) {
      refused.push(`${name} × ${count}`);
    }
    counts[name] = count;
  }
  if (refused.length > 0) {
    throw new Error(
      `cannot start ${refused.join(', ')}: more than one replica of a service needs the production profile ` +
        '(DATABASE_URL and KAFKA_BROKERS set), where replicas share the database and the consumer group; ' +
        'on the embedded profile each service owns its own SQLite file, which two processes cannot share',
    );
  }
  return counts;
}

/**
 * A local system asks for the gateway's development identity provider (AUTH_MODE=dev; the
 * services' default is a real provider) unless the caller's environment (or this process's)
 * selects AUTH_MODE=oidc; and, unless it names one, its OIDC_ISSUER: the provider lives under
 * /auth on the gateway, wherever this system put it, and the services discover its keys there.
 */
function devIssuerFor(options: StartSystemOptions, issuer: string): Env {
  const env = { ...process.env, ...options.env };
  if (env.AUTH_MODE?.trim().toLowerCase() === 'oidc') return {};
  return { AUTH_MODE: 'dev', ...(env.OIDC_ISSUER?.trim() ? {} : { OIDC_ISSUER: issuer }) };
}

/** Of several exits, the first that is not a clean exit 0, else the first. */
/** The worst of the exits; a clean one when there were none (a service its release did not have). */
function worstExit(exits: ExitInfo[]): ExitInfo {
  return exits.find((e) => e.code !== 0 || e.signal !== null) ?? exits[0] ?? { code: 0, signal: null };
}

type ReplicaPorts = Record<ServiceName, number[]>;

/** Ports: [service][replica]. The first replica takes the requested port, if any; the others get free ones. */
async function assignPorts(options: StartSystemOptions, replicaCounts: Record<ServiceName, number>, host: string): Promise<ReplicaPorts> {
  const replicaPorts = {} as ReplicaPorts;
  const taken = new Set(Object.values(options.ports ?? {}));
  for (const name of SERVICE_NAMES) {
    replicaPorts[name] = [];
    for (let index = 0; index < replicaCounts[name]; index++) {
      const requested = index === 0 ? options.ports?.[name] : undefined;
      let port = requested;
      // The OS may hand the same free port out twice in a row; each process needs its own.
      while (port === undefined || (requested === undefined && taken.has(port))) port = await freePort(host);
      taken.add(port);
      replicaPorts[name].push(port);
    }
  }
  return replicaPorts;
}

function firstReplicaPorts(replicaPorts: ReplicaPorts): Record<ServiceName, number> {
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, replicaPorts[name][0]!])) as Record<ServiceName, number>;
}

/** Every port with the name it is refused under: `reception[1]` where a service has replicas. */
function labelledPorts(replicaPorts: ReplicaPorts, replicaCounts: Record<ServiceName, number>): Array<[string, number]> {
  return SERVICE_NAMES.flatMap((name) =>
    replicaPorts[name].map((port, index): [string, number] => [replicaCounts[name] > 1 ? `${name}[${index}]` : name, port]),
  );
}

/**
 * Each service's environment: the system's, the development issuer, DATA_DIR, for the gateway
 * every backend's replica URLs (comma-separated: it balances across them), for interop the
 * examination service's, then its own.
 */
function environments(options: StartSystemOptions, dataDir: string, host: string, replicaPorts: ReplicaPorts): (name: ServiceName) => Env {
  const urlOf = (port: number) => `http://${connectableHost(host)}:${port}`;
  const issuer = devIssuerFor(options, `${urlOf(replicaPorts.gateway[0]!)}/auth`);
  const upstreams: Env = {};
  for (const backend of BACKEND_SERVICES) upstreams[UPSTREAM_URL_VARIABLES[backend]] = replicaPorts[backend].map(urlOf).join(',');
  const roles = databaseRoles({ ...process.env, ...options.env });
  const asServiceRole: Env = roles ? { DATABASE_URL: roles.serviceUrl, DATABASE_MIGRATIONS: 'separate' } : {};
  // interop performs the laboratories' results on the examination service (its first replica: one address, as a Service's in Kubernetes).
  const interop: Env = { EXAMINATION_URL: urlOf(replicaPorts.examination[0]!) };
  const own = (name: ServiceName): Env => (name === 'gateway' ? upstreams : name === 'interop' ? interop : {});
  return (name) => ({ ...options.env, ...issuer, DATA_DIR: dataDir, ...asServiceRole, ...own(name), ...options.serviceEnv?.[name] });
}

/**
 * The production profile with a database role of the services' own (DATABASE_SERVICE_ROLE and
 * DATABASE_SERVICE_PASSWORD beside DATABASE_URL, which is then the owner's): the services connect
 * as that role, which may not change the schema nor rewrite the audit trail, and `npm run
 * migrate` runs first as the owner. Undefined without those settings: every process connects as
 * DATABASE_URL and migrates at start.
 */
export function databaseRoles(env: Env): { ownerUrl: string; serviceUrl: string } | undefined {
  const ownerUrl = env.DATABASE_URL?.trim();
  const role = env.DATABASE_SERVICE_ROLE?.trim();
  if (!ownerUrl || !role) return undefined;
  const service = new URL(ownerUrl);
  service.username = encodeURIComponent(role);
  service.password = encodeURIComponent(env.DATABASE_SERVICE_PASSWORD ?? '');
  return { ownerUrl, serviceUrl: service.toString() };
}

/** `npm run migrate`'s program as the owner, before the services start (see databaseRoles); fails with its output. */
async function migrateAsOwner(options: StartSystemOptions, dataDir: string): Promise<void> {
  const child = spawn(process.execPath, [path.join('scripts', 'migrate.ts')], {
    cwd: options.cwd ?? REPOSITORY_ROOT,
    env: { ...process.env, ...options.env, DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  installGuards();
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`npm run migrate (as the database's owner) failed with exit ${code}: ${output.trim()}`);
}

/**
 * The processes of one system: the current process of each replica, and every process ever
 * started (a restarted replica's earlier process may have crashed: `unexpectedExits` reports it).
 */
type ProcessTable = {
  readonly replicas: Record<ServiceName, ServiceProcess[]>;
  readonly everyProcess: Array<{ handle: ServiceProcess; index: number }>;
  /**
   * Starts replica `index` of a service on its port, with its environment, as its current process;
   * from another checkout's code with `cwd` (a rolling upgrade), else the system's; with `moreEnv`
   * beside the service's environment.
   */
  launch(name: ServiceName, index: number, cwd?: string, moreEnv?: Env): ServiceProcess;
};

function processTable(options: StartSystemOptions, host: string, replicaPorts: ReplicaPorts, envFor: (name: ServiceName) => Env): ProcessTable {
  const replicas = Object.fromEntries(SERVICE_NAMES.map((name) => [name, [] as ServiceProcess[]])) as Record<ServiceName, ServiceProcess[]>;
  const everyProcess: ProcessTable['everyProcess'] = [];
  const launch = (name: ServiceName, index: number, cwd = options.cwd, moreEnv: Env = {}): ServiceProcess => {
    const handle = startServiceProcess({
      name,
      port: replicaPorts[name][index]!,
      env: { ...envFor(name), ...moreEnv },
      host,
      output: options.output ?? 'inherit',
      ...(cwd ? { cwd } : {}),
    });
    everyProcess.push({ handle, index });
    replicas[name][index] = handle;
    return handle;
  };
  return { replicas, everyProcess, launch };
}

/**
 * The backends first, every replica, until all are ready; then the gateway, whose readiness
 * depends on them. On any failure everything already started is stopped before the error is thrown.
 */
async function startInOrder(table: ProcessTable, replicaCounts: Record<ServiceName, number>, readyTimeoutMs: number, cwd = REPOSITORY_ROOT): Promise<void> {
  try {
    // A service the checkout does not have (an older release's, before interop) is not started:
    // `restart` starts it later from a checkout that has it, as a new service joins an upgrade.
    const inCheckout = (name: ServiceName) => fs.existsSync(path.join(cwd, 'services', name, 'src', 'main.ts'));
    for (const name of BACKEND_SERVICES.filter(inCheckout)) for (let index = 0; index < replicaCounts[name]; index++) table.launch(name, index);
    await Promise.all(BACKEND_SERVICES.flatMap((name) => table.replicas[name].map((handle) => handle.waitReady(readyTimeoutMs))));
    await table.launch('gateway', 0).waitReady(readyTimeoutMs);
  } catch (error) {
    await Promise.all(table.everyProcess.map(({ handle }) => handle.stop()));
    throw error;
  }
}

/** A live view: `services.diagnosis` is always the first replica's current process. */
function liveServices(replicas: ProcessTable['replicas']): Record<ServiceName, ServiceProcess> {
  const services = {} as Record<ServiceName, ServiceProcess>;
  for (const name of SERVICE_NAMES) Object.defineProperty(services, name, { enumerable: true, get: () => replicas[name][0]! });
  return services;
}

/** The replicas an index names: that one (if the service has it), or every one without an index. */
function replicaIndexes(name: ServiceName, count: number, index: number | undefined): number[] {
  if (index === undefined) return Array.from({ length: count }, (_, i) => i);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`${name} has ${count} replica${count === 1 ? '' : 's'}; there is no replica ${index}`);
  }
  return [index];
}

function unexpectedExitsOf(everyProcess: ProcessTable['everyProcess']): ReturnType<RunningSystem['unexpectedExits']> {
  return everyProcess.flatMap(({ handle, index }) => {
    const exit = handle.unexpectedExit();
    return exit ? [{ name: handle.name, index, pid: handle.pid, exit }] : [];
  });
}

/** The gateway first, so no new work reaches a backend that is going away; then the backends together. */
async function stopGatewayFirst(replicas: ProcessTable['replicas']): Promise<Record<ServiceName, ExitInfo>> {
  const stopService = async (name: ServiceName): Promise<ExitInfo> => worstExit(await Promise.all(replicas[name].map((r) => r.stop())));
  const gateway = await stopService('gateway');
  const backends = await Promise.all(BACKEND_SERVICES.map((name) => stopService(name)));
  const exits = { gateway } as Record<ServiceName, ExitInfo>;
  BACKEND_SERVICES.forEach((name, i) => {
    exits[name] = backends[i]!;
  });
  return exits;
}

type SystemParts = {
  table: ProcessTable;
  dataDir: string;
  host: string;
  replicaPorts: ReplicaPorts;
  replicaCounts: Record<ServiceName, number>;
  readyTimeoutMs: number;
};

/** The handle of a started system: its processes, and restarting, stopping and killing them. */
function runningSystem(parts: SystemParts): RunningSystem {
  const { table, replicaPorts, replicaCounts } = parts;
  const { replicas } = table;
  const indexesOf = (name: ServiceName, index: number | undefined) => replicaIndexes(name, replicaCounts[name], index);
  let stoppingAll = false;
  async function restartOne(name: ServiceName, index: number, from: { cwd?: string; env?: Env } = {}): Promise<ServiceProcess> {
    // Not running yet (its release did not have it): started.
    await replicas[name][index]?.stop();
    await assertPortsFree([[name, replicaPorts[name][index]!]], parts.host);
    const next = table.launch(name, index, from.cwd, from.env);
    await next.waitReady(parts.readyTimeoutMs);
    return next;
  }
  return {
    services: liveServices(replicas),
    gatewayUrl: replicas.gateway[0]!.url,
    dataDir: parts.dataDir,
    ports: firstReplicaPorts(replicaPorts),
    replicaCounts,
    replicasOf: (name) => [...replicas[name]],
    async restart(name, index, from) {
      if (stoppingAll) throw new Error(`cannot restart ${name}: the system is stopping`);
      let first: ServiceProcess | undefined;
      for (const i of indexesOf(name, index)) {
        const next = await restartOne(name, i, from);
        first ??= next;
      }
      return first!;
    },
    unexpectedExits: () => unexpectedExitsOf(table.everyProcess),
    stop: async (name, index) => worstExit(await Promise.all(indexesOf(name, index).flatMap((i) => replicas[name][i]?.stop() ?? []))),
    kill: async (name, index) => worstExit(await Promise.all(indexesOf(name, index).flatMap((i) => replicas[name][i]?.kill() ?? []))),
    async stopAll() {
      stoppingAll = true;
      return stopGatewayFirst(replicas);
    },
  };
}

/**
 * Starts reception, diagnosis, examination and patient-management (each with its replicas),
 * waits until they are ready, then starts the gateway pointed at them and waits for it too. If
 * anything fails to start, everything already started is stopped before the error is thrown.
 * The profile is whatever the environment selects: the embedded one by default, the production
 * one with DATABASE_URL and KAFKA_BROKERS (in this process's environment or in `env`).
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const dataDir = path.resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const replicaCounts = replicaCountsOf(options);
  const replicaPorts = await assignPorts(options, replicaCounts, host);
  await assertPortsFree(labelledPorts(replicaPorts, replicaCounts), host);
  if (databaseRoles({ ...process.env, ...options.env })) await migrateAsOwner(options, dataDir);
  const table = processTable(options, host, replicaPorts, environments(options, dataDir, host, replicaPorts));
  await startInOrder(table, replicaCounts, readyTimeoutMs, options.cwd);
  return runningSystem({ table, dataDir, host, replicaPorts, replicaCounts, readyTimeoutMs });
}
