import { performance } from 'node:perf_hooks';
import type { TestSystem } from '../../test/e2e/helpers.ts';
import { cpuBetween, readCpu, systemCpuMs, type CpuFigures, type CpuSubjects } from '../lib/cpu.ts';
import { brokerCountsUnavailable, brokerRequestCounts, requestsBetween, type RequestCounts, type RequestsBetween } from '../lib/kafka-requests.ts';
import type { LagWatch } from '../lib/lag.ts';
import { otherTransactionsBetween, PgStats, STATS_SETTLE_MS, type PgCounters } from '../lib/pg-counters.ts';
import { settle } from '../lib/settle.ts';
import { staffConsoleClient } from '../lib/staff-client.ts';
import { percentile, round, sleep } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';
import { returningPatients } from '../lib/patients.ts';
import { timeCommonVisit } from './throughput.ts';

/**
 * Scenario 6: what one complete visit costs, in counts that do not depend on the machine's speed.
 * A fixed number of visits (60; 24 in the quick run), driven through the gateway by 6 clients
 * that look for the next step every 100 ms, with Idempotency-Keys, as scenario 3's clients do;
 * then the consumers catch up. Counters read before and after, divided by the visits completed:
 * the machine's CPU time (/proc/stat), the system's (its services, Kafka, PostgreSQL and the
 * kernel's interrupts; bench/lib/cpu.ts), the bench's and what no process of those used, and on the production profile PostgreSQL's transactions, WAL syncs and statements
 * (bench/lib/pg-counters.ts) and the Kafka broker's requests (bench/lib/kafka-requests.ts).
 *
 * The window runs from the first command until the consumers had caught up with the last
 * visit's events, so it holds what the system does in the background meanwhile (consumers
 * polling, heartbeats, outbox relays looking for work) at this load. That background is also
 * measured alone on the idle system just before (idlePerSec), so it can be read apart. Where a
 * counter is only complete some seconds later (PostgreSQL's cumulative statistics), it is read
 * then and the idle background of those extra seconds taken off.
 */

export type PerVisit = {
  /** The machine's busy time (/proc/stat). */
  machineCpuMs: number;
  /** The system's: its services, Kafka, PostgreSQL and the kernel's interrupts (no bench, nothing unattributed). */
  systemCpuMs: number;
  servicesCpuMs: number;
  kafkaCpuMs: number;
  postgresCpuMs: number;
  interruptsCpuMs: number;
  benchCpuMs: number;
  /** Everything but the services and the bench: Kafka, PostgreSQL, interrupts and the unattributed. */
  othersCpuMs: number;
  /** Busy time of no process above: other work on the machine. */
  unattributedCpuMs: number;
  pgTransactions: number | null;
  walSyncs: number | null;
  statements: number | null;
  kafkaRequests: number | null;
};

export type VisitCostFigures = {
  planned: number;
  /** Visits completed: the divisor of every per-visit figure. */
  visits: number;
  failures: number;
  clients: number;
  pollIntervalMs: number;
  /** Whether the consumers caught up after the last visit (within 60 s). */
  caughtUp: boolean;
  /** From the first command until the consumers had caught up. */
  windowS: number;
  visitsPerSec: number;
  visitP50Ms: number | null;
  visitP99Ms: number | null;
  cpu: CpuFigures;
  perVisit: PerVisit;
  /** The idle system's background per second, measured just before with the same counters. */
  idlePerSec: {
    seconds: number;
    machineCpuMs: number;
    systemCpuMs: number;
    unattributedCpuMs: number;
    pgTransactions: number | null;
    walSyncs: number | null;
    statements: number | null;
    kafkaRequests: number | null;
  };
  /** The clients' requests the broker served per visit, by type (the bench's own left out). */
  kafkaRequestsPerVisitByType: Record<string, number> | null;
  /** The cluster's requests to itself during the window, in all (a client's they are not). */
  kafkaClusterInternalRequests: Record<string, number> | null;
  /** The bench's own lag readings during the window, left out of the broker's count. */
  benchKafkaRequests: number | null;
  /** The statements called most, per visit. */
  topStatements: Array<{ query: string; callsPerVisit: number; meanMs: number }> | null;
  /** The idle background taken off the PostgreSQL figures for the seconds their statistics needed to settle. */
  pgSettleCorrection: { seconds: number; transactions: number; walSyncs: number } | null;
  /** Transactions of the server's other databases during the window: when not 0, some WAL syncs were theirs. */
  pgOtherDatabasesTransactions: number | null;
  /** Figures of this scenario that could not be measured here, and why. */
  notMeasured: string[];
};

/** The counters that are not CPU, read together. */
type Reading = { kafka: RequestCounts | null; benchRequests: Record<string, number>; pg: PgCounters | null };

const perSecond = (count: number, fromMs: number, toMs: number) => (toMs > fromMs ? (count * 1000) / (toMs - fromMs) : 0);

/** The run's fixed settings. */
type CostPlan = { planned: number; clients: number; pollIntervalMs: number; idleS: number; production: boolean };

function costPlan(bench: TestSystem, mode: Mode): CostPlan {
  return { planned: mode.quick ? 24 : 60, clients: 6, pollIntervalMs: 100, idleS: mode.quick ? 3 : 10, production: bench.profile === 'production' };
}

/** The counters that are not CPU (on the production profile only), what cannot be measured here, and reading them all at once. */
type Counters = { pg: PgStats | null; notMeasured: string[]; read(): Promise<Reading> };

async function openCounters(bench: TestSystem, lag: LagWatch, production: boolean): Promise<Counters> {
  const notMeasured: string[] = [];
  const pg = production ? await PgStats.open(process.env.DATABASE_URL!, bench.database!.name) : null;
  if (pg?.statementsUnavailable) notMeasured.push(`statements: ${pg.statementsUnavailable}`);
  const kafkaUnavailable = production ? await brokerCountsUnavailable() : 'no broker on the embedded profile';
  if (production && kafkaUnavailable) notMeasured.push(`Kafka requests: ${kafkaUnavailable}`);
  const read = async (): Promise<Reading> => ({
    kafka: kafkaUnavailable ? null : await brokerRequestCounts(),
    benchRequests: lag.requestsSent(),
    pg: pg && (await pg.counters()),
  });
  return { pg, notMeasured, read };
}

type Statements = Awaited<ReturnType<PgStats['statements']>> | undefined;

/** The idle system's window: the counters at both ends, its CPU, and its statements with the moments they span. */
type IdleWindow = { start: Reading; end: Reading; cpu: CpuFigures; statements: Statements; statementsFrom: number; statementsTo: number };

/**
 * The idle background. CPU is read last at the start and first at the end, so that reading the
 * other counters (JmxTool is a JVM) is not in it.
 */
async function measureIdle(counters: Counters, subjects: CpuSubjects, idleS: number): Promise<IdleWindow> {
  const start = await counters.read();
  await counters.pg?.resetStatements();
  const statementsFrom = performance.now();
  const cpuStart = readCpu(subjects);
  await sleep(idleS * 1_000);
  const cpu = cpuBetween(cpuStart);
  const end = await counters.read();
  const statements = await counters.pg?.statements(0);
  const statementsTo = performance.now();
  return { start, end, cpu, statements, statementsFrom, statementsTo };
}

/** The visits' window, from the first command until the consumers caught up with the last visit. */
type VisitsWindow = {
  driven: { durations: number[]; failures: number };
  caughtUp: boolean;
  started: number;
  endedAt: number;
  cpu: CpuFigures;
  statements: Statements;
  end: Reading;
};

async function measureVisits(bench: TestSystem, lag: LagWatch, counters: Counters, subjects: CpuSubjects, plan: CostPlan, log: Log): Promise<VisitsWindow> {
  const patients = await returningPatients(bench, 20);
  await counters.pg?.resetStatements();
  const cpuStart = readCpu(subjects);
  const started = performance.now();
  const driven = await driveVisits(bench, patients, plan.planned, plan.clients, plan.pollIntervalMs);
  const caughtUp = await settle(lag, 60_000, 100);
  const endedAt = performance.now();
  const cpu = cpuBetween(cpuStart);
  const statements = await counters.pg?.statements(10);
  const end = await counters.read();
  log(`  ${driven.durations.length} of ${plan.planned} visits complete (${driven.failures} failed) in ${round((endedAt - started) / 1000)} s with ${plan.clients} clients; consumers ${caughtUp ? 'caught up' : 'had NOT caught up'}`);
  return { driven, caughtUp, started, endedAt, cpu, statements, end };
}

/** Everything read, for the figures. `settled`: PostgreSQL's counters once its statistics of the window were complete. */
type Measured = { plan: CostPlan; counters: Counters; idle: IdleWindow; visits: VisitsWindow; settled: PgCounters | null };

/**
 * The idle system's PostgreSQL work per second, and what of it fell in the seconds the
 * statistics needed to settle after the window: taken off the window's figures.
 */
function pgIdleBackground(m: Measured): { idlePg: { transactions: number; walSyncs: number } | null; pgSettleCorrection: VisitCostFigures['pgSettleCorrection'] } {
  const { start, end } = m.idle;
  if (!m.settled || !start.pg || !end.pg) return { idlePg: null, pgSettleCorrection: null };
  const rate = (pick: (r: PgCounters) => number) => perSecond(pick(end.pg!) - pick(start.pg!), start.pg!.atMs, end.pg!.atMs);
  const idlePg = { transactions: rate((r) => r.transactions), walSyncs: rate((r) => r.walSyncs) };
  const seconds = (m.settled.atMs - m.visits.endedAt) / 1000;
  return { idlePg, pgSettleCorrection: { seconds: round(seconds), transactions: round(idlePg.transactions * seconds), walSyncs: round(idlePg.walSyncs * seconds) } };
}

function perVisitFigures(m: Measured, per: (value: number) => number, correction: VisitCostFigures['pgSettleCorrection'], kafka: RequestsBetween | null): PerVisit {
  const { cpu, statements } = m.visits;
  const { settled } = m;
  const idleEndPg = m.idle.end.pg;
  return {
    machineCpuMs: per(cpu.machineCpuMs),
    systemCpuMs: per(systemCpuMs(cpu)),
    servicesCpuMs: per(cpu.processesCpuMs),
    kafkaCpuMs: per(cpu.kafkaCpuMs),
    postgresCpuMs: per(cpu.postgresCpuMs),
    interruptsCpuMs: per(cpu.interruptsCpuMs),
    benchCpuMs: per(cpu.benchCpuMs),
    othersCpuMs: per(cpu.othersCpuMs),
    unattributedCpuMs: per(cpu.unattributedCpuMs),
    pgTransactions: settled && correction ? per(settled.transactions - idleEndPg!.transactions - correction.transactions) : null,
    walSyncs: settled && correction ? per(settled.walSyncs - idleEndPg!.walSyncs - correction.walSyncs) : null,
    statements: statements ? per(statements.total) : null,
    kafkaRequests: kafka ? per(kafka.clients) : null,
  };
}

function idlePerSecFigures(m: Measured, idlePg: { transactions: number; walSyncs: number } | null, idleKafka: RequestsBetween | null): VisitCostFigures['idlePerSec'] {
  const { cpu, statements, statementsFrom, statementsTo } = m.idle;
  return {
    seconds: m.plan.idleS,
    machineCpuMs: round(perSecond(cpu.machineCpuMs, 0, cpu.wallMs), 1),
    systemCpuMs: round(perSecond(systemCpuMs(cpu), 0, cpu.wallMs), 1),
    unattributedCpuMs: round(perSecond(cpu.unattributedCpuMs, 0, cpu.wallMs), 1),
    pgTransactions: idlePg && round(idlePg.transactions, 1),
    walSyncs: idlePg && round(idlePg.walSyncs, 1),
    statements: statements ? round(perSecond(statements.total, statementsFrom, statementsTo), 1) : null,
    kafkaRequests: idleKafka ? round(idleKafka.clients / idleKafka.seconds, 1) : null,
  };
}

/** The broker's requests between two readings, when the broker could be read at both. */
function kafkaBetween(from: Reading, to: Reading): RequestsBetween | null {
  return from.kafka && to.kafka ? requestsBetween(from.kafka, to.kafka, from.benchRequests, to.benchRequests) : null;
}

function visitCostFigures(m: Measured): VisitCostFigures {
  const { plan, idle, visits: window, settled } = m;
  const visits = window.driven.durations.length;
  // Every per-visit figure is over the visits completed; none completed is no figure, not 0.
  const per = (value: number) => (visits > 0 ? round(value / visits, 1) : Number.NaN);
  const { idlePg, pgSettleCorrection } = pgIdleBackground(m);
  const kafka = kafkaBetween(idle.end, window.end);
  const wallMs = window.endedAt - window.started;
  return {
    planned: plan.planned,
    visits,
    failures: window.driven.failures,
    clients: plan.clients,
    pollIntervalMs: plan.pollIntervalMs,
    caughtUp: window.caughtUp,
    windowS: round(wallMs / 1000, 2),
    visitsPerSec: round((visits * 1000) / wallMs, 1),
    visitP50Ms: percentile(window.driven.durations, 50),
    visitP99Ms: percentile(window.driven.durations, 99),
    cpu: window.cpu,
    perVisit: perVisitFigures(m, per, pgSettleCorrection, kafka),
    idlePerSec: idlePerSecFigures(m, idlePg, kafkaBetween(idle.start, idle.end)),
    kafkaRequestsPerVisitByType: kafka && Object.fromEntries(Object.entries(kafka.clientsByType).map(([type, n]) => [type, per(n)] as const).sort((a, b) => b[1] - a[1])),
    kafkaClusterInternalRequests: kafka && kafka.internalByType,
    benchKafkaRequests: kafka && kafka.bench,
    topStatements: window.statements ? window.statements.top.map((s) => ({ query: s.query, callsPerVisit: per(s.calls), meanMs: s.meanMs })) : null,
    pgSettleCorrection,
    pgOtherDatabasesTransactions: settled && idle.end.pg ? otherTransactionsBetween(idle.end.pg, settled) : null,
    notMeasured: m.counters.notMeasured,
  };
}

function logPerVisit(p: PerVisit, production: boolean, log: Log): void {
  log(
    `  per visit: machine ${p.machineCpuMs} CPU-ms, the system's ${p.systemCpuMs} (services ${p.servicesCpuMs}, Kafka ${p.kafkaCpuMs}, PostgreSQL ${p.postgresCpuMs}, ` +
      `interrupts ${p.interruptsCpuMs}), bench ${p.benchCpuMs}, unattributed ${p.unattributedCpuMs}` +
      (production ? `; PostgreSQL ${p.pgTransactions} transactions, ${p.walSyncs} WAL syncs, ${p.statements} statements; Kafka ${p.kafkaRequests} requests` : ''),
  );
}

export async function visitCostScenario(bench: TestSystem, lag: LagWatch, subjects: CpuSubjects, mode: Mode, log: Log): Promise<VisitCostFigures> {
  const plan = costPlan(bench, mode);
  const counters = await openCounters(bench, lag, plan.production);
  try {
    await settle(lag, 30_000, 100);
    // Earlier work (the start, other scenarios) reaches PostgreSQL's statistics before the idle reading.
    await sleep(plan.production ? STATS_SETTLE_MS : 1_000);
    const idle = await measureIdle(counters, subjects, plan.idleS);
    const visits = await measureVisits(bench, lag, counters, subjects, plan, log);
    // PostgreSQL's statistics of the window are complete only some seconds later.
    const settled = counters.pg ? (await sleep(STATS_SETTLE_MS), await counters.pg.counters()) : null;
    const figures = visitCostFigures({ plan, counters, idle, visits, settled });
    logPerVisit(figures.perVisit, plan.production, log);
    return figures;
  } finally {
    await counters.pg?.close();
  }
}

/** `planned` visits by `clients` clients, each taking the next as it finishes one; their durations and the failures. */
async function driveVisits(bench: TestSystem, patients: readonly string[], planned: number, clients: number, pollIntervalMs: number): Promise<{ durations: number[]; failures: number }> {
  const client = staffConsoleClient(bench);
  const durations: number[] = [];
  let failures = 0;
  let next = 0;
  const worker = async () => {
    while (next < planned) {
      const n = next++;
      const visit = await timeCommonVisit(client, `cost-${bench.profile}-${n}`, patients[n % patients.length]!, pollIntervalMs);
      if (visit) durations.push(visit.finished - visit.began);
      else failures += 1;
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return { durations, failures };
}
