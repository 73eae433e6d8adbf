import { performance } from 'node:perf_hooks';
import type { TestSystem } from '../../test/e2e/helpers.ts';
import { staffConsoleClient } from '../lib/staff-client.ts';
import { percentile, round, sleep } from '../lib/tools.ts';
import { openView } from '../lib/view.ts';
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

/**
 * Receptions posted through the gateway on a fixed schedule (an open loop: a slow answer does
 * not delay the next post), each with an Idempotency-Key as the staff console sends it, and the
 * time from each 201 (and from its POST's start) to the moment the visit's row is in
 * patient-management's view, watched in its database (bench/lib/view.ts).
 */
export async function propagationScenario(bench: TestSystem, ratePerSec: number, mode: Mode, log: Log, onTick?: () => void): Promise<PropagationFigures> {
  const client = staffConsoleClient(bench);
  const durationS = mode.quick ? 10 : 60;
  const pollIntervalMs = 2;
  // A POST unanswered by then counts as an error (the quick run must end in time).
  const postTimeoutMs = mode.quick ? 5_000 : 15_000;
  const view = openView(bench);
  const answeredAt = new Map<number, number>();
  const postedAt = new Map<number, number>();
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
      if (pending.length > 0) for (const id of await view.present(pending)) seenAt.set(id, now);
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
      client
        .post('/receptions', { patientId: `BENCH-P-${i % 500}`, patientName: 'Bench Patient', symptom: 'propagation' }, { timeoutMs: postTimeoutMs })
        .then((reply) => {
          const at = performance.now();
          postStatuses[reply.status] = (postStatuses[reply.status] ?? 0) + 1;
          if (reply.status !== 201) {
            postErrors += 1;
            return;
          }
          postLatencies.push(at - sentAt);
          const id = (reply.body as { id: number }).id;
          postedAt.set(id, sentAt);
          answeredAt.set(id, at);
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
  const drainDeadline = performance.now() + (mode.quick ? 3_000 : 15_000);
  while (performance.now() < drainDeadline && [...answeredAt.keys()].some((id) => !seenAt.has(id))) await sleep(20);
  polling = false;
  await poll;
  await view.close();

  const latencies: number[] = [];
  const fromPostStart: number[] = [];
  let missing = 0;
  for (const [id, at] of answeredAt) {
    const seen = seenAt.get(id);
    if (seen === undefined) {
      missing += 1;
      continue;
    }
    // Only answered receptions are looked for, so a visit that reached the view before its 201
    // reached the client is found at the first look after the 201: within one poll interval.
    latencies.push(Math.max(0, seen - at));
    fromPostStart.push(seen - postedAt.get(id)!);
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
    fromPostStartP50Ms: percentile(fromPostStart, 50),
    fromPostStartP99Ms: percentile(fromPostStart, 99),
    fromPostStartMaxMs: percentile(fromPostStart, 100),
    pollIntervalMs,
    postP50Ms: percentile(postLatencies, 50),
    postP99Ms: percentile(postLatencies, 99),
    postStatuses,
    postingS,
  };
  log(`  ${figures.seen}/${posted} seen, MISSING ${missing}, POST errors ${postErrors}; from the 201 p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms; from the POST's start p50 ${figures.fromPostStartP50Ms} ms, p99 ${figures.fromPostStartP99Ms} ms; POSTs ${JSON.stringify(postStatuses)} in ${postingS} s, p50 ${figures.postP50Ms} ms, p99 ${figures.postP99Ms} ms`);
  return figures;
}
