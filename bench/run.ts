import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPOSITORY_ROOT, SERVICE_NAMES, type ServiceName } from '../scripts/lib/processes.ts';
import { startTestSystem, type TestSystem } from '../test/e2e/helpers.ts';
import { kafkaRoundTrip, pgCommitRate } from './limits.ts';
import { cpuMeter, ensureNginx, machineLoad, nginxVersion, sleep, type CpuFigures } from './lib/tools.ts';
import { settle } from './lib/settle.ts';
import { writeResultsMarkdown } from './report.ts';
import { receptionPostCapacity } from './scenarios/capacity.ts';
import { gatewayScenario } from './scenarios/gateway.ts';
import { idleMemory, peakSampler, type MemoryFigures } from './scenarios/memory.ts';
import type { Log, Mode } from './scenarios/mode.ts';
import { propagationScenario } from './scenarios/propagation.ts';
import { queryScenario } from './scenarios/query.ts';
import { throughputScenario } from './scenarios/throughput.ts';

/**
 * npm run bench [-- --quick] [-- --out DIR]: runs the scenarios of bench/RESULTS.md one after the
 * other on this machine, the embedded profile first, then (with KAFKA_BROKERS and DATABASE_URL
 * set) the production one, and writes results.json and the figures of RESULTS.md into DIR
 * (bench/ by default); --only embedded|production runs one profile. Figures are never assertions: a missed target is reported, not failed.
 * The bench fails only when it cannot measure (a service does not start, nginx cannot be installed).
 */

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

const TARGETS = {
  gateway: { minRatio: 0.8, maxP99Ratio: 1.25 },
  propagation: { maxP99Ms: 100 },
  throughput: { minVisitsPerSecKafka: 200 },
  query: { maxP99Ms: 10 },
  memory: { maxIdleMb: 120, maxLoadMb: 250 },
};

/** What the services run with in the bench: the documented defaults, without per-request logs. */
const BENCH_ENV = {
  LOG_LEVEL: 'warn',
  EVENT_POLL_INTERVAL_MS: '25',
  EVENT_RETRY_BASE_DELAY_MS: '200',
  // The load comes from one address, far above any per-client limit; tokens outlive the run.
  RATE_LIMIT_PER_MINUTE: '0',
  AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '0',
  DEV_TOKEN_LIFETIME_SECONDS: '86400',
};

type Results = Record<string, any>;

function packageVersion(name: string): string | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPOSITORY_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Stops a system; an unclean stop is recorded beside the figures, not fatal. */
async function stopSystem(bench: TestSystem, label: string, results: Results, log: Log): Promise<void> {
  await bench.stop().catch((error: unknown) => {
    const message = String((error as Error).message).split('\n')[0]!;
    const exits = Object.fromEntries(SERVICE_NAMES.map((name) => [name, bench.system.services[name].exitInfo()]));
    results.shutdownProblems.push(`${label} system: ${message}; exits ${JSON.stringify(exits)}`);
    log(`stopping the ${label} system: ${results.shutdownProblems.at(-1)}`);
    fs.rmSync(bench.dataDir, { recursive: true, force: true });
  });
}

function servicePids(bench: TestSystem): Record<string, number> {
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, bench.system.services[name].pid]));
}

function logCpu(cpu: CpuFigures, log: Log): void {
  const services = Object.entries(cpu.processPctOfOneCore).map(([name, pct]) => `${name} ${pct}%`).join(', ');
  log(`  CPU: machine ${cpu.machineBusyPct}% busy; of one core: ${services}, the bench ${cpu.benchPctOfOneCore}%, everything else (Kafka, PostgreSQL, kernel) ${cpu.othersPctOfOneCore}%`);
}

/**
 * One profile's scenarios on a system of its own: idle memory, then the scenarios in an order
 * where each starts on a settled system, and the peak memory under scenario 3.
 */
async function runProfile(profile: 'embedded' | 'production', nginxBinary: string, mode: Mode, results: Results, log: Log): Promise<Record<ServiceName, MemoryFigures[ServiceName]>> {
  const transport = profile === 'embedded' ? 'embedded' : 'kafka';
  log(`starting the system (${profile} profile)`);
  const bench = await startTestSystem(`bench-${profile}`, { profile, env: BENCH_ENV });
  try {
    // 5 (idle): before any load has touched the system.
    await sleep(mode.quick ? 1_000 : 3_000);
    const idle = await idleMemory(bench);
    log(`memory idle (RSS / PSS / heap used): ${SERVICE_NAMES.map((name) => `${name} ${idle[name].idleMb}/${idle[name].idlePssMb}/${idle[name].idleHeapUsedMb} MB`).join(', ')}`);

    if (profile === 'embedded') {
      log('scenario 1: GET /receptions/{id}, 20 connections: direct, nginx, a minimal Node.js proxy, the gateway');
      results.gateway = await gatewayScenario(bench, nginxBinary, mode, log);
    }

    if (profile === 'embedded' || !mode.quick) {
      log(`scenario 4: read model queries with 100,000 visits (${profile} profile, on the idle system)`);
      results.query[profile] = await queryScenario(bench, mode, log);
    } else {
      results.notRun.push('4 read model on the production profile (the quick run keeps under 90 s)');
    }

    if (!mode.quick) {
      log(`diagnostic: POST /receptions capacity of the reception service (${profile} profile)`);
      results.diagnostics.receptionPostCapacity[profile] = await receptionPostCapacity(bench, mode, log);
      log(`  the consumers ${(await settle(bench, 30_000)) ? 'caught up' : 'had not caught up (scenario 2 starts with a backlog)'}`);
    }

    log(`scenario 2: propagation on the ${profile} profile, 100 receptions/s for ${mode.quick ? 10 : 60} s`);
    let cpu = cpuMeter(servicePids(bench));
    results.propagation[transport] = { ...(await propagationScenario(bench, mode, log)), cpu: cpu.stop() };
    logCpu(results.propagation[transport].cpu, log);
    await settle(bench, mode.quick ? 3_000 : 30_000);

    log(`scenario 3: complete visits per second on the ${profile} profile, clients raised until saturation`);
    const sampler = peakSampler(bench);
    cpu = cpuMeter(servicePids(bench));
    results.throughput[transport] = { ...(await throughputScenario(bench, mode, log, () => sampler.tick())), cpu: cpu.stop() };
    logCpu(results.throughput[transport].cpu, log);
    const peaks = sampler.peaks();
    return Object.fromEntries(SERVICE_NAMES.map((name) => [name, { ...idle[name], loadMb: peaks[name], loadScenario: `throughput (${profile})` }])) as Record<
      ServiceName,
      MemoryFigures[ServiceName]
    >;
  } finally {
    await stopSystem(bench, profile, results, log);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' } } });
  // --only embedded|production: one profile, while working on it (the recorded figures come from both).
  if (values.only !== undefined && values.only !== 'embedded' && values.only !== 'production') throw new Error(`--only takes embedded or production, not "${values.only}"`);
  const mode: Mode = { quick: values.quick ?? false };
  const outDir = path.resolve(values.out ?? BENCH_DIR);
  fs.mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const log: Log = (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  const loadBefore = machineLoad();
  log(`${mode.quick ? 'quick' : 'full'} run on ${os.cpus().length} cores, load average ${loadBefore.loadAvg1m}`);

  const nginxBinary = ensureNginx(log);
  const production = Boolean(process.env.KAFKA_BROKERS?.trim() && process.env.DATABASE_URL?.trim());
  const results: Results = {
    date: new Date().toISOString(),
    mode: mode.quick ? 'quick' : 'full',
    targets: TARGETS,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemoryMb: Math.round(os.totalmem() / 2 ** 20),
      platform: `${os.platform()} ${os.release()}`,
      loadBefore,
      loadAfter: null,
    },
    versions: {
      node: process.versions.node,
      nginx: nginxVersion(nginxBinary),
      autocannon: packageVersion('autocannon'),
      fastify: packageVersion('fastify'),
      kysely: packageVersion('kysely'),
      '@platformatic/kafka': packageVersion('@platformatic/kafka'),
      pg: packageVersion('pg'),
      undici: packageVersion('undici'),
    },
    settings: BENCH_ENV,
    gateway: null,
    propagation: { embedded: null, kafka: null },
    throughput: { embedded: null, kafka: null },
    limits: { kafkaRoundTripP99Ms: null, pgCommitsPerSec: null, kafkaRoundTrip: null, pgCommits: null },
    query: { embedded: null, production: null },
    memory: null,
    memoryEmbedded: null,
    diagnostics: { receptionPostCapacity: { embedded: null, production: null } },
    notRun: [] as string[],
    shutdownProblems: [] as string[],
  };

  const embeddedMemory = values.only === 'production' ? null : await runProfile('embedded', nginxBinary, mode, results, log);
  results.memoryEmbedded = embeddedMemory;
  if (!embeddedMemory) results.notRun.push('the embedded profile (--only production)');

  if (production && values.only !== 'embedded') {
    log('limits: the Kafka client round trip on a bare topic, PostgreSQL single-row commits');
    const roundTrip = await kafkaRoundTrip({ brokers: process.env.KAFKA_BROKERS!.split(',').map((b) => b.trim()), messages: mode.quick ? 100 : 1_000, log });
    const commits = await pgCommitRate({ url: process.env.DATABASE_URL!, durationS: mode.quick ? 1 : 10, connections: 1, log });
    results.limits = { kafkaRoundTripP99Ms: roundTrip.p99Ms, pgCommitsPerSec: commits.commitsPerSec, kafkaRoundTrip: roundTrip, pgCommits: commits };
    log(`  Kafka round trip p50 ${roundTrip.p50Ms} ms, p99 ${roundTrip.p99Ms} ms; PostgreSQL ${commits.commitsPerSec} commits/s (p99 ${commits.p99Ms} ms)`);
    results.memory = { profile: 'production', ...(await runProfile('production', nginxBinary, mode, results, log)) };
  } else {
    results.memory = embeddedMemory && { profile: 'embedded', ...embeddedMemory };
    results.notRun.push(
      production
        ? 'the production profile and the limits (--only embedded)'
        : 'the production profile and the limits (KAFKA_BROKERS and DATABASE_URL not set; `eval "$(npm run -s infra:up)"` first)',
    );
  }

  results.machine.loadAfter = machineLoad();
  results.elapsedS = Math.round((Date.now() - started) / 1000);
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = path.join(outDir, 'RESULTS.md');
  if (outDir !== BENCH_DIR && !fs.existsSync(markdown)) fs.copyFileSync(path.join(BENCH_DIR, 'RESULTS.md'), markdown);
  writeResultsMarkdown(markdown, results);
  log(`wrote ${path.relative(process.cwd(), outDir) || '.'}/results.json and RESULTS.md in ${results.elapsedS} s`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
