import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { endWithGrace, pollUntilAnswering } from '../../scripts/lib/child-lifecycle.ts';
import { round } from '../../scripts/lib/stats.ts';
import { authHeaders } from '../../test/e2e/support/tokens.ts';
import { IDEMPOTENCY_KEY_HEADER } from './staff-client.ts';

/**
 * The bench's tools: the load generator (autocannon, in this process), nginx (Debian's package,
 * installed when missing), resident-set readings from /proc, and percentiles (CPU readings are in
 * cpu.ts). Nothing here knows the system under test.
 */

export { sleep };

/** One autocannon run: requests per second and latency percentiles, as autocannon reports them. */
export type LoadFigures = {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  durationS: number;
};

export type LoadOptions = {
  connections: number;
  durationS: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Every request with an Idempotency-Key of its own (a random UUID), as the staff console sends its commands. */
  freshIdempotencyKeys?: boolean;
};

/** autocannon builds each request again through setupRequest, so each gets a key of its own. */
const withFreshIdempotencyKey = [
  { setupRequest: (request: { headers?: Record<string, string> }) => ({ ...request, headers: { ...request.headers, [IDEMPOTENCY_KEY_HEADER]: randomUUID() } }) },
];

/**
 * autocannon against `url`, every request with the admin's bearer token from the running bench
 * system's gateway (allowed on every route, whether `url` is the gateway, a proxy or a service).
 */
export async function load(url: string, options: LoadOptions): Promise<LoadFigures> {
  const headers = { ...(await authHeaders(options.method ?? 'GET', new URL(url).pathname, 'admin')), ...options.headers };
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
    ...(options.method ? { method: options.method } : {}),
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.freshIdempotencyKeys ? { requests: withFreshIdempotencyKey } : {}),
  });
  return {
    rps: round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    durationS: options.durationS,
  };
}

// ---- nginx -----------------------------------------------------------------------------------

function nginxBinary(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The nginx binary, installed from Debian's packages (nginx-light) when missing. */
export function ensureNginx(log: (line: string) => void): string {
  const found = nginxBinary();
  if (found) return found;
  log('nginx is missing: apt-get install -y nginx-light');
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const run = (args: string[]) => {
    const [command, ...rest] = [...asRoot, ...args];
    const result = spawnSync(command!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return result.status === 0;
  };
  if (!run(['apt-get', 'install', '-y', 'nginx-light'])) {
    run(['apt-get', 'update']);
    if (!run(['apt-get', 'install', '-y', 'nginx-light'])) throw new Error('could not install nginx-light with apt-get');
  }
  const installed = nginxBinary();
  if (!installed) throw new Error('nginx-light installed, but no nginx binary found');
  return installed;
}

export function nginxVersion(binary: string): string {
  // nginx -v writes to stderr.
  const result = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  return (result.stderr || result.stdout).trim().replace(/^nginx version: /, '');
}

export type RunningNginx = { url: string; pid: number; workers: number; stop(): Promise<void> };

/** nginx's configuration: everything under `prefix`, so that nothing of the system's nginx is touched. */
function nginxConfig(prefix: string, options: { port: number; upstream: string; workers: number }): string {
  const upstream = new URL(options.upstream);
  return `
worker_processes ${options.workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream reception { server ${upstream.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${options.port};
    location / {
      proxy_pass http://reception;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

/** nginx in the foreground (so it is our child, and ends with us), its stderr kept for the error message. */
function spawnNginx(binary: string, prefix: string, configFile: string): { child: ChildProcess; exited: Promise<void>; hasExited(): boolean; stderr(): string } {
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', configFile, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  let gone = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      gone = true;
      resolve();
    }),
  );
  return { child, exited, hasExited: () => gone, stderr: () => stderr };
}

/**
 * nginx as an operator would put it in front of one service: a reverse proxy with keep-alive
 * connections to the upstream, no access log (the gateway does not log requests at LOG_LEVEL=warn
 * either), `workers` worker processes (the bench uses 1, as the gateway is one Node process).
 */
export async function startNginx(binary: string, options: { port: number; upstream: string; workers: number }): Promise<RunningNginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nginx-'));
  const configFile = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(configFile, nginxConfig(prefix, options));
  // A configuration error is reported here, with nginx's own words, rather than as a start that never answers.
  execFileSync(binary, ['-t', '-q', '-p', prefix, '-c', configFile], { stdio: 'pipe' });
  const nginx = spawnNginx(binary, prefix, configFile);
  const url = `http://127.0.0.1:${options.port}`;
  // /healthz is proxied to the service: ready means nginx and its upstream both answer.
  const started = await pollUntilAnswering(`${url}/healthz`, { timeoutMs: 10_000, hasExited: nginx.hasExited, exited: nginx.exited });
  if (!started.ready) {
    nginx.child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${nginx.stderr()}`);
  }
  return {
    url,
    pid: nginx.child.pid!,
    workers: options.workers,
    async stop() {
      // SIGQUIT: graceful shutdown of master and workers.
      await endWithGrace(nginx.child, nginx.exited, 'SIGQUIT', 5_000);
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

// ---- measurements ----------------------------------------------------------------------------

/** A "Field:   1234 kB" line of a /proc file, in MB; null when the process is gone or the kernel does not say. */
function procKbFieldMb(file: string, field: RegExp): number | null {
  try {
    const match = field.exec(fs.readFileSync(file, 'utf8'));
    return match ? round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The resident set of a process in MB (VmRSS from /proc), or null when it is gone. */
export function rssMb(pid: number): number | null {
  return procKbFieldMb(`/proc/${pid}/status`, /^VmRSS:\s+(\d+)\s+kB/m);
}

/**
 * The proportional set size of a process in MB (Pss from /proc/<pid>/smaps_rollup): its resident
 * pages, those shared with other processes (the node binary, shared libraries) divided among
 * the processes sharing them. Null when it is gone or the kernel does not say.
 */
export function pssMb(pid: number): number | null {
  return procKbFieldMb(`/proc/${pid}/smaps_rollup`, /^Pss:\s+(\d+)\s+kB/m);
}

export { percentile, round } from '../../scripts/lib/stats.ts';

/** The 1-minute load average and the cores, to put beside every figure. */
export function machineLoad(): { loadAvg1m: number; loadAvg5m: number } {
  const [one, five] = os.loadavg();
  return { loadAvg1m: round(one!, 2), loadAvg5m: round(five!, 2) };
}
