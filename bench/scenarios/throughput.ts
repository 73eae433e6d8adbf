import { performance } from 'node:perf_hooks';
import type { Client, TestSystem } from '../../test/e2e/helpers.ts';
import { driveVisit, type VisitPlan } from '../../test/e2e/support/visits.ts';
import { cpuMeter, describeCpu, systemCpuMs, type CpuFigures, type CpuSubjects } from '../lib/cpu.ts';
import type { LagWatch } from '../lib/lag.ts';
import { settle } from '../lib/settle.ts';
import { returningPatients } from '../lib/patients.ts';
import { staffConsoleClient } from '../lib/staff-client.ts';
import { percentile, round, sleep } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';

/**
 * Scenario 3: complete visits per second, driven through the gateway by concurrent clients, each
 * doing what the staff do one visit after another, each command with an Idempotency-Key as the
 * staff console sends it: register, wait for the diagnosis, prescribe,
 * wait for the examination, perform it, wait until the examinations are done, complete the
 * diagnosis, wait for the outcome at reception, confirm. The number of clients is raised stage by
 * stage until the system saturates: throughput stops rising, or consumer lag grows through a stage.
 */

export type ThroughputStage = {
  clients: number;
  durationS: number;
  /** Visits started and finished within the stage. */
  visits: number;
  visitsPerSec: number;
  /** Visits that failed (an error answer, a step that did not come within its wait). */
  failures: number;
  visitP50Ms: number | null;
  visitP99Ms: number | null;
  /** The largest consumer-group lag (events), averaged over the first and the last third of the stage. */
  lagEarly: number;
  lagLate: number;
  /** The lag's growth over the stage, in events per second (positive: the consumers fell behind). */
  lagGrowthPerSec: number;
  lagGrew: boolean;
  /** CPU during the stage: the machine, each service, the bench, everything else. */
  cpu: CpuFigures;
  /** The machine's busy CPU time per visit completed in the stage, and the system's (cpu.ts). */
  machineCpuMsPerVisit: number | null;
  systemCpuMsPerVisit: number | null;
};

export type ThroughputFigures = {
  /** The most visits per second of a stage whose consumers kept up; null when none did. */
  visitsPerSec: number | null;
  /** The clients of that stage. */
  atClients: number | null;
  eventsPerVisit: number;
  pollIntervalMs: number;
  stages: ThroughputStage[];
  /** Why the ramp stopped. */
  stoppedBecause: string;
};

/** One prescription, performed, and the diagnosis completed: the common visit, seven events. */
export const commonVisit = (label: string, patientId: string): VisitPlan => ({ label, patientId, examinations: ['perform'], outcome: 'complete' });
const EVENTS_PER_VISIT = 7;

/**
 * One common visit driven to its end as a staff client drives it (each step looked for every
 * `pollIntervalMs`, 30 s at most): when it began and finished, or null when it failed. Scenario
 * 6's clients drive theirs the same way, so that its cost is the cost of these visits.
 */
export async function timeCommonVisit(client: Client, label: string, patientId: string, pollIntervalMs: number): Promise<{ began: number; finished: number } | null> {
  const began = performance.now();
  try {
    await driveVisit(client, commonVisit(label, patientId), { intervalMs: pollIntervalMs, timeoutMs: 30_000 });
    return { began, finished: performance.now() };
  } catch {
    return null;
  }
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
}

type StageSetting = { clients: number; durationS: number; pollIntervalMs: number; subjects: CpuSubjects };
type StageTally = { durations: number[]; failures: number };
/** A reading of the largest consumer lag, `at` ms into the stage (NaN when the reading failed). */
type LagSample = { at: number; lag: number };

/** One client's visits, one after the other, until the stage ends. A failure pauses it briefly, so a failing system is not hammered. */
/** The visits of a run: the number of the next, and the returning patients they are for, in turn. */
type Visits = { next: number; patients: readonly string[] };

async function visitUntil(client: Client, end: number, pollIntervalMs: number, firstVisit: Visits, tally: StageTally): Promise<void> {
  while (performance.now() < end) {
    const n = firstVisit.next++;
    const visit = await timeCommonVisit(client, `bench-${n}`, firstVisit.patients[n % firstVisit.patients.length]!, pollIntervalMs);
    if (visit === null) {
      tally.failures += 1;
      await sleep(100);
    } else if (visit.finished <= end) {
      // Only the visits finished within the stage count, as the stage's CPU is read at its end.
      tally.durations.push(visit.finished - visit.began);
    }
  }
}

/** The largest consumer lag every 250 ms until the stage ends. */
async function watchLag(lag: LagWatch, start: number, end: number, samples: LagSample[], onTick?: () => void): Promise<void> {
  while (performance.now() < end) {
    samples.push({ at: performance.now() - start, lag: await lag.largest().catch(() => Number.NaN) });
    onTick?.();
    await sleep(250);
  }
}

/** The lag of the first and the last third of the stage, and whether it grew between them by more than noise. */
function lagTrend(samples: LagSample[], durationS: number, visitsPerSec: number): { lagEarly: number; lagLate: number; lagGrowthPerSec: number; lagGrew: boolean } {
  const valid = samples.filter((l) => Number.isFinite(l.lag));
  const third = (durationS * 1000) / 3;
  const lagEarly = mean(valid.filter((l) => l.at < third).map((l) => l.lag));
  const lagLate = mean(valid.filter((l) => l.at >= 2 * third).map((l) => l.lag));
  const lagGrowthPerSec = (lagLate - lagEarly) / ((2 * third) / 1000);
  // Grown: by more than a tenth of the events the stage produced per second, and by more than
  // noise (a few events in flight).
  const lagGrew = lagGrowthPerSec > Math.max(0.1 * visitsPerSec * EVENTS_PER_VISIT, 2) && lagLate - lagEarly > 20;
  return { lagEarly, lagLate, lagGrowthPerSec, lagGrew };
}

function stageFigures(setting: StageSetting, tally: StageTally, lags: ReturnType<typeof lagTrend>, stageCpu: CpuFigures): ThroughputStage {
  const { durations } = tally;
  return {
    clients: setting.clients,
    durationS: setting.durationS,
    visits: durations.length,
    visitsPerSec: round(durations.length / setting.durationS, 1),
    failures: tally.failures,
    visitP50Ms: percentile(durations, 50),
    visitP99Ms: percentile(durations, 99),
    lagEarly: round(lags.lagEarly, 1),
    lagLate: round(lags.lagLate, 1),
    lagGrowthPerSec: round(lags.lagGrowthPerSec, 1),
    lagGrew: lags.lagGrew,
    cpu: stageCpu,
    machineCpuMsPerVisit: durations.length > 0 ? round(stageCpu.machineCpuMs / durations.length, 1) : null,
    systemCpuMsPerVisit: durations.length > 0 ? round(systemCpuMs(stageCpu) / durations.length, 1) : null,
  };
}

async function runStage(bench: TestSystem, lag: LagWatch, setting: StageSetting, firstVisit: Visits, onTick?: () => void): Promise<ThroughputStage> {
  const client = staffConsoleClient(bench);
  const cpu = cpuMeter(setting.subjects);
  const start = performance.now();
  const end = start + setting.durationS * 1000;
  const tally: StageTally = { durations: [], failures: 0 };
  const lags: LagSample[] = [];
  const watching = watchLag(lag, start, end, lags, onTick);
  const visitors = Array.from({ length: setting.clients }, () => visitUntil(client, end, setting.pollIntervalMs, firstVisit, tally));
  const running = Promise.all([...visitors, watching]);
  // Read at the stage's end, as the visits it counts are those finished by then.
  const stageCpu = await new Promise<CpuFigures>((resolve) => setTimeout(() => resolve(cpu.stop()), end - performance.now()));
  await running;
  return stageFigures(setting, tally, lagTrend(lags, setting.durationS, tally.durations.length / setting.durationS), stageCpu);
}

export async function throughputScenario(bench: TestSystem, lag: LagWatch, subjects: CpuSubjects, mode: Mode, log: Log, onTick?: () => void): Promise<ThroughputFigures> {
  const ramp = mode.quick ? [16] : [4, 8, 16, 32, 64, 128];
  const durationS = mode.quick ? 4 : 20;
  const pollIntervalMs = 50;
  const stages: ThroughputStage[] = [];
  const firstVisit: Visits = { next: 0, patients: await returningPatients(bench, 50) };
  let stoppedBecause = 'the ramp ended';
  for (const clients of ramp) {
    const stage = await runStage(bench, lag, { clients, durationS, pollIntervalMs, subjects }, firstVisit, onTick);
    stages.push(stage);
    log(
      `  ${String(clients).padStart(3)} clients: ${stage.visitsPerSec} visits/s (${stage.visits} in ${durationS} s, ${stage.failures} failed), visit p50 ${stage.visitP50Ms} ms, p99 ${stage.visitP99Ms} ms; lag ${stage.lagEarly} → ${stage.lagLate} (${stage.lagGrowthPerSec}/s)`,
    );
    log(`      CPU: ${describeCpu(stage.cpu)}; per visit ${stage.systemCpuMsPerVisit} CPU-ms of the system's, ${stage.machineCpuMsPerVisit} of the machine's`);
    const previous = stages.at(-2);
    if (stage.lagGrew) {
      stoppedBecause = `consumer lag grew through the stage of ${clients} clients`;
      break;
    }
    if (previous && stage.visitsPerSec < previous.visitsPerSec * 1.1) {
      stoppedBecause = `throughput stopped rising at ${clients} clients (${previous.visitsPerSec} → ${stage.visitsPerSec} visits/s)`;
      break;
    }
    await settle(lag, mode.quick ? 3_000 : 15_000);
  }
  const kept = stages.filter((s) => !s.lagGrew);
  const best = kept.reduce<ThroughputStage | undefined>((top, s) => (top === undefined || s.visitsPerSec > top.visitsPerSec ? s : top), undefined);
  return {
    visitsPerSec: best?.visitsPerSec ?? null,
    atClients: best?.clients ?? null,
    eventsPerVisit: EVENTS_PER_VISIT,
    pollIntervalMs,
    stages,
    stoppedBecause,
  };
}
