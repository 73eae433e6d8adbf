import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Starting and stopping the service processes of the embedded profile: the one module that the
 * `npm start` script and the end-to-end tests share, so both run the system the same way.
 *
 *   const system = await startSystem({ dataDir: './data', ports: DEFAULT_PORTS });
 *   console.log(system.gatewayUrl);
 *   await system.restart('diagnosis');
 *   await system.stopAll();
 *
 * The API:
 * - `startSystem(options)` starts reception, diagnosis, examination and patient-management, then
 *   the gateway pointed at them, waits until all answer GET /readyz, and returns a
 *   `RunningSystem`: `services` (a handle per name), `gatewayUrl`, `ports`, `dataDir`,
 *   `restart(name)`, `stop(name)`, `kill(name)` and `stopAll()`. It refuses ports already in use.
 * - `startServiceProcess(options)` starts one service (`node services/<name>/src/main.ts` with
 *   PORT and HOST) and returns a `ServiceProcess` handle: `url`, `pid`, `exited`, `exitInfo()`,
 *   `output()`, `stderr()`, `waitReady(timeoutMs)`, `stop(timeoutMs)`, `kill()`.
 * - `freePort()` and `isPortFree(port)` for choosing ports; `killSurvivors()` SIGKILLs every
 *   child still running (what the exit guard below does).
 *
 * Every process this module starts is tracked until it exits. Child processes are never leaked:
 * when this process exits, survivors are SIGKILLed; when it is signalled (SIGINT, SIGTERM, SIGHUP)
 * and nothing else listens for that signal, survivors are SIGKILLed and the signal's default
 * behaviour (exit) follows. A program that installs its own handler (a start script stopping
 * gracefully with `stopAll()`) keeps full control of the signal.
 */

export const BACKEND_SERVICES = ['reception', 'diagnosis', 'examination', 'patient-management'] as const;
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
};

/** The gateway's environment variable that points at each backend service. */
export const UPSTREAM_URL_VARIABLES: Readonly<Record<BackendServiceName, string>> = {
  reception: 'RECEPTION_URL',
  diagnosis: 'DIAGNOSIS_URL',
  examination: 'EXAMINATION_URL',
  'patient-management': 'PATIENT_MANAGEMENT_URL',
};

/** The repository root: scripts/lib/ is two levels below it. */
export const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CAPTURE_LIMIT_CHARS = 64 * 1024;
const READY_POLL_INTERVAL_MS = 50;
const READY_REQUEST_TIMEOUT_MS = 1_000;
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts `node services/<name>/src/main.ts` with PORT and HOST set; returns at once (see waitReady). */
export function startServiceProcess(options: StartServiceOptions): ServiceProcess {
  installGuards();
  const { name, port } = options;
  const cwd = options.cwd ?? REPOSITORY_ROOT;
  const host = options.host ?? '127.0.0.1';
  const outputMode = options.output ?? 'inherit';
  const entry = options.entry ?? path.join('services', name, 'src', 'main.ts');
  const url = `http://${connectableHost(host)}:${port}`;

  const child = spawn(process.execPath, [entry], {
    cwd,
    env: { ...process.env, ...options.env, PORT: String(port), HOST: host },
    stdio: outputMode === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);

  let combined = '';
  let stderrText = '';
  if (outputMode === 'capture') {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      combined = appendBounded(combined, chunk);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      combined = appendBounded(combined, chunk);
      stderrText = appendBounded(stderrText, chunk);
    });
  }

  let exitInfo: ExitInfo | undefined;
  let endRequested = false;
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
      stderrText = appendBounded(stderrText, `${error.message}\n`);
      combined = appendBounded(combined, `${error.message}\n`);
      exitInfo ??= { code: null, signal: null };
      resolve(exitInfo);
    });
  });

  const diagnostics = () =>
    outputMode === 'capture' ? `\n--- ${name} output (last lines) ---\n${tail(combined, 40)}` : ' (its output went to the terminal)';

  async function waitReady(timeoutMs = DEFAULT_READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (true) {
      if (exitInfo) {
        throw new Error(`${name} ${describeExit(exitInfo)} before it was ready${diagnostics()}`);
      }
      try {
        const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(READY_REQUEST_TIMEOUT_MS) });
        const body = await response.text();
        if (response.status === 200) return;
        last = `HTTP ${response.status} ${body.slice(0, 300)}`;
      } catch (error) {
        last = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
      }
      if (Date.now() >= deadline) {
        throw new Error(`${name} was not ready on ${url} after ${timeoutMs} ms; last /readyz: ${last}${diagnostics()}`);
      }
      await Promise.race([sleep(READY_POLL_INTERVAL_MS), exited]);
    }
  }

  let stopping: Promise<ExitInfo> | undefined;
  function stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitInfo> {
    if (exitInfo) return Promise.resolve(exitInfo);
    endRequested = true;
    return (stopping ??= (async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    })());
  }

  async function kill(): Promise<ExitInfo> {
    if (exitInfo) return exitInfo;
    endRequested = true;
    child.kill('SIGKILL');
    return exited;
  }

  return {
    name,
    port,
    url,
    pid: child.pid ?? -1,
    exited,
    exitInfo: () => exitInfo,
    unexpectedExit: () => (exitInfo && !endRequested ? exitInfo : undefined),
    output: () => combined,
    stderr: () => stderrText,
    waitReady,
    stop,
    kill,
  };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---- the whole system ------------------------------------------------------------------------

export type StartSystemOptions = {
  /** The directory every service keeps its SQLite file in, with the shared event log (DATA_DIR). */
  dataDir: string;
  /** Ports by service; a missing one gets a free port. Pass DEFAULT_PORTS for the documented ones. */
  ports?: Partial<Record<ServiceName, number>>;
  /** Environment for every service (LOG_LEVEL, EVENT_POLL_INTERVAL_MS, ...). */
  env?: Env;
  /** Environment for one service, on top of `env`. */
  serviceEnv?: Partial<Record<ServiceName, Env>>;
  cwd?: string;
  output?: 'inherit' | 'capture';
  host?: string;
  /** How long each service may take to become ready (default 30 s). */
  readyTimeoutMs?: number;
};

export type RunningSystem = {
  /** The current process of each service; `restart` replaces the entry, so read it after a restart. */
  readonly services: Readonly<Record<ServiceName, ServiceProcess>>;
  readonly gatewayUrl: string;
  readonly dataDir: string;
  readonly ports: Readonly<Record<ServiceName, number>>;
  /**
   * Starts the service again on the same port and DATA_DIR and waits until it is ready. A service
   * still running is stopped gracefully first; one that was stopped or killed is simply started.
   */
  restart(name: ServiceName): Promise<ServiceProcess>;
  /** Stops one service gracefully (SIGTERM); the others keep running. */
  stop(name: ServiceName): Promise<ExitInfo>;
  /** Kills one service with SIGKILL; the others keep running. */
  kill(name: ServiceName): Promise<ExitInfo>;
  /** Stops the gateway, then the other services, gracefully; returns how each one exited. */
  stopAll(): Promise<Record<ServiceName, ExitInfo>>;
  /** Every process of this system that ended on its own (crashed, or was signalled by someone else). */
  unexpectedExits(): Array<{ name: ServiceName; pid: number; exit: ExitInfo }>;
};

/**
 * Starts reception, diagnosis, examination and patient-management, waits until they are ready,
 * then starts the gateway pointed at them and waits for it too. If anything fails to start,
 * everything already started is stopped before the error is thrown.
 */
export async function startSystem(options: StartSystemOptions): Promise<RunningSystem> {
  const dataDir = path.resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const ports = {} as Record<ServiceName, number>;
  const taken = new Set(Object.values(options.ports ?? {}));
  for (const name of SERVICE_NAMES) {
    let port = options.ports?.[name];
    // The OS may hand the same free port out twice in a row; each service needs its own.
    while (port === undefined || (options.ports?.[name] === undefined && taken.has(port))) port = await freePort(host);
    taken.add(port);
    ports[name] = port;
  }

  const backendUrl = (name: BackendServiceName) => `http://${connectableHost(host)}:${ports[name]}`;
  const envFor = (name: ServiceName): Env => {
    const upstreams: Env = {};
    if (name === 'gateway') {
      for (const backend of BACKEND_SERVICES) upstreams[UPSTREAM_URL_VARIABLES[backend]] = backendUrl(backend);
    }
    return { ...options.env, DATA_DIR: dataDir, ...upstreams, ...options.serviceEnv?.[name] };
  };
  const launch = (name: ServiceName) =>
    startServiceProcess({
      name,
      port: ports[name],
      env: envFor(name),
      host,
      output: options.output ?? 'inherit',
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });

  await assertPortsFree(Object.entries(ports), host);

  const services = {} as Record<ServiceName, ServiceProcess>;
  const everyProcess: ServiceProcess[] = [];
  const launchTracked = (name: ServiceName) => {
    const handle = launch(name);
    everyProcess.push(handle);
    return handle;
  };
  const stopStarted = () => Promise.all(Object.values(services).map((s) => s.stop()));
  try {
    for (const name of BACKEND_SERVICES) services[name] = launchTracked(name);
    await Promise.all(BACKEND_SERVICES.map((name) => services[name].waitReady(readyTimeoutMs)));
    services.gateway = launchTracked('gateway');
    await services.gateway.waitReady(readyTimeoutMs);
  } catch (error) {
    await stopStarted();
    throw error;
  }

  let stoppingAll = false;
  return {
    services,
    gatewayUrl: services.gateway.url,
    dataDir,
    ports,
    async restart(name) {
      if (stoppingAll) throw new Error(`cannot restart ${name}: the system is stopping`);
      await services[name].stop();
      await assertPortsFree([[name, ports[name]]], host);
      const next = launchTracked(name);
      services[name] = next;
      await next.waitReady(readyTimeoutMs);
      return next;
    },
    unexpectedExits: () =>
      everyProcess.flatMap((handle) => {
        const exit = handle.unexpectedExit();
        return exit ? [{ name: handle.name, pid: handle.pid, exit }] : [];
      }),
    stop: (name) => services[name].stop(),
    kill: (name) => services[name].kill(),
    async stopAll() {
      stoppingAll = true;
      // The entry point first, so no new work reaches a backend that is going away.
      const gateway = await services.gateway.stop();
      const backends = await Promise.all(BACKEND_SERVICES.map((name) => services[name].stop()));
      const exits = { gateway } as Record<ServiceName, ExitInfo>;
      BACKEND_SERVICES.forEach((name, i) => {
        exits[name] = backends[i]!;
      });
      return exits;
    },
  };
}
