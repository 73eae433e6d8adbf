import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { freePort, SERVICE_NAMES, type ServiceName } from '../scripts/lib/processes.ts';
import type { TestSystem } from '../test/e2e/helpers.ts';
import { load, percentile, round, rssMb, sleep, startNginx, type LoadFigures } from './lib/tools.ts';

/**
 * The scenarios of issue 4, each a function of a running system. They return figures only; the
 * runner (run.ts) decides what runs, in which order, and writes the results.
 */

export type Mode = { quick: boolean };
type Log = (line: string) => void;

// ---- scenario 1: gateway vs nginx vs direct --------------------------------------------------

export type GatewayFigures = {
  connections: number;
  durationS: number;
  warmupS: number;
  nginxWorkers: number;
  gatewayRps: number;
  nginxRps: number;
  directRps: number;
  /** gatewayRps / nginxRps (target ≥ 0.8). */
  ratio: number;
  gatewayP99Ms: number;
  nginxP99Ms: number;
  directP99Ms: number;
  /** gatewayP99Ms / nginxP99Ms (target ≤ 1.25). */
  p99Ratio: number;
  runs: Record<'direct' | 'nginx' | 'gateway', LoadFigures>;
};

export async function gatewayScenario(bench: TestSystem, nginxBinary: string, mode: Mode, log: Log): Promise<GatewayFigures> {
  const connections = 20;
  const durationS = mode.quick ? 5 : 20;
  const warmupS = mode.quick ? 1 : 3;
  const nginxWorkers = 1;
  const created = await bench.client.post('/receptions', { patientId: 'BENCH-GW', patientName: 'Bench Gateway', symptom: 'none' });
  if (created.status !== 201) throw new Error(`POST /receptions → ${created.status}: ${created.text}`);
  const id = (created.body as { id: number }).id;
  const receptionUrl = bench.system.services.reception.url;
  const nginx = await startNginx(nginxBinary, { port: await freePort(), upstream: receptionUrl, workers: nginxWorkers });
  const targets = {
    direct: `${receptionUrl}/receptions/${id}`,
    nginx: `${nginx.url}/receptions/${id}`,
    gateway: `${bench.system.gatewayUrl}/receptions/${id}`,
  } as const;
  const runs = {} as GatewayFigures['runs'];
  try {
    // One after the other, each after a warm-up of its own (the JIT, keep-alive pools).
    for (const [name, url] of Object.entries(targets) as Array<[keyof typeof targets, string]>) {
      await load(url, { connections, durationS: warmupS });
      runs[name] = await load(url, { connections, durationS });
      log(`  ${name.padEnd(7)} ${runs[name].rps} req/s, p50 ${runs[name].p50Ms} ms, p99 ${runs[name].p99Ms} ms, non-2xx ${runs[name].non2xx}, errors ${runs[name].errors}`);
    }
  } finally {
    await nginx.stop();
  }
  return {
    connections,
    durationS,
    warmupS,
    nginxWorkers,
    gatewayRps: runs.gateway.rps,
    nginxRps: runs.nginx.rps,
    directRps: runs.direct.rps,
    ratio: round(runs.gateway.rps / runs.nginx.rps, 3),
    gatewayP99Ms: runs.gateway.p99Ms,
    nginxP99Ms: runs.nginx.p99Ms,
    directP99Ms: runs.direct.p99Ms,
    p99Ratio: round(runs.gateway.p99Ms / Math.max(runs.nginx.p99Ms, 1e-9), 3),
    runs,
  };
}

// ---- scenario 2: event propagation -----------------------------------------------------------

export type PropagationFigures = {
  ratePerSec: number;
  durationS: number;
  posted: number;
  seen: number;
  /** Receptions whose visit had not appeared in the view when the bench stopped waiting. */
  missing: number;
  postErrors: number;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** How often the view was looked at (ms): the resolution of every figure above. */
  pollIntervalMs: number;
  /** The POSTs' own latency through the gateway (201 only), for comparison. */
  postP50Ms: number | null;
  postP99Ms: number | null;
  /** The answers to the POSTs by status ('error' when there was no HTTP answer). */
  postStatuses: Record<string, number>;
  /** How long the posting took: more than durationS when the system could not take the rate. */
  postingS: number;
};

/**
 * Receptions posted through the gateway on a fixed schedule (an open loop: a slow answer does
 * not delay the next post), and the time from each 201 to the moment the visit's row is in
 * patient-management's view. The view is watched in its database (read-only), not over HTTP,
 * so that watching adds no HTTP load to the service under test: a row committed there is what
 * GET /patientManagements/{id} answers from.
 */
export async function propagationScenario(
  bench: TestSystem,
  mode: Mode,
  log: Log,
  onTick?: () => void,
): Promise<PropagationFigures> {
  const ratePerSec = 100;
  const durationS = mode.quick ? 10 : 60;
  const pollIntervalMs = 2;
  // A POST unanswered by then counts as an error (the quick run must end in time).
  const postTimeoutMs = mode.quick ? 5_000 : 15_000;
  const watcher = openViewWatcher(bench);
  const answeredAt = new Map<number, number>();
  const seenAt = new Map<number, number>();
  const postLatencies: number[] = [];
  let postErrors = 0;
  let posted = 0;
  const postStatuses: Record<string, number> = {};
  let polling = true;

  const poll = (async () => {
    while (polling) {
      const now = performance.now();
      const pending = [...answeredAt.keys()].filter((id) => !seenAt.has(id));
      if (pending.length > 0) for (const id of watcher.present(pending)) seenAt.set(id, now);
      onTick?.();
      await sleep(pollIntervalMs);
    }
  })();

  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const total = ratePerSec * durationS;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    posted += 1;
    const sentAt = performance.now();
    inFlight.push(
      bench.client
        .post('/receptions', { patientId: `BENCH-P-${i % 500}`, patientName: 'Bench Patient', symptom: 'propagation' }, { timeoutMs: postTimeoutMs })
        .then((reply) => {
          const at = performance.now();
          postStatuses[reply.status] = (postStatuses[reply.status] ?? 0) + 1;
          if (reply.status !== 201) {
            postErrors += 1;
            return;
          }
          postLatencies.push(at - sentAt);
          answeredAt.set((reply.body as { id: number }).id, at);
        })
        .catch(() => {
          postStatuses.error = (postStatuses.error ?? 0) + 1;
          postErrors += 1;
        }),
    );
  }
  await Promise.all(inFlight);
  const postingS = round((performance.now() - start) / 1000);
  // Let the last ones arrive (bounded).
  const drainDeadline = performance.now() + (mode.quick ? 5_000 : 15_000);
  while (performance.now() < drainDeadline && [...answeredAt.keys()].some((id) => !seenAt.has(id))) await sleep(20);
  polling = false;
  await poll;
  watcher.close();

  const latencies: number[] = [];
  let missing = 0;
  for (const [id, at] of answeredAt) {
    const seen = seenAt.get(id);
    if (seen === undefined) missing += 1;
    // Only answered receptions are looked for, so a visit that reached the view before its 201
    // reached the client is found at the first look after the 201: within one poll interval.
    else latencies.push(Math.max(0, seen - at));
  }
  const figures: PropagationFigures = {
    ratePerSec,
    durationS,
    posted,
    seen: latencies.length,
    missing,
    postErrors,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    pollIntervalMs,
    postP50Ms: percentile(postLatencies, 50),
    postP99Ms: percentile(postLatencies, 99),
    postStatuses,
    postingS,
  };
  log(`  ${figures.seen}/${posted} seen, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms, missing ${missing}; POSTs ${JSON.stringify(postStatuses)} in ${postingS} s, p50 ${figures.postP50Ms} ms, p99 ${figures.postP99Ms} ms`);
  return figures;
}

type ViewWatcher = { present(ids: readonly number[]): number[]; close(): void };

/** Which of the given receptions have their visit in patient-management's view (read-only, in its database). */
function openViewWatcher(bench: TestSystem): ViewWatcher {
  if (bench.profile !== 'embedded') throw new Error('the view watcher of the production profile (PostgreSQL) is not written yet');
  const database = new DatabaseSync(path.join(bench.dataDir, 'patient-management.sqlite'), { readOnly: true });
  const chunk = 200;
  const statement = database.prepare(`SELECT reception_id AS id FROM visits WHERE reception_id IN (${Array(chunk).fill('?').join(',')})`);
  return {
    present(ids) {
      const found: number[] = [];
      for (let i = 0; i < ids.length; i += chunk) {
        const part = ids.slice(i, i + chunk);
        // Pad with an id that never exists, so one prepared statement serves every chunk.
        const padded = [...part, ...Array<number>(chunk - part.length).fill(-1)];
        for (const row of statement.all(...padded) as Array<{ id: number }>) found.push(row.id);
      }
      return found;
    },
    close() {
      database.close();
    },
  };
}

// ---- scenario 5: memory ----------------------------------------------------------------------

export type MemoryFigures = Record<
  ServiceName,
  { idleMb: number | null; idleHeapUsedMb: number | null; loadMb: number | null; loadScenario: string | null }
>;

/** The V8 heap in use (MB) as the service's own /metrics reports it (prom-client's default metrics). */
export async function heapUsedMb(bench: TestSystem): Promise<Record<ServiceName, number | null>> {
  const entries = await Promise.all(
    SERVICE_NAMES.map(async (name): Promise<[ServiceName, number | null]> => {
      try {
        const text = await (await fetch(`${bench.system.services[name].url}/metrics`)).text();
        const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text);
        return [name, match ? round(Number(match[1]) / 2 ** 20) : null];
      } catch {
        return [name, null];
      }
    }),
  );
  return Object.fromEntries(entries) as Record<ServiceName, number | null>;
}

export function memoryReading(bench: TestSystem): Record<ServiceName, number | null> {
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, rssMb(bench.system.services[name].pid)])) as Record<ServiceName, number | null>;
}

/** Peak resident sets, sampled at most every `everyMs` while a scenario runs. */
export function peakSampler(bench: TestSystem, everyMs = 250): { tick(): void; peaks(): Record<ServiceName, number | null> } {
  const peaks = Object.fromEntries(SERVICE_NAMES.map((name) => [name, null])) as Record<ServiceName, number | null>;
  let last = 0;
  const sample = () => {
    for (const [name, mb] of Object.entries(memoryReading(bench)) as Array<[ServiceName, number | null]>) {
      if (mb !== null && (peaks[name] === null || mb > peaks[name]!)) peaks[name] = mb;
    }
  };
  return {
    tick() {
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      sample();
    },
    peaks() {
      sample();
      return { ...peaks };
    },
  };
}

// ---- scenario 4: read model queries ----------------------------------------------------------

export type QueryFigures = {
  visits: number;
  seededBy: string;
  seedS: number;
  connections: number;
  durationS: number;
  listP99Ms: number;
  byPatientP99Ms: number;
  byIdP99Ms: number;
  runs: Record<'list' | 'byPatient' | 'byId', LoadFigures & { url: string }>;
};

/**
 * 100,000 visits written straight into patient-management's view (its `visits` table, rows as
 * its repository writes them), then each query under load straight to the service. Seeding by
 * replaying events would measure the consumer again (scenarios 2 and 3 do) and take minutes for
 * 100,000 visits; the queries only see the table, so the table is what is seeded. Ids start far
 * above those of the earlier scenarios, and every 100th patient has 20 visits (a patient's list
 * is a real page, not one row).
 */
export async function queryScenario(bench: TestSystem, mode: Mode, log: Log): Promise<QueryFigures> {
  if (bench.profile !== 'embedded') throw new Error('seeding the production read model (PostgreSQL) is not written yet');
  const visits = 100_000;
  const connections = 10;
  const durationS = mode.quick ? 3 : 15;
  const firstId = 10_000_000;
  const seedStart = performance.now();
  const database = new DatabaseSync(path.join(bench.dataDir, 'patient-management.sqlite'));
  database.exec('PRAGMA busy_timeout = 10000');
  const insert = database.prepare(
    `INSERT INTO visits (reception_id, patient_id, patient_name, reception_status, diagnosis_id, diagnosis_status, stage, examinations, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = new Date().toISOString();
  const examinations = JSON.stringify([{ examinationId: 1, prescriptionId: '00000000-0000-4000-8000-000000000000', examinationType: 'CHEST_XRAY', status: 'PERFORMED', result: 'no abnormality' }]);
  database.exec('BEGIN IMMEDIATE');
  try {
    for (let i = 0; i < visits; i++) {
      const id = firstId + i;
      const done = i % 2 === 0;
      insert.run(id, `SEED-${i % 5_000}`, 'Seeded Patient', done ? 'CONFIRMED' : 'RECEIVED', done ? id : null, done ? 'COMPLETED' : null, done ? 'CONFIRMED' : 'RECEIVED', done ? examinations : '[]', now, now);
    }
    database.exec('COMMIT');
  } catch (error) {
    database.exec('ROLLBACK');
    throw error;
  } finally {
    database.close();
  }
  const seedS = round((performance.now() - seedStart) / 1000, 2);
  log(`  seeded ${visits} visits in ${seedS} s`);
  const base = bench.system.services['patient-management'].url;
  const urls = {
    list: `${base}/patientManagements?page=0&size=20`,
    byPatient: `${base}/patientManagements?page=0&size=20&patientId=SEED-1234`,
    byId: `${base}/patientManagements/${firstId + 54_321}`,
  } as const;
  const runs = {} as QueryFigures['runs'];
  for (const [name, url] of Object.entries(urls) as Array<[keyof typeof urls, string]>) {
    await load(url, { connections, durationS: 1 });
    runs[name] = { ...(await load(url, { connections, durationS })), url: url.slice(base.length) };
    log(`  ${name.padEnd(9)} ${runs[name].rps} req/s, p50 ${runs[name].p50Ms} ms, p99 ${runs[name].p99Ms} ms, non-2xx ${runs[name].non2xx}, errors ${runs[name].errors}`);
  }
  return {
    visits,
    seededBy: 'rows inserted into patient-management.sqlite (visits) in one transaction',
    seedS,
    connections,
    durationS,
    listP99Ms: runs.list.p99Ms,
    byPatientP99Ms: runs.byPatient.p99Ms,
    byIdP99Ms: runs.byId.p99Ms,
    runs,
  };
}

// ---- diagnostics -----------------------------------------------------------------------------

/**
 * How many POST /receptions per second the reception service takes straight (closed loop,
 * autocannon): the ceiling under scenario 2's fixed rate. The runner lets the consumers catch up
 * with the receptions it creates before scenario 2.
 */
export async function receptionPostCapacity(bench: TestSystem, mode: Mode, log: Log): Promise<LoadFigures & { connections: number }> {
  const connections = 10;
  const figures = await load(`${bench.system.services.reception.url}/receptions`, {
    connections,
    durationS: mode.quick ? 3 : 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patientId: 'BENCH-CAP', patientName: 'Bench Capacity', symptom: 'capacity' }),
  });
  log(`  POST /receptions straight to reception: ${figures.rps} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}`);
  return { ...figures, connections };
}
