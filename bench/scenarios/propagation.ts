import { performance } from 'node:perf_hooks';
import { registerPatient, type Client, type TestSystem } from '../../test/e2e/helpers.ts';
import { staffConsoleClient } from '../lib/staff-client.ts';
import { percentile, round, sleep } from '../lib/tools.ts';
import { openView, type ViewAccess } from '../lib/view.ts';
import type { Log, Mode } from './mode.ts';

/**
 * Scenario 2: the time from a reception's 201 (and from its POST's start) to its visit in
 * patient-management's view, at a fixed rate. A visit never seen is a failure, not a sample
 * left out: the percentiles are over the visits seen, and `missing` says how many were not.
 */

export type PropagationFigures = {
  ratePerSec: number;
  durationS: number;
  posted: number;
  seen: number;
  /** Receptions answered 201 whose visit had not appeared in the view when the bench stopped waiting. */
  missing: number;
  /** POSTs not answered 201: receptions the client cannot look for, failures as much as the missing. */
  postErrors: number;
  /** From the 201 reaching the client to the visit in the view. */
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** From the POST's start (what the receptionist waits from) to the visit in the view. */
  fromPostStartP50Ms: number | null;
  fromPostStartP99Ms: number | null;
  fromPostStartMaxMs: number | null;
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

/** What the posting and the watching record, by reception id, and the POSTs' answers. */
class PropagationRecord {
  /** When each answered reception's POST started. */
  readonly postedAt = new Map<number, number>();
  /** When its 201 reached the client: only these receptions are looked for in the view. */
  readonly answeredAt = new Map<number, number>();
  readonly seenAt = new Map<number, number>();
  readonly postLatencies: number[] = [];
  readonly postStatuses: Record<string, number> = {};
  posted = 0;
  postErrors = 0;

  /** The answered receptions whose visit has not been seen in the view yet. */
  pending(): number[] {
    return [...this.answeredAt.keys()].filter((id) => !this.seenAt.has(id));
  }

  answered(id: number, sentAt: number, at: number): void {
    this.postLatencies.push(at - sentAt);
    this.postedAt.set(id, sentAt);
    this.answeredAt.set(id, at);
  }

  /** A POST's answer by status ('error' when there was no HTTP answer); anything but a 201 is a POST error. */
  countAnswer(status: number | 'error'): void {
    this.postStatuses[status] = (this.postStatuses[status] ?? 0) + 1;
    if (status !== 201) this.postErrors += 1;
  }
}

/** Looks at the view every `pollIntervalMs` for the pending visits, until stopped. */
function watchView(view: ViewAccess, record: PropagationRecord, pollIntervalMs: number, onTick?: () => void): { stop(): Promise<void> } {
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const now = performance.now();
      const pending = record.pending();
      if (pending.length > 0) for (const id of await view.present(pending)) record.seenAt.set(id, now);
      onTick?.();
      await sleep(pollIntervalMs);
    }
  })();
  return {
    async stop() {
      polling = false;
      await poll;
    },
  };
}

async function postReception(client: Client, patientId: string, record: PropagationRecord, postTimeoutMs: number): Promise<void> {
  const sentAt = performance.now();
  try {
    const reply = await client.post('/receptions', { patientId, symptom: 'propagation' }, { timeoutMs: postTimeoutMs });
    const at = performance.now();
    record.countAnswer(reply.status);
    if (reply.status === 201) record.answered((reply.body as { id: number }).id, sentAt, at);
  } catch {
    record.countAnswer('error');
  }
}

/**
 * `ratePerSec` × `durationS` POSTs, each sent when it is due whether or not the earlier ones were
 * answered (an open loop); resolves once all are answered, with how long that took in seconds.
 */
async function postOnSchedule(client: Client, patients: readonly string[], record: PropagationRecord, ratePerSec: number, durationS: number, postTimeoutMs: number): Promise<number> {
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const total = ratePerSec * durationS;
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerSec;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    record.posted += 1;
    inFlight.push(postReception(client, patients[i % patients.length]!, record, postTimeoutMs));
  }
  await Promise.all(inFlight);
  return round((performance.now() - start) / 1000);
}

/** Lets the last visits arrive in the view, for at most `drainMs`. */
async function awaitLastArrivals(record: PropagationRecord, drainMs: number): Promise<void> {
  const drainDeadline = performance.now() + drainMs;
  while (performance.now() < drainDeadline && record.pending().length > 0) await sleep(20);
}

/** Each seen visit's time from its 201 and from its POST's start; the answered ones never seen are missing. */
function propagationTimes(record: PropagationRecord): { latencies: number[]; fromPostStart: number[]; missing: number } {
  const latencies: number[] = [];
  const fromPostStart: number[] = [];
  let missing = 0;
  for (const [id, at] of record.answeredAt) {
    const seen = record.seenAt.get(id);
    if (seen === undefined) {
      missing += 1;
      continue;
    }
    // Only answered receptions are looked for, so a visit that reached the view before its 201
    // reached the client is found at the first look after the 201: within one poll interval.
    latencies.push(Math.max(0, seen - at));
    fromPostStart.push(seen - record.postedAt.get(id)!);
  }
  return { latencies, fromPostStart, missing };
}

function propagationFigures(setting: { ratePerSec: number; durationS: number; pollIntervalMs: number }, record: PropagationRecord, postingS: number): PropagationFigures {
  const { latencies, fromPostStart, missing } = propagationTimes(record);
  return {
    ratePerSec: setting.ratePerSec,
    durationS: setting.durationS,
    posted: record.posted,
    seen: latencies.length,
    missing,
    postErrors: record.postErrors,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    fromPostStartP50Ms: percentile(fromPostStart, 50),
    fromPostStartP99Ms: percentile(fromPostStart, 99),
    fromPostStartMaxMs: percentile(fromPostStart, 100),
    pollIntervalMs: setting.pollIntervalMs,
    postP50Ms: percentile(record.postLatencies, 50),
    postP99Ms: percentile(record.postLatencies, 99),
    postStatuses: record.postStatuses,
    postingS,
  };
}

function describePropagation(f: PropagationFigures): string {
  return (
    `  ${f.seen}/${f.posted} seen, MISSING ${f.missing}, POST errors ${f.postErrors}; from the 201 p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms; ` +
    `from the POST's start p50 ${f.fromPostStartP50Ms} ms, p99 ${f.fromPostStartP99Ms} ms; POSTs ${JSON.stringify(f.postStatuses)} in ${f.postingS} s, p50 ${f.postP50Ms} ms, p99 ${f.postP99Ms} ms`
  );
}

/**
 * Receptions posted through the gateway on a fixed schedule (an open loop: a slow answer does
 * not delay the next post), each with an Idempotency-Key as the staff console sends it, and the
 * time from each 201 (and from its POST's start) to the moment the visit's row is in
 * patient-management's view, watched in its database (bench/lib/view.ts).
 */
export async function propagationScenario(bench: TestSystem, ratePerSec: number, mode: Mode, log: Log, onTick?: () => void): Promise<PropagationFigures> {
  const setting = { ratePerSec, durationS: mode.quick ? 10 : 60, pollIntervalMs: 2 };
  // A POST unanswered by then counts as an error (the quick run must end in time).
  const postTimeoutMs = mode.quick ? 5_000 : 15_000;
  const client = staffConsoleClient(bench);
  // Returning patients, registered once before the clock starts: the scenario times visits.
  const patients: string[] = [];
  for (let i = 0; i < 20; i++) patients.push(await registerPatient(bench.client, { name: `Bench Patient ${i}` }));
  const view = openView(bench);
  const record = new PropagationRecord();
  const watching = watchView(view, record, setting.pollIntervalMs, onTick);
  const postingS = await postOnSchedule(client, patients, record, ratePerSec, setting.durationS, postTimeoutMs);
  // Let the last ones arrive (bounded).
  await awaitLastArrivals(record, mode.quick ? 3_000 : 15_000);
  await watching.stop();
  await view.close();
  const figures = propagationFigures(setting, record, postingS);
  log(describePropagation(figures));
  return figures;
}
