import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { round } from './stats.ts';
import { authHeaders } from '../../test/e2e/support/tokens.ts';

/**
 * The bench's tools: the load generator (autocannon, in this process), nginx (Debian's package,
 * installed when missing), resident-set readings from /proc, and percentiles. Nothing here knows
 * the system under test.
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

export type LoadOptions = { connections: number; durationS: number; method?: string; headers?: Record<string, string>; body?: string };

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

/**
 * nginx as an operator would put it in front of one service: a reverse proxy with keep-alive
 * connections to the upstream, no access log (the gateway does not log requests at LOG_LEVEL=warn
 * either), `workers` worker processes (the bench uses 1, as the gateway is one Node process).
 */
export async function startNginx(binary: string, options: { port: number; upstream: string; workers: number }): Promise<RunningNginx> {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-nginx-'));
  const upstream = new URL(options.upstream);
  const config = `
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
  const configFile = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(configFile, config);
  execFileSync(binary, ['-t', '-q', '-p', prefix, '-c', configFile], { stdio: 'pipe' });
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', configFile, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}`);
    }
    await sleep(50);
  }
  return {
    url,
    pid: child.pid!,
    workers: options.workers,
    async stop() {
      // SIGQUIT: graceful shutdown of master and workers.
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

// ---- measurements ----------------------------------------------------------------------------

/** The resident set of a process in MB (VmRSS from /proc), or null when it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/**
 * The proportional set size of a process in MB (Pss from /proc/<pid>/smaps_rollup): its resident
 * pages, those shared with other processes (the node binary, shared libraries) divided among
 * the processes sharing them. Null when it is gone or the kernel does not say.
 */
export function pssMb(pid: number): number | null {
  try {
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const match = /^Pss:\s+(\d+)\s+kB/m.exec(rollup);
    return match ? round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

export { percentile, round } from './stats.ts';

/** The 1-minute load average and the cores, to put beside every figure. */
export function machineLoad(): { loadAvg1m: number; loadAvg5m: number } {
  const [one, five] = os.loadavg();
  return { loadAvg1m: round(one!, 2), loadAvg5m: round(five!, 2) };
}

// ---- CPU -----------------------------------------------------------------------------------

/** Jiffies spent by the whole machine (busy and in all) from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, v) => sum + v, 0);
  // idle and iowait are the 4th and 5th fields.
  return { busy: total - fields[3]! - (fields[4] ?? 0), total };
}

/** Jiffies of CPU (user + system) a process has used, or null when it is gone. */
function processJiffies(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after it are fixed. utime and stime are the
    // 14th and 15th fields, the 12th and 13th after the closing parenthesis.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(after[11]) + Number(after[12]);
  } catch {
    return null;
  }
}

export type CpuFigures = {
  /** The share of the machine's CPU time that was busy (all cores: 100 means every core busy). */
  machineBusyPct: number;
  /** Per named process, its CPU time as a share of one core (100: one core busy all along). */
  processPctOfOneCore: Record<string, number | null>;
  /** The bench process itself (the load generator). */
  benchPctOfOneCore: number;
  /** Everything else (Kafka, PostgreSQL, nginx, the kernel), as a share of one core. */
  othersPctOfOneCore: number;
};

/** CPU use between start and stop, of the machine and of the given processes. */
export function cpuMeter(processes: Record<string, number>): { stop(): CpuFigures } {
  const ticksPerCore = (jiffies: number, total: number) => (jiffies / total) * os.cpus().length * 100;
  const machineStart = machineJiffies();
  const processStart = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, processJiffies(pid)]));
  const benchStart = process.cpuUsage();
  return {
    stop() {
      const machineEnd = machineJiffies();
      const total = machineEnd.total - machineStart.total;
      const busy = machineEnd.busy - machineStart.busy;
      const processPctOfOneCore: Record<string, number | null> = {};
      let accounted = 0;
      for (const [name, pid] of Object.entries(processes)) {
        const start = processStart[name];
        const end = processJiffies(pid);
        if (start === null || start === undefined || end === null) {
          processPctOfOneCore[name] = null;
          continue;
        }
        const pct = ticksPerCore(end - start, total);
        accounted += pct;
        processPctOfOneCore[name] = round(pct);
      }
      const benchUsage = process.cpuUsage(benchStart);
      // Seconds of the bench process over the wall time the machine counters cover.
      const wallS = total / os.cpus().length / 100;
      const benchPct = wallS > 0 ? ((benchUsage.user + benchUsage.system) / 1e6 / wallS) * 100 : 0;
      const machineBusyPct = total > 0 ? (busy / total) * 100 : 0;
      return {
        machineBusyPct: round(machineBusyPct),
        processPctOfOneCore,
        benchPctOfOneCore: round(benchPct),
        othersPctOfOneCore: round(Math.max(0, machineBusyPct * os.cpus().length - accounted - benchPct)),
      };
    },
  };
}
