import { registerPatient, type TestSystem } from '../../test/e2e/helpers.ts';
import { PgStats, STATS_SETTLE_MS, type PgCounters } from '../lib/pg-counters.ts';
import { presentName, scrape, sumBy, sumOf, type Sample } from '../lib/prometheus-text.ts';
import { load, round, sleep, type LoadFigures } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';

/**
 * Scenario 7: what the access log costs a read. `GET /receptions/{id}` of one reception, straight
 * to the reception service, with 20 connections (where answers given at the same time share one
 * commit of their access records) and with 1 (where each read waits for a commit of its own).
 * The reception service's own /metrics is read before and after each load, and the figures are
 * the differences: access records written and the transactions that wrote them
 * (medical_access_records_total, medical_access_record_commits_total), the time answers waited for
 * their record's commit (medical_access_record_wait_seconds) and the time the reads took in all
 * (the request duration histogram of `GET /receptions/:id` 200). Their ratio, the share of a
 * read's time spent on its access record, is measured side by side in one run and does not
 * depend on the machine's speed. On the production profile (full run), PostgreSQL's transactions
 * per read too (bench/lib/pg-counters.ts), the idle system's background taken off.
 */

const ROUTE = '/receptions/:id';
const RECORDS = 'medical_access_records_total';
const COMMITS = 'medical_access_record_commits_total';
const WAIT = 'medical_access_record_wait_seconds';
/** The request duration histogram, with or without the `medical_` prefix the platform may give it. */
const DURATION_NAMES = ['medical_http_request_duration_seconds', 'http_request_duration_seconds'];

export type AccessPgFigures = {
  /** Transactions of the system's database from the load's start until its statistics settled, less the idle background meanwhile. */
  transactions: number;
  walSyncs: number;
  transactionsPerRead: number | null;
  walSyncsPerRead: number | null;
  /** The idle background taken off: its rate times the seconds between the two readings. */
  idleCorrection: { seconds: number; transactions: number; walSyncs: number };
};

export type AccessRun = {
  connections: number;
  durationS: number;
  load: LoadFigures;
  /** The load's requests: the divisor of every per-read figure. */
  reads: number;
  readsPerSec: number;
  p99Ms: number;
  /** Access records written during the load, summed over the actions, and by action. */
  records: number;
  recordsByAction: Record<string, number>;
  /** Transactions that wrote access records. */
  commits: number;
  /** records / commits: the group commit at work. */
  recordsPerCommit: number | null;
  recordsPerRead: number | null;
  /** Answers that waited for their record's commit (the wait histogram's _count), and in all how long. */
  waits: number;
  waitSumS: number;
  /** Mean wait per read: the wait histogram's _sum / _count difference. */
  meanWaitMs: number | null;
  /** `GET /receptions/:id` answered 200 (the duration histogram's _count), and in all how long. */
  durations: number;
  durationSumS: number;
  /** Mean request duration of `GET /receptions/:id` 200, the service's own measure. */
  meanDurationMs: number | null;
  /** waitSumS / durationSumS: the share of a read's time spent waiting for its access record. */
  waitShare: number | null;
  pg: AccessPgFigures | null;
};

export type AccessFigures = {
  profile: 'embedded' | 'production';
  route: string;
  warmupS: number;
  /** The request duration histogram's name as the service exposes it. */
  durationMetric: string | null;
  at20: AccessRun;
  at1: AccessRun;
  /** The idle system's PostgreSQL work per second, read just before the loads (production, full run). */
  pgIdlePerSec: { seconds: number; transactions: number; walSyncs: number } | null;
  notMeasured: string[];
};

/** The counters the figures take differences of, from one scrape. */
type MetricsReading = {
  records: Record<string, number>;
  commits: number;
  waitSum: number;
  waitCount: number;
  durationSum: number;
  durationCount: number;
  durationMetric: string | null;
};

function reading(samples: Sample[]): MetricsReading {
  const durationMetric = presentName(samples, DURATION_NAMES.map((name) => `${name}_sum`))?.replace(/_sum$/, '') ?? null;
  const route = { method: 'GET', route: ROUTE, status_code: '200' };
  return {
    records: sumBy(samples, RECORDS, 'action'),
    commits: sumOf(samples, COMMITS),
    waitSum: sumOf(samples, `${WAIT}_sum`),
    waitCount: sumOf(samples, `${WAIT}_count`),
    durationSum: durationMetric ? sumOf(samples, `${durationMetric}_sum`, route) : 0,
    durationCount: durationMetric ? sumOf(samples, `${durationMetric}_count`, route) : 0,
    durationMetric,
  };
}

const ratio = (numerator: number, denominator: number, digits: number) => (denominator > 0 ? round(numerator / denominator, digits) : null);

function runFigures(connections: number, durationS: number, figures: LoadFigures, before: MetricsReading, after: MetricsReading, pg: AccessPgFigures | null): AccessRun {
  const recordsByAction: Record<string, number> = {};
  for (const action of new Set([...Object.keys(before.records), ...Object.keys(after.records)])) {
    const written = (after.records[action] ?? 0) - (before.records[action] ?? 0);
    if (written !== 0) recordsByAction[action] = written;
  }
  const records = Object.values(recordsByAction).reduce((sum, n) => sum + n, 0);
  const commits = after.commits - before.commits;
  const waits = after.waitCount - before.waitCount;
  const waitSumS = after.waitSum - before.waitSum;
  const durations = after.durationCount - before.durationCount;
  const durationSumS = after.durationSum - before.durationSum;
  const reads = figures.requests;
  return {
    connections,
    durationS,
    load: figures,
    reads,
    readsPerSec: figures.rps,
    p99Ms: figures.p99Ms,
    records,
    recordsByAction,
    commits,
    recordsPerCommit: ratio(records, commits, 2),
    recordsPerRead: ratio(records, reads, 3),
    waits,
    waitSumS: round(waitSumS, 4),
    meanWaitMs: ratio(waitSumS * 1000, waits, 3),
    durations,
    durationSumS: round(durationSumS, 4),
    meanDurationMs: ratio(durationSumS * 1000, durations, 3),
    waitShare: ratio(waitSumS, durationSumS, 3),
    pg,
  };
}

/** PostgreSQL's counters for the production profile's full run: the idle rate first, then a reading per load once its statistics settled. */
type PgWatch = { stats: PgStats; idle: { transactions: number; walSyncs: number }; idleS: number; last: PgCounters };

async function openPgWatch(bench: TestSystem, idleS: number): Promise<PgWatch> {
  const stats = await PgStats.open(process.env.DATABASE_URL!, bench.database!.name);
  try {
    // The warm-up reaches PostgreSQL's statistics before the idle reading.
    await sleep(STATS_SETTLE_MS);
    const start = await stats.counters();
    await sleep(idleS * 1_000);
    const end = await stats.counters();
    const seconds = (end.atMs - start.atMs) / 1000;
    return { stats, idleS, idle: { transactions: (end.transactions - start.transactions) / seconds, walSyncs: (end.walSyncs - start.walSyncs) / seconds }, last: end };
  } catch (error) {
    await stats.close();
    throw error;
  }
}

/** The transactions since the last reading, once the load's statistics have settled, less the idle background of those seconds. */
async function pgSinceLast(watch: PgWatch, reads: number): Promise<AccessPgFigures> {
  await sleep(STATS_SETTLE_MS);
  const now = await watch.stats.counters();
  const seconds = (now.atMs - watch.last.atMs) / 1000;
  const correction = { seconds: round(seconds, 1), transactions: round(watch.idle.transactions * seconds, 1), walSyncs: round(watch.idle.walSyncs * seconds, 1) };
  const transactions = round(now.transactions - watch.last.transactions - correction.transactions, 1);
  const walSyncs = round(now.walSyncs - watch.last.walSyncs - correction.walSyncs, 1);
  watch.last = now;
  return {
    transactions,
    walSyncs,
    transactionsPerRead: ratio(transactions, reads, 4),
    walSyncsPerRead: ratio(walSyncs, reads, 4),
    idleCorrection: correction,
  };
}

async function measureRun(url: string, metricsUrl: string, connections: number, durationS: number, pg: PgWatch | null): Promise<{ run: AccessRun; durationMetric: string | null }> {
  const before = reading(await scrape(metricsUrl));
  const figures = await load(url, { connections, durationS });
  const after = reading(await scrape(metricsUrl));
  const pgFigures = pg ? await pgSinceLast(pg, figures.requests) : null;
  return { run: runFigures(connections, durationS, figures, before, after, pgFigures), durationMetric: after.durationMetric };
}

function logRun(run: AccessRun, log: Log): void {
  log(
    `  ${String(run.connections).padStart(2)} connection(s): ${run.reads} reads, ${run.readsPerSec} req/s, p99 ${run.p99Ms} ms, non-2xx ${run.load.non2xx}, errors ${run.load.errors}; ` +
      `${run.records} records in ${run.commits} commits (${run.recordsPerCommit} per commit); mean wait ${run.meanWaitMs} ms of a mean read of ${run.meanDurationMs} ms ` +
      `(share ${run.waitShare})` +
      (run.pg ? `; PostgreSQL ${run.pg.transactionsPerRead} transactions and ${run.pg.walSyncsPerRead} WAL syncs per read` : ''),
  );
}

export async function accessLogScenario(bench: TestSystem, mode: Mode, log: Log): Promise<AccessFigures> {
  const warmupS = mode.quick ? 0.5 : 2;
  const created = await bench.client.post('/receptions', { patientId: await registerPatient(bench.client, { name: 'Bench Access' }), symptom: 'none' });
  if (created.status !== 201) throw new Error(`POST /receptions → ${created.status}: ${created.text}`);
  const id = (created.body as { id: number }).id;
  const receptionUrl = bench.system.services.reception.url;
  const url = `${receptionUrl}/receptions/${id}`;
  const metricsUrl = `${receptionUrl}/metrics`;
  const profile = bench.profile === 'production' ? 'production' : 'embedded';
  const notMeasured: string[] = [];

  await load(url, { connections: 20, durationS: warmupS });
  let pg: PgWatch | null = null;
  if (profile === 'production') {
    if (mode.quick) notMeasured.push('PostgreSQL transactions per read: not in the quick run (its statistics take 11 s to settle after each load)');
    else pg = await openPgWatch(bench, 5);
  }
  try {
    const many = await measureRun(url, metricsUrl, 20, mode.quick ? 2 : 15, pg);
    logRun(many.run, log);
    await sleep(mode.quick ? 100 : 500);
    const one = await measureRun(url, metricsUrl, 1, mode.quick ? 1 : 5, pg);
    logRun(one.run, log);
    const durationMetric = many.durationMetric ?? one.durationMetric;
    if (!durationMetric) notMeasured.push('request durations: no http_request_duration_seconds histogram on the reception service\'s /metrics');
    return {
      profile,
      route: ROUTE,
      warmupS,
      durationMetric,
      at20: many.run,
      at1: one.run,
      pgIdlePerSec: pg && { seconds: pg.idleS, transactions: round(pg.idle.transactions, 1), walSyncs: round(pg.idle.walSyncs, 1) },
      notMeasured,
    };
  } finally {
    await pg?.stats.close();
  }
}
