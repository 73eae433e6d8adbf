import { setTimeout as delay } from 'node:timers/promises';
import { waitStages, type WaitingTimesView, type WaitStage } from '@medical/contracts/queues';
import { percentile } from '../stats.ts';
import type { GatewayClient } from './http.ts';
import type { MeasuredWait } from './world.ts';

/**
 * The waits of each stage of the visits (contracts waitStages) as the simulation measured them,
 * from the real instants of its own answers, beside what the read model says of the same visits
 * (GET /patientManagements/waiting-times, as the manager's charts read it). The counts must be
 * the same once the read model has caught up with the last events: every stage that ended is one
 * the simulation saw end. The medians differ by the moments between an answer and its event.
 */

export type StageFigures = { count: number; p50Minutes: number | null };
export type WaitRow = { department: string; stage: WaitStage; measured: StageFigures & { p50SimulatedMinutes: number | null }; readModel: StageFigures };
export type WaitComparison = {
  rows: WaitRow[];
  /** Every row's counts are equal. */
  agree: boolean;
  /** False when the read model gave no answer to compare with (reported as an error). */
  answered: boolean;
  /** How long the read model took to agree (or until the comparison gave up), in ms. */
  waitedMs: number;
};

/** How long the read model may take to catch up with the last events before the counts are taken as they are. */
const CATCH_UP_MS = 15_000;
const CATCH_UP_INTERVAL_MS = 500;

const keyOf = (department: string, stage: string) => `${department}\u0000${stage}`;

function measuredFigures(waits: readonly MeasuredWait[], speed: number): Map<string, WaitRow['measured']> {
  const spans = new Map<string, number[]>();
  for (const wait of waits) {
    const key = keyOf(wait.department, wait.stage);
    const list = spans.get(key) ?? [];
    list.push(wait.endedAt - wait.startedAt);
    spans.set(key, list);
  }
  const figures = new Map<string, WaitRow['measured']>();
  for (const [key, ms] of spans) {
    figures.set(key, {
      count: ms.length,
      p50Minutes: percentile(ms.map((span) => span / 60_000), 50),
      p50SimulatedMinutes: percentile(ms.map((span) => (span * speed) / 60_000), 50),
    });
  }
  return figures;
}

/** The read model's figures of each department, or undefined after an unexpected answer (reported). */
async function readModelFigures(gateway: GatewayClient, from: string, departments: readonly string[]): Promise<Map<string, StageFigures> | undefined> {
  const figures = new Map<string, StageFigures>();
  for (const department of departments) {
    const query = new URLSearchParams({ from, department });
    const answer = await gateway.call<WaitingTimesView>('manager', 'GET', `/patientManagements/waiting-times?${query}`);
    if (!answer) return undefined;
    for (const stage of answer.body.stages) {
      if (stage.department === department) figures.set(keyOf(department, stage.stage), { count: stage.count, p50Minutes: stage.p50Minutes });
    }
  }
  return figures;
}

function rowsOf(departments: readonly string[], measured: Map<string, WaitRow['measured']>, readModel: Map<string, StageFigures>): WaitRow[] {
  const rows: WaitRow[] = [];
  for (const department of departments) {
    for (const stage of waitStages) {
      const key = keyOf(department, stage);
      const mine = measured.get(key) ?? { count: 0, p50Minutes: null, p50SimulatedMinutes: null };
      const theirs = readModel.get(key) ?? { count: 0, p50Minutes: null };
      if (mine.count > 0 || theirs.count > 0) rows.push({ department, stage, measured: mine, readModel: theirs });
    }
  }
  return rows;
}

/**
 * The comparison, read again every half second for up to 15 s until the counts agree: the last
 * events of the run may still be on their way to the read model. `from` is the run's start.
 */
export async function compareWaits(gateway: GatewayClient, waits: readonly MeasuredWait[], speed: number, from: string, departments: readonly string[]): Promise<WaitComparison> {
  const measured = measuredFigures(waits, speed);
  const every = [...new Set([...departments, ...waits.map((wait) => wait.department)])];
  const started = Date.now();
  for (;;) {
    const readModel = await readModelFigures(gateway, from, every);
    if (!readModel) return { rows: rowsOf(every, measured, new Map()), agree: false, answered: false, waitedMs: Date.now() - started };
    const rows = rowsOf(every, measured, readModel);
    const agree = rows.every((row) => row.measured.count === row.readModel.count);
    if (agree || Date.now() - started >= CATCH_UP_MS) return { rows, agree, answered: true, waitedMs: Date.now() - started };
    await delay(CATCH_UP_INTERVAL_MS);
  }
}
