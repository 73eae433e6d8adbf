import type { Problems } from './http.ts';
import type { WaitComparison, WaitRow } from './waits.ts';
import { isSettled, type DepartmentTally, type RoomTally, type Simulation, type SimulationOptions, type VisitState } from './world.ts';

/**
 * What a run prints: one short line per simulated minute while it runs, and the summary at the
 * end. The summary is for people, and for the end-to-end test that reads it: one line per
 * department beginning with its code, the stage rows, then `counts agree: yes|no` and `result:`.
 */

export type Summary = {
  options: SimulationOptions;
  arrivals: number;
  /** The simulated minutes the run lasted, arrivals and the visits' end together. */
  simulatedMinutes: number;
  /** Ended early by Ctrl-C. */
  interrupted: boolean;
  departments: Array<[string, DepartmentTally]>;
  rooms: Array<[string, RoomTally]>;
  /** The visits still open when the run stopped, by where they were. */
  open: Partial<Record<VisitState, number>>;
  comparison: WaitComparison;
  problems: Problems;
  ok: boolean;
};

/** `[00:05] arrivals 12 · waiting internal-medicine 4, surgery 3 · at examinations 2 · confirmed 1` */
export function progressLine(sim: Simulation): string {
  const waiting = sim.options.departments.map((department) => {
    const count = sim.visits.filter((visit) => visit.department === department && (visit.state === 'waiting' || visit.state === 'absent' || visit.state === 'returned')).length;
    return `${department} ${count}`;
  });
  const atExaminations = sim.visits.filter((visit) => visit.state === 'examinations').length;
  const confirmed = sim.visits.filter((visit) => visit.state === 'confirmed').length;
  const errors = sim.gateway.problems.count > 0 ? ` · errors ${sim.gateway.problems.count}` : '';
  return `[${sim.clock.label()}] arrivals ${sim.arrivals} · waiting ${waiting.join(', ')} · at examinations ${atExaminations} · confirmed ${confirmed}${errors}`;
}

export function openVisits(sim: Simulation): Partial<Record<VisitState, number>> {
  const open: Partial<Record<VisitState, number>> = {};
  for (const visit of sim.visits) if (!isSettled(visit)) open[visit.state] = (open[visit.state] ?? 0) + 1;
  return open;
}

const DEPARTMENT_COLUMNS = ['visits', 'queue numbers', 'calls', 'recalls', 'no-shows', 'cancelled', 'rejected', 'examinations', 'completed', 'confirmed'];

function departmentLines(departments: Summary['departments']): string[] {
  const width = Math.max(20, ...departments.map(([code]) => code.length + 2));
  const header = `${'department'.padEnd(width)}${DEPARTMENT_COLUMNS.map((column) => column.padStart(column.length + 2)).join('')}`;
  const lines = departments.map(([code, tally]) => {
    const numbers = tally.firstQueueNumber === undefined ? '-' : `${tally.firstQueueNumber}..${tally.lastQueueNumber}`;
    const values = [tally.visits, numbers, tally.calls, tally.recalls, tally.noShows, tally.cancelled, tally.rejected, tally.examinations, tally.completed, tally.confirmed];
    return `${code.padEnd(width)}${values.map((value, i) => String(value).padStart(DEPARTMENT_COLUMNS[i]!.length + 2)).join('')}`;
  });
  return [header, ...lines];
}

function roomLines(rooms: Summary['rooms']): string[] {
  if (rooms.length === 0) return ['examination rooms: none called'];
  const width = Math.max(20, ...rooms.map(([code]) => code.length + 2));
  return [
    `${'examination room'.padEnd(width)}  calls  performed  cancelled`,
    ...rooms.map(([code, room]) => `${code.padEnd(width)}${String(room.calls).padStart(7)}${String(room.performed).padStart(11)}${String(room.cancelled).padStart(11)}`),
  ];
}

const minutes = (value: number | null) => (value === null ? '-' : value.toFixed(1));

function waitLines(comparison: WaitComparison): string[] {
  const width = Math.max(20, ...comparison.rows.map((row) => row.department.length + 2));
  const line = (row: WaitRow) => {
    const { measured, readModel } = row;
    const simulated = measured.p50SimulatedMinutes === null ? '' : ` (${minutes(measured.p50SimulatedMinutes)})`;
    const verdict = measured.count === readModel.count ? 'agree' : 'DIFFER';
    return `${row.department.padEnd(width)}${row.stage.padEnd(30)}${String(measured.count).padStart(6)}  ${`${minutes(measured.p50Minutes)}${simulated}`.padEnd(14)}${String(readModel.count).padStart(6)}  ${minutes(readModel.p50Minutes).padEnd(6)}${verdict}`;
  };
  return [
    `waits (p50 in real minutes; the simulator's in simulated minutes in brackets)`,
    `${''.padEnd(width + 30)}${'simulator'.padEnd(22)}read model`,
    `${'department'.padEnd(width)}${'stage'.padEnd(30)}${'count'.padStart(6)}  ${'p50'.padEnd(14)}${'count'.padStart(6)}  p50`,
    ...(comparison.rows.length > 0 ? comparison.rows.map(line) : ['(no stage ended)']),
  ];
}

export function formatSummary(summary: Summary): string {
  const { options, comparison, problems } = summary;
  const open = Object.entries(summary.open).map(([state, count]) => `${count} ${state}`);
  const returning = summary.departments.reduce((sum, [, tally]) => sum + tally.returningPatients, 0);
  const agreement = !comparison.answered
    ? 'counts agree: no (the read model gave no waiting times to compare with)'
    : `counts agree: ${comparison.agree ? 'yes' : 'no'} (${comparison.rows.length} stage rows, read model read for ${(comparison.waitedMs / 1_000).toFixed(1)} s)`;
  const lines = [
    `simulation of ${options.gateway}: seed ${options.seed}, ${options.ratePerMinute}/min for ${options.minutes} simulated minutes at ${options.speed}x, ${options.departments.join(', ')}`,
    `arrivals ${summary.arrivals} (${returning} returning patients), run ${summary.simulatedMinutes.toFixed(1)} simulated minutes${summary.interrupted ? ' (interrupted)' : ''}; visits still open at the end: ${open.length > 0 ? open.join(', ') : 'none'}`,
    '',
    ...departmentLines(summary.departments),
    '',
    ...roomLines(summary.rooms),
    '',
    ...waitLines(comparison),
    '',
    agreement,
    `errors: ${problems.count}${problems.throttled > 0 ? ` (and ${problems.throttled} answers 429, waited for and retried)` : ''}`,
    ...problems.samples.map((sample) => `  ${sample}`),
    `result: ${summary.ok ? 'OK' : 'FAILED'}`,
  ];
  return `${lines.join('\n')}\n`;
}
