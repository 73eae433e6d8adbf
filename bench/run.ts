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
import { accessLogScenario } from './scenarios/access-log.ts';
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
 * runs only the named scenarios (gateway, access, query, diagnostic, propagation, throughput,
 * visits, limits; idle memory is always read), e.g. --scenario visits for the cost per complete
 * visit, --scenario access for what the access log costs a read.
 * Figures are never assertions: a missed target is reported, not failed. The bench fails only
 * when it cannot measure (a service does not start, nginx cannot be installed).
 */

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

const SCENARIOS = ['gateway', 'access', 'query', 'diagnostic', 'propagation', 'throughput', 'visits', 'limits'] as const;
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
  // The share of a read's time spent waiting for its access record, at 20 connections (group commit at work).
  access: { maxWaitShareAt20: 0.25 },
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
  ADDRESS_RATE_LIMIT_PER_MINUTE: '0',
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

/** A profile's running system, and what its scenarios share: the lag watch and whose CPU to read. */
type ProfileBench = ProfileRun & { bench: TestSystem; lag: LagWatch; subjects: CpuSubjects; transport: 'embedded' | 'kafka' };

type MemoryPeaks = Record<ServiceName, number | null>;
/** Each service's memory on one profile: idle, and at its peak under scenario 3. */
type ProfileMemory = Record<ServiceName, MemoryFigures[ServiceName]>;

function logInfrastructureCpu(subjects: CpuSubjects, log: Log): void {
  if (!subjects.infrastructure) return;
  const { kafkaPid, postgres } = subjects.infrastructure;
  log(`  CPU of the infrastructure: Kafka broker ${kafkaPid ? `pid ${kafkaPid}` : 'not on this machine'}, PostgreSQL ${postgres ? `postmaster pid ${postgres.postmasterPid}` : 'not on this machine'}`);
}

/** 5 (idle): before any load has touched the system. */
async function readIdleMemory(bench: TestSystem, mode: Mode, log: Log): Promise<Awaited<ReturnType<typeof idleMemory>>> {
  await sleep(mode.quick ? 1_000 : 3_000);
  const idle = await idleMemory(bench);
  log(`memory idle (RSS / PSS / heap used): ${SERVICE_NAMES.map((name) => `${name} ${idle[name].idleMb}/${idle[name].idlePssMb}/${idle[name].idleHeapUsedMb} MB`).join(', ')}`);
  return idle;
}

/** Scenario 1 compares the gateway with nginx and a minimal proxy: a figure of the gateway's code, measured once, on the embedded profile. */
async function runGateway(p: ProfileBench): Promise<void> {
  if (p.profile !== 'embedded' || !p.wanted('gateway')) return;
  p.log('scenario 1: GET /receptions/{id}, 20 connections: direct, nginx, a minimal Node.js proxy, the gateway');
  p.results.gateway = await gatewayScenario(p.bench, p.nginxBinary, p.mode, p.log);
}

/** Scenario 7: what the access log costs a read, on each profile, straight to the reception service. */
async function runAccess(p: ProfileBench): Promise<void> {
  if (!p.wanted('access')) return;
  p.log(`scenario 7: the access log's cost of GET /receptions/{id} on the ${p.profile} profile, 20 connections then 1, the reception service's /metrics before and after`);
  p.results.access[p.profile] = await accessLogScenario(p.bench, p.mode, p.log);
}

async function runQuery(p: ProfileBench): Promise<void> {
  if (!p.wanted('query')) return;
  if (p.profile === 'embedded' || !p.mode.quick) {
    p.log(`scenario 4: read model queries with 100,000 visits (${p.profile} profile, on the idle system)`);
    p.results.query[p.profile] = await queryScenario(p.bench, p.mode, p.log);
  } else {
    p.results.notRun.push('4 read model on the production profile (the quick run keeps short)');
  }
}

async function runVisitCost(p: ProfileBench): Promise<void> {
  if (!p.wanted('visits')) return;
  p.log(`scenario 6: the cost of a complete visit on the ${p.profile} profile (${p.mode.quick ? 24 : 60} visits, 6 clients)`);
  p.results.visitCost[p.transport] = await visitCostScenario(p.bench, p.lag, p.subjects, p.mode, p.log);
}

async function runDiagnostic(p: ProfileBench): Promise<void> {
  if (p.mode.quick || !p.wanted('diagnostic')) return;
  p.log(`diagnostic: POST /receptions capacity of the reception service (${p.profile} profile)`);
  p.results.diagnostics.receptionPostCapacity[p.profile] = await receptionPostCapacity(p.bench, p.mode, p.log);
  p.log(`  the consumers ${(await settle(p.lag, 30_000)) ? 'caught up' : 'had not caught up (scenario 2 starts with a backlog)'}`);
}

async function runPropagation(p: ProfileBench): Promise<void> {
  if (!p.wanted('propagation')) return;
  const rate = TARGETS.propagation[p.transport].ratePerSec;
  p.log(`scenario 2: propagation on the ${p.profile} profile, ${rate} receptions/s for ${p.mode.quick ? 10 : 60} s`);
  const cpu = cpuMeter(p.subjects);
  p.results.propagation[p.transport] = { ...(await propagationScenario(p.bench, rate, p.mode, p.log)), cpu: cpu.stop() };
  p.log(`  CPU: ${describeCpu(p.results.propagation[p.transport].cpu)}`);
  await settle(p.lag, p.mode.quick ? 3_000 : 30_000);
}

/** Scenario 3, the heaviest load: the services' peak memory is sampled under it. */
async function runThroughput(p: ProfileBench): Promise<MemoryPeaks> {
  const peaks = Object.fromEntries(SERVICE_NAMES.map((name) => [name, null])) as MemoryPeaks;
  if (!p.wanted('throughput')) return peaks;
  p.log(`scenario 3: complete visits per second on the ${p.profile} profile, clients raised until saturation`);
  const sampler = peakSampler(p.bench);
  const cpu = cpuMeter(p.subjects);
  p.results.throughput[p.transport] = { ...(await throughputScenario(p.bench, p.lag, p.subjects, p.mode, p.log, () => sampler.tick())), cpu: cpu.stop() };
  p.log(`  CPU over the whole scenario: ${describeCpu(p.results.throughput[p.transport].cpu)}`);
  return Object.assign(peaks, sampler.peaks());
}

/** The scenarios in an order where each starts on a settled system; the peak memory under scenario 3. */
async function runScenarios(p: ProfileBench): Promise<MemoryPeaks> {
  await runGateway(p);
  await runAccess(p);
  await runQuery(p);
  await runVisitCost(p);
  await runDiagnostic(p);
  await runPropagation(p);
  return runThroughput(p);
}

/**
 * One profile's scenarios on a system of its own: idle memory, then the scenarios in an order
 * where each starts on a settled system, and the peak memory under scenario 3.
 */
async function runProfile(run: ProfileRun): Promise<ProfileMemory> {
  const { profile, results, log } = run;
  log(`starting the system (${profile} profile)`);
  const bench = await startTestSystem(`bench-${profile}`, { profile, env: BENCH_ENV });
  let lag: LagWatch | undefined;
  try {
    lag = await openLagWatch(bench);
    const subjects = cpuSubjects(bench);
    logInfrastructureCpu(subjects, log);
    const idle = await readIdleMemory(bench, run.mode, log);
    const peaks = await runScenarios({ ...run, bench, lag, subjects, transport: profile === 'embedded' ? 'embedded' : 'kafka' });
    const loadScenario = run.wanted('throughput') ? `throughput (${profile})` : null;
    return Object.fromEntries(SERVICE_NAMES.map((name) => [name, { ...idle[name], loadMb: peaks[name], loadScenario }])) as ProfileMemory;
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

type CommandLine = { only: 'embedded' | 'production' | undefined; scenario: string | undefined; wanted: (name: ScenarioName) => boolean; mode: Mode; outDir: string };

function parseCommandLine(): CommandLine {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' }, scenario: { type: 'string' } } });
  // --only embedded|production: one profile, while working on it (the recorded figures come from both).
  if (values.only !== undefined && values.only !== 'embedded' && values.only !== 'production') throw new Error(`--only takes embedded or production, not "${values.only}"`);
  return {
    only: values.only,
    scenario: values.scenario,
    wanted: parseScenarios(values.scenario),
    mode: { quick: values.quick ?? false },
    outDir: path.resolve(values.out ?? BENCH_DIR),
  };
}

/** results.json before any scenario ran: the machine, the versions and the settings, and a null for every figure. */
function initialResults(mode: Mode, nginxBinary: string, loadBefore: ReturnType<typeof machineLoad>, scenario: string | undefined): Results {
  return {
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
    scenarios: scenario ?? 'all',
    gateway: null,
    access: { embedded: null, production: null },
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
}

/** The machine's own limits, read against the production profile's figures (bench/limits.ts). */
async function measureLimits(mode: Mode, results: Results, log: Log): Promise<void> {
  log('limits: the Kafka client round trip on a bare topic, PostgreSQL single-row commits');
  const roundTrip = await kafkaRoundTrip({ brokers: process.env.KAFKA_BROKERS!.split(',').map((b) => b.trim()), messages: mode.quick ? 100 : 1_000, log });
  const commits = await pgCommitRate({ url: process.env.DATABASE_URL!, durationS: mode.quick ? 1 : 10, connections: 1, log });
  results.limits = { kafkaRoundTripP99Ms: roundTrip.p99Ms, pgCommitsPerSec: commits.commitsPerSec, kafkaRoundTrip: roundTrip, pgCommits: commits };
  log(`  Kafka round trip p50 ${roundTrip.p50Ms} ms, p99 ${roundTrip.p99Ms} ms; PostgreSQL ${commits.commitsPerSec} commits/s (p99 ${commits.p99Ms} ms)`);
}

/** The production profile when its infrastructure is there, the limits first; else why it did not run. */
async function runProductionSide(run: Omit<ProfileRun, 'profile'>, cli: CommandLine, production: boolean, embeddedMemory: ProfileMemory | null): Promise<void> {
  const { results } = run;
  if (production && cli.only !== 'embedded') {
    if (run.wanted('limits')) await measureLimits(run.mode, results, run.log);
    results.memory = { profile: 'production', ...(await runProfile({ profile: 'production', ...run })) };
    return;
  }
  results.memory = embeddedMemory && { profile: 'embedded', ...embeddedMemory };
  results.notRun.push(
    production
      ? 'the production profile and the limits (--only embedded)'
      : 'the production profile and the limits (KAFKA_BROKERS and DATABASE_URL not set; `eval "$(npm run -s infra:up)"` first)',
  );
}

/** results.json and the figures of RESULTS.md; a RESULTS.md of another directory starts as a copy of the recorded one, whose prose it keeps. */
function writeResults(outDir: string, results: Results, log: Log): void {
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = path.join(outDir, 'RESULTS.md');
  if (outDir !== BENCH_DIR && !fs.existsSync(markdown)) fs.copyFileSync(path.join(BENCH_DIR, 'RESULTS.md'), markdown);
  writeResultsMarkdown(markdown, results);
  log(`wrote ${path.relative(process.cwd(), outDir) || '.'}/results.json and RESULTS.md in ${results.elapsedS} s`);
}

async function main(): Promise<void> {
  const cli = parseCommandLine();
  const { mode } = cli;
  fs.mkdirSync(cli.outDir, { recursive: true });
  const started = Date.now();
  const log: Log = (line) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  const loadBefore = machineLoad();
  log(`${mode.quick ? 'quick' : 'full'} run on ${os.cpus().length} cores, load average ${loadBefore.loadAvg1m}`);

  const nginxBinary = ensureNginx(log);
  const production = Boolean(process.env.KAFKA_BROKERS?.trim() && process.env.DATABASE_URL?.trim());
  const results = initialResults(mode, nginxBinary, loadBefore, cli.scenario);
  const run = { nginxBinary, mode, wanted: cli.wanted, results, log };

  const embeddedMemory = cli.only === 'production' ? null : await runProfile({ profile: 'embedded', ...run });
  results.memoryEmbedded = embeddedMemory;
  if (!embeddedMemory) results.notRun.push('the embedded profile (--only production)');
  await runProductionSide(run, cli, production, embeddedMemory);

  results.visitCostComparison = visitCostComparison(results);
  if (cli.scenario !== undefined) results.notRun.push(`every scenario but ${cli.scenario} (--scenario)`);
  results.machine.loadAfter = machineLoad();
  results.elapsedS = Math.round((Date.now() - started) / 1000);
  writeResults(cli.outDir, results, log);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? error}\n`);
  process.exitCode = 1;
});
