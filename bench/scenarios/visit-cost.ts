import { performance } from 'node:perf_hooks';
import type { TestSystem } from '../../test/e2e/helpers.ts';
import { driveVisit } from '../../test/e2e/support/visits.ts';
import { cpuBetween, readCpu, systemCpuMs, type CpuFigures, type CpuSubjects } from '../lib/cpu.ts';
import { brokerCountsUnavailable, brokerRequestCounts, requestsBetween, type RequestCounts } from '../lib/kafka-requests.ts';
import type { LagWatch } from '../lib/lag.ts';
import { otherTransactionsBetween, PgStats, STATS_SETTLE_MS, type PgCounters } from '../lib/pg-counters.ts';
import { settle } from '../lib/settle.ts';
import { staffConsoleClient } from '../lib/staff-client.ts';
import { percentile, round, sleep } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';
import { commonVisit } from './throughput.ts';

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

export async function visitCostScenario(bench: TestSystem, lag: LagWatch, subjects: CpuSubjects, mode: Mode, log: Log): Promise<VisitCostFigures> {
  const planned = mode.quick ? 24 : 60;
  const clients = 6;
  const pollIntervalMs = 100;
  const idleS = mode.quick ? 3 : 10;
  const production = bench.profile === 'production';
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

  try {
    await settle(lag, 30_000, 100);
    // Earlier work (the start, other scenarios) reaches PostgreSQL's statistics before the idle reading.
    await sleep(production ? STATS_SETTLE_MS : 1_000);

    // The idle background. CPU is read last at the start and first at the end, so that reading
    // the other counters (JmxTool is a JVM) is not in it.
    const idleStart = await read();
    await pg?.resetStatements();
    const idleStatementsFrom = performance.now();
    const idleCpuStart = readCpu(subjects);
    await sleep(idleS * 1_000);
    const idleCpu = cpuBetween(idleCpuStart);
    const idleEnd = await read();
    const idleStatements = await pg?.statements(0);
    const idleStatementsTo = performance.now();

    // The visits, until the consumers caught up with them.
    await pg?.resetStatements();
    const cpuStart = readCpu(subjects);
    const started = performance.now();
    const driven = await driveVisits(bench, planned, clients, pollIntervalMs);
    const caughtUp = await settle(lag, 60_000, 100);
    const endedAt = performance.now();
    const cpu = cpuBetween(cpuStart);
    const statements = await pg?.statements(10);
    const end = await read();
    log(`  ${driven.durations.length} of ${planned} visits complete (${driven.failures} failed) in ${round((endedAt - started) / 1000)} s with ${clients} clients; consumers ${caughtUp ? 'caught up' : 'had NOT caught up'}`);
    // PostgreSQL's statistics of the window are complete only some seconds later.
    const settled = pg ? (await sleep(STATS_SETTLE_MS), await pg.counters()) : null;

    const visits = driven.durations.length;
    const per = (value: number) => (visits > 0 ? round(value / visits, 1) : Number.NaN);

    let pgSettleCorrection: VisitCostFigures['pgSettleCorrection'] = null;
    let idlePg: { transactions: number; walSyncs: number } | null = null;
    if (settled && idleStart.pg && idleEnd.pg) {
      const rate = (pick: (r: PgCounters) => number) => perSecond(pick(idleEnd.pg!) - pick(idleStart.pg!), idleStart.pg!.atMs, idleEnd.pg!.atMs);
      idlePg = { transactions: rate((r) => r.transactions), walSyncs: rate((r) => r.walSyncs) };
      const seconds = (settled.atMs - endedAt) / 1000;
      pgSettleCorrection = { seconds: round(seconds), transactions: round(idlePg.transactions * seconds), walSyncs: round(idlePg.walSyncs * seconds) };
    }

    const idleKafka = idleStart.kafka && idleEnd.kafka ? requestsBetween(idleStart.kafka, idleEnd.kafka, idleStart.benchRequests, idleEnd.benchRequests) : null;
    const kafka = idleEnd.kafka && end.kafka ? requestsBetween(idleEnd.kafka, end.kafka, idleEnd.benchRequests, end.benchRequests) : null;

    const figures: VisitCostFigures = {
      planned,
      visits,
      failures: driven.failures,
      clients,
      pollIntervalMs,
      caughtUp,
      windowS: round((endedAt - started) / 1000, 2),
      visitsPerSec: round((visits * 1000) / (endedAt - started), 1),
      visitP50Ms: percentile(driven.durations, 50),
      visitP99Ms: percentile(driven.durations, 99),
      cpu,
      perVisit: {
        machineCpuMs: per(cpu.machineCpuMs),
        systemCpuMs: per(systemCpuMs(cpu)),
        servicesCpuMs: per(cpu.processesCpuMs),
        kafkaCpuMs: per(cpu.kafkaCpuMs),
        postgresCpuMs: per(cpu.postgresCpuMs),
        interruptsCpuMs: per(cpu.interruptsCpuMs),
        benchCpuMs: per(cpu.benchCpuMs),
        othersCpuMs: per(cpu.othersCpuMs),
        unattributedCpuMs: per(cpu.unattributedCpuMs),
        pgTransactions: settled && pgSettleCorrection ? per(settled.transactions - idleEnd.pg!.transactions - pgSettleCorrection.transactions) : null,
        walSyncs: settled && pgSettleCorrection ? per(settled.walSyncs - idleEnd.pg!.walSyncs - pgSettleCorrection.walSyncs) : null,
        statements: statements ? per(statements.total) : null,
        kafkaRequests: kafka ? per(kafka.clients) : null,
      },
      idlePerSec: {
        seconds: idleS,
        machineCpuMs: round(perSecond(idleCpu.machineCpuMs, 0, idleCpu.wallMs), 1),
        systemCpuMs: round(perSecond(systemCpuMs(idleCpu), 0, idleCpu.wallMs), 1),
        unattributedCpuMs: round(perSecond(idleCpu.unattributedCpuMs, 0, idleCpu.wallMs), 1),
        pgTransactions: idlePg && round(idlePg.transactions, 1),
        walSyncs: idlePg && round(idlePg.walSyncs, 1),
        statements: idleStatements ? round(perSecond(idleStatements.total, idleStatementsFrom, idleStatementsTo), 1) : null,
        kafkaRequests: idleKafka ? round(idleKafka.clients / idleKafka.seconds, 1) : null,
      },
      kafkaRequestsPerVisitByType: kafka && Object.fromEntries(Object.entries(kafka.clientsByType).map(([type, n]) => [type, per(n)] as const).sort((a, b) => b[1] - a[1])),
      kafkaClusterInternalRequests: kafka && kafka.internalByType,
      benchKafkaRequests: kafka && kafka.bench,
      topStatements: statements ? statements.top.map((s) => ({ query: s.query, callsPerVisit: per(s.calls), meanMs: s.meanMs })) : null,
      pgSettleCorrection,
      pgOtherDatabasesTransactions: settled && idleEnd.pg ? otherTransactionsBetween(idleEnd.pg, settled) : null,
      notMeasured,
    };
    const p = figures.perVisit;
    log(
      `  per visit: machine ${p.machineCpuMs} CPU-ms, the system's ${p.systemCpuMs} (services ${p.servicesCpuMs}, Kafka ${p.kafkaCpuMs}, PostgreSQL ${p.postgresCpuMs}, ` +
        `interrupts ${p.interruptsCpuMs}), bench ${p.benchCpuMs}, unattributed ${p.unattributedCpuMs}` +
        (production ? `; PostgreSQL ${p.pgTransactions} transactions, ${p.walSyncs} WAL syncs, ${p.statements} statements; Kafka ${p.kafkaRequests} requests` : ''),
    );
    return figures;
  } finally {
    await pg?.close();
  }
}

/** `planned` visits by `clients` clients, each taking the next as it finishes one; their durations and the failures. */
async function driveVisits(bench: TestSystem, planned: number, clients: number, pollIntervalMs: number): Promise<{ durations: number[]; failures: number }> {
  const client = staffConsoleClient(bench);
  const durations: number[] = [];
  let failures = 0;
  let next = 0;
  const worker = async () => {
    while (next < planned) {
      const i = next++;
      const began = performance.now();
      try {
        await driveVisit(client, commonVisit(`cost-${bench.profile}-${i}`), { intervalMs: pollIntervalMs, timeoutMs: 30_000 });
        durations.push(performance.now() - began);
      } catch {
        failures += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return { durations, failures };
}
