import { waitStages, type WaitStage } from '@medical/contracts';
import { occurredAt, type ProjectedEvent, type Visit } from './visit.ts';

/**
 * The waits of the stages of a visit (contracts waitStages), each measured once it ends, between
 * the events' own times. One per visit and stage (`item` ''), but for the wait of an examination:
 * one per examination performed (`item` its id), in the department that performs it. A cancelled
 * examination is no wait for it; a visit that never reached a stage's end (cancelled) has no wait
 * for it.
 */
export type StageWait = {
  receptionId: number;
  stage: WaitStage;
  item: string;
  department: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
};

/** The waits that `event` ends, from the visit before and after it; `fallbackDepartment` for a visit projected before departments. */
export function endedWaits(before: Visit | null, after: Visit, event: ProjectedEvent, fallbackDepartment: string): StageWait[] {
  if (!before || before === after) return [];
  const department = after.department ?? fallbackDepartment;
  const waits: StageWait[] = [];
  const add = (stage: WaitStage, startedAt: string | undefined, endedAt: string, item = '', where = department) => {
    if (startedAt === undefined) return;
    const seconds = Math.max(0, (Date.parse(endedAt) - Date.parse(startedAt)) / 1000);
    waits.push({ receptionId: after.receptionId, stage, item, department: where, startedAt, endedAt, seconds });
  };
  if (before.firstCalledAt === undefined && after.firstCalledAt !== undefined) add('RECEPTION_TO_CALL', after.receivedAt, after.firstCalledAt);
  const began = doctorBegan(before, after);
  if (began !== undefined) add('CALL_TO_DIAGNOSIS', before.firstCalledAt, began);
  for (const examination of after.examinations) {
    const was = before.examinations.find((e) => e.prescriptionId === examination.prescriptionId);
    if (was?.status === 'REQUESTED' && examination.status === 'PERFORMED' && examination.examinationId !== undefined) {
      add('PRESCRIPTION_TO_EXAMINATION', examination.prescribedAt, occurredAt(event), String(examination.examinationId), examination.department ?? department);
    }
  }
  const concluded = before.concludedAt === undefined && after.concludedAt !== undefined;
  // Only from the examinations all ended before the outcome: a rejection cancels those still pending after it.
  if (concluded && before.stage === 'EXAMINATIONS_DONE') add('EXAMINATIONS_TO_COMPLETION', after.examinationsEndedAt, after.concludedAt!);
  if (before.receptionStatus !== 'CONFIRMED' && after.receptionStatus === 'CONFIRMED') {
    add('COMPLETION_TO_CONFIRMATION', after.concludedAt, event.time);
    add('VISIT', after.receivedAt, event.time);
  }
  return waits;
}

/** When the doctor began, if this event is when: the first prescription, or the outcome of a diagnosis without one. */
function doctorBegan(before: Visit, after: Visit): string | undefined {
  if (before.examinations.length === 0 && after.examinations.length > 0) return after.examinations[0]!.prescribedAt;
  if (before.concludedAt === undefined && after.concludedAt !== undefined && after.examinations.length === 0) return after.concludedAt;
  return undefined;
}

/** One wait as the charts read it: where, which stage, when it began, how long. */
export type WaitSample = { department: string; stage: WaitStage; startedAt: string; seconds: number };
export type WaitFigures = { count: number; p50Minutes: number; p90Minutes: number };
export type WaitSummary = {
  stages: Array<{ department: string; stage: WaitStage } & WaitFigures>;
  byHour: Array<{ department: string; stage: WaitStage; hour: number } & WaitFigures>;
};

/** The count and the 50th and 90th percentiles (nearest rank) in minutes, per department and stage, and per hour the stage began. */
export function summariseWaits(samples: readonly WaitSample[], hourOf: (instant: string) => number): WaitSummary {
  const stages = new Map<string, { department: string; stage: WaitStage; seconds: number[] }>();
  const hours = new Map<string, { department: string; stage: WaitStage; hour: number; seconds: number[] }>();
  for (const { department, stage, startedAt, seconds } of samples) {
    const hour = hourOf(startedAt);
    groupOf(stages, `${department}\u0000${stage}`, { department, stage }).seconds.push(seconds);
    groupOf(hours, `${department}\u0000${stage}\u0000${hour}`, { department, stage, hour }).seconds.push(seconds);
  }
  const byOrder = (a: { department: string; stage: WaitStage; hour?: number }, b: { department: string; stage: WaitStage; hour?: number }) =>
    a.department.localeCompare(b.department) || waitStages.indexOf(a.stage) - waitStages.indexOf(b.stage) || (a.hour ?? 0) - (b.hour ?? 0);
  return {
    stages: [...stages.values()].sort(byOrder).map(({ seconds, ...key }) => ({ ...key, ...figures(seconds) })),
    byHour: [...hours.values()].sort(byOrder).map(({ seconds, ...key }) => ({ ...key, ...figures(seconds) })),
  };
}

function groupOf<G extends { seconds: number[] }>(groups: Map<string, G>, key: string, fields: Omit<G, 'seconds'>): G {
  let group = groups.get(key);
  if (!group) groups.set(key, (group = { ...fields, seconds: [] } as unknown as G));
  return group;
}

function figures(seconds: number[]): WaitFigures {
  const sorted = [...seconds].sort((a, b) => a - b);
  return { count: sorted.length, p50Minutes: minutes(nearestRank(sorted, 50)), p90Minutes: minutes(nearestRank(sorted, 90)) };
}

/** The smallest value with at least p% of the values at or below it. */
export function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? 0;
}

/**
 * Minutes to the hundredth (0.6 s): a chart shows one decimal, but a wait of seconds (a test, a
 * quick desk) still reads as what it was rather than as 0.
 */
const minutes = (seconds: number) => Math.round((seconds * 100) / 60) / 100;
