import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { REPOSITORY_ROOT, SERVICE_NAMES, type ServiceName } from '../scripts/lib/processes.ts';
import { startTestSystem, type TestSystem } from '../test/e2e/helpers.ts';
import { kafkaRoundTrip, pgCommitRate } from './limits.ts';
import { cpuMeter, describeCpu, type CpuSubjects } from './lib/cpu.ts';
import { findInfrastructure } from './lib/infrastructure.ts';
import { openLagWatch, type LagWatch } from './lib/lag.ts';
import { settle } from './lib/settle.ts';
import { ensureNginx, machineLoad, nginxVersion, round, sleep } from './lib/tools.ts';
import { writeResultsMarkdown } from './report.ts';
import { receptionPostCapacity } from './scenarios/capacity.ts';
import { gatewayScenario } from './scenarios/gateway.ts';
import { idleMemory, peakSampler, type MemoryFigures } from './scenarios/memory.ts';
import type { Log, Mode } from './scenarios/mode.ts';
import { propagationScenario } from './scenarios/propagation.ts';
import { queryScenario } from './scenarios/query.ts';
import { throughputScenario } from './scenarios/throughput.ts';
import { visitCostScenario } from './scenarios/visit-cost.ts';

/**
 * npm run bench [-- --quick] [-- --out DIR]: runs the scenarios of bench/RESULTS.md one after the
 * other on this machine, the embedded profile first, then (with KAFKA_BROKERS and DATABASE_URL
 * set) the production one, and writes results.json and the figures of RESULTS.md into DIR
 * (bench/ by default). --only embedded|production runs one profile; --scenario NAME[,NAME...]
 * runs only the named scenarios (gateway, query, diagnostic, propagation, throughput, visits,
 * limits; idle memory is always read), e.g. --scenario visits for the cost per complete visit.
 * Figures are never assertions: a missed target is reported, not failed. The bench fails only
 * when it cannot measure (a service does not start, nginx cannot be installed).
 */

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

const SCENARIOS = ['gateway', 'query', 'diagnostic', 'propagation', 'throughput', 'visits', 'limits'] as const;
type ScenarioName = (typeof SCENARIOS)[number];

const TARGETS = {
  // Throughput against the minimal Node.js proxy (nginx's is a reference figure); p99 against nginx's.
  gateway: { minRatioToMinimalProxy: 0.8, maxP99RatioToNginx: 1.25 },
  // Each profile at its own fixed rate; a visit never seen misses the target whatever the p99.
  propagation: { embedded: { ratePerSec: 100, maxP99Ms: 50 }, kafka: { ratePerSec: 50, maxP99Ms: 100 }, maxMissing: 0 },
  throughput: { minVisitsPerSec: { embedded: 90, kafka: 40 } },
  visitCost: { maxCpuRatioProductionToEmbedded: 1.6, maxPgTransactionsPerVisit: 25, maxWalSyncsPerVisit: 8 },
  query: { maxP99Ms: 10 },
  memory: { maxIdleMb: 120, maxLoadMb: 250 },
};

/** What the services run with in the bench: the documented defaults, log level included. */
const BENCH_ENV = {
  // Blank: the platform's default level (info). The harness's TEST_ENV says warn, which would
  // leave out the per-request and per-event lines that are part of what the system costs.
  LOG_LEVEL: '',
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

/** Whose CPU the scenarios read: the services, and on the production profile the broker and the PostgreSQL server here. */
function cpuSubjects(bench: TestSystem): CpuSubjects {
  const processes = Object.fromEntries(SERVICE_NAMES.map((name) => [name, bench.system.services[name].pid]));
  if (bench.profile !== 'production') return { processes };
  return { processes, infrastructure: findInfrastructure({ kafkaBrokers: bench.env.KAFKA_BROKERS, databaseUrl: bench.database?.url, database: bench.database?.name }) };
}

type ProfileRun = { profile: 'embedded' | 'production'; nginxBinary: string; mode: Mode; wanted: (name: ScenarioName) => boolean; results: Results; log: Log };

/**
 * One profile's scenarios on a system of its own: idle memory, then the scenarios in an order
 * where each starts on a settled system, and the peak memory under scenario 3.
 */
async function runProfile(run: ProfileRun): Promise<Record<ServiceName, MemoryFigures[ServiceName]>> {
  const { profile, mode, wanted, results, log } = run;
  const transport = profile === 'embedded' ? 'embedded' : 'kafka';
  log(`starting the system (${profile} profile)`);
  const bench = await startTestSystem(`bench-${profile}`, { profile, env: BENCH_ENV });
  let lag: LagWatch | undefined;
  try {
    lag = await openLagWatch(bench);
    const subjects = cpuSubjects(bench);
    if (subjects.infrastructure) {
      const { kafkaPid, postgres } = subjects.infrastructure;
      log(`  CPU of the infrastructure: Kafka broker ${kafkaPid ? `pid ${kafkaPid}` : 'not on this machine'}, PostgreSQL ${postgres ? `postmaster pid ${postgres.postmasterPid}` : 'not on this machine'}`);
    }
    // 5 (idle): before any load has touched the system.
    await sleep(mode.quick ? 1_000 : 3_000);
    const idle = await idleMemory(bench);
    log(`memory idle (RSS / PSS / heap used): ${SERVICE_NAMES.map((name) => `${name} ${idle[name].idleMb}/${idle[name].idlePssMb}/${idle[name].idleHeapUsedMb} MB`).join(', ')}`);

    if (profile === 'embedded' && wanted('gateway')) {
      log('scenario 1: GET /receptions/{id}, 20 connections: direct, nginx, a minimal Node.js proxy, the gateway');
      results.gateway = await gatewayScenario(bench, run.nginxBinary, mode, log);
    }

    if (wanted('query')) {
      if (profile === 'embedded' || !mode.quick) {
        log(`scenario 4: read model queries with 100,000 visits (${profile} profile, on the idle system)`);
        results.query[profile] = await queryScenario(bench, mode, log);
      } else {
        results.notRun.push('4 read model on the production profile (the quick run keeps short)');
      }
    }

    if (wanted('visits')) {
      log(`scenario 6: the cost of a complete visit on the ${profile} profile (${mode.quick ? 24 : 60} visits, 6 clients)`);
      results.visitCost[transport] = await visitCostScenario(bench, lag, subjects, mode, log);
    }

    if (!mode.quick && wanted('diagnostic')) {
      log(`diagnostic: POST /receptions capacity of the reception service (${profile} profile)`);
      results.diagnostics.receptionPostCapacity[profile] = await receptionPostCapacity(bench, mode, log);
      log(`  the consumers ${(await settle(lag, 30_000)) ? 'caught up' : 'had not caught up (scenario 2 starts with a backlog)'}`);
    }

    if (wanted('propagation')) {
      const rate = TARGETS.propagation[transport].ratePerSec;
      log(`scenario 2: propagation on the ${profile} profile, ${rate} receptions/s for ${mode.quick ? 10 : 60} s`);
      const cpu = cpuMeter(subjects);
      results.propagation[transport] = { ...(await propagationScenario(bench, rate, mode, log)), cpu: cpu.stop() };
      log(`  CPU: ${describeCpu(results.propagation[transport].cpu)}`);
      await settle(lag, mode.quick ? 3_000 : 30_000);
    }

    const peaks: Record<ServiceName, number | null> = Object.fromEntries(SERVICE_NAMES.map((name) => [name, null])) as Record<ServiceName, number | null>;
    if (wanted('throughput')) {
      log(`scenario 3: complete visits per second on the ${profile} profile, clients raised until saturation`);
      const sampler = peakSampler(bench);
      const cpu = cpuMeter(subjects);
      results.throughput[transport] = { ...(await throughputScenario(bench, lag, subjects, mode, log, () => sampler.tick())), cpu: cpu.stop() };
      log(`  CPU over the whole scenario: ${describeCpu(results.throughput[transport].cpu)}`);
      Object.assign(peaks, sampler.peaks());
    }
    const loadScenario = wanted('throughput') ? `throughput (${profile})` : null;
    return Object.fromEntries(SERVICE_NAMES.map((name) => [name, { ...idle[name], loadMb: peaks[name], loadScenario }])) as Record<ServiceName, MemoryFigures[ServiceName]>;
  } finally {
    await lag?.close();
    await stopSystem(bench, profile, results, log);
  }
}

/** The --scenario list: every scenario when absent. */
function parseScenarios(value: string | undefined): (name: ScenarioName) => boolean {
  if (value === undefined) return () => true;
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !(SCENARIOS as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--scenario takes one or more of ${SCENARIOS.join(', ')} (comma-separated), not "${value}"`);
  return (name) => names.includes(name);
}

/**
 * Production CPU per complete visit against embedded's, measured in the same run: the system's
 * (services, Kafka, PostgreSQL, interrupts), which the target judges, as the load generator does
 * the same on both profiles and other work on a shared machine is nobody's visit; and the whole
 * machine's beside it.
 */
function visitCostComparison(results: Results): Results | null {
  const embedded = results.visitCost.embedded?.perVisit;
  const production = results.visitCost.kafka?.perVisit;
  if (!embedded || !production || !(embedded.systemCpuMs > 0) || !(embedded.machineCpuMs > 0)) return null;
  return {
    systemCpuRatio: round(production.systemCpuMs / embedded.systemCpuMs, 2),
    machineCpuRatio: round(production.machineCpuMs / embedded.machineCpuMs, 2),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' }, scenario: { type: 'string' } } });
  // --only embedded|production: one profile, while working on it (the recorded figures come from both).
  if (values.only !== undefined && values.only !== 'embedded' && values.only !== 'production') throw new Error(`--only takes embedded or production, not "${values.only}"`);
  const wanted = parseScenarios(values.scenario);
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
    scenarios: values.scenario ?? 'all',
    gateway: null,
    propagation: { embedded: null, kafka: null },
    throughput: { embedded: null, kafka: null },
    visitCost: { embedded: null, kafka: null },
    visitCostComparison: null,
    limits: { kafkaRoundTripP99Ms: null, pgCommitsPerSec: null, kafkaRoundTrip: null, pgCommits: null },
    query: { embedded: null, production: null },
    memory: null,
    memoryEmbedded: null,
    diagnostics: { receptionPostCapacity: { embedded: null, production: null } },
    notRun: [] as string[],
    shutdownProblems: [] as string[],
  };

  const embeddedMemory = values.only === 'production' ? null : await runProfile({ profile: 'embedded', nginxBinary, mode, wanted, results, log });
  results.memoryEmbedded = embeddedMemory;
  if (!embeddedMemory) results.notRun.push('the embedded profile (--only production)');

  if (production && values.only !== 'embedded') {
    if (wanted('limits')) {
      log('limits: the Kafka client round trip on a bare topic, PostgreSQL single-row commits');
      const roundTrip = await kafkaRoundTrip({ brokers: process.env.KAFKA_BROKERS!.split(',').map((b) => b.trim()), messages: mode.quick ? 100 : 1_000, log });
      const commits = await pgCommitRate({ url: process.env.DATABASE_URL!, durationS: mode.quick ? 1 : 10, connections: 1, log });
      results.limits = { kafkaRoundTripP99Ms: roundTrip.p99Ms, pgCommitsPerSec: commits.commitsPerSec, kafkaRoundTrip: roundTrip, pgCommits: commits };
      log(`  Kafka round trip p50 ${roundTrip.p50Ms} ms, p99 ${roundTrip.p99Ms} ms; PostgreSQL ${commits.commitsPerSec} commits/s (p99 ${commits.p99Ms} ms)`);
    }
    results.memory = { profile: 'production', ...(await runProfile({ profile: 'production', nginxBinary, mode, wanted, results, log })) };
  } else {
    results.memory = embeddedMemory && { profile: 'embedded', ...embeddedMemory };
    results.notRun.push(
      production
        ? 'the production profile and the limits (--only embedded)'
        : 'the production profile and the limits (KAFKA_BROKERS and DATABASE_URL not set; `eval "$(npm run -s infra:up)"` first)',
    );
  }

  results.visitCostComparison = visitCostComparison(results);
  if (values.scenario !== undefined) results.notRun.push(`every scenario but ${values.scenario} (--scenario)`);
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
