import { setTimeout as delay } from 'node:timers/promises';
import type { StaffUser } from './http.ts';
import { settle, type Simulation, type SimVisit } from './world.ts';

/**
 * The saga is eventually consistent: a reception reaches the doctor's worklist, a prescription the
 * examiners', an outcome the desk, a moment after the command that caused it. Staff read their
 * screen again until it shows; so does the simulation, a little less often each time, within a
 * bound (real time: the system's lag does not depend on the simulation's speed).
 */

const FIRST_INTERVAL_MS = 50;
const LONGEST_INTERVAL_MS = 1_000;
/** How long a state may take to show before it is an error of the run. */
export const CONSISTENCY_BOUND_MS = 60_000;

/**
 * GETs `path` as `user` until `found` picks something from the answer, and returns it. Undefined
 * when the run ended meanwhile (no error), or when it did not show within the bound or an answer
 * was unexpected (reported).
 */
export async function readUntil<T, R>(sim: Simulation, user: StaffUser, path: string, found: (body: T) => R | undefined, what: string): Promise<R | undefined> {
  const deadline = Date.now() + CONSISTENCY_BOUND_MS;
  for (let interval = FIRST_INTERVAL_MS; !sim.signal.aborted; interval = Math.min(LONGEST_INTERVAL_MS, interval * 2)) {
    const answer = await sim.gateway.call<T>(user, 'GET', path);
    if (!answer) return undefined;
    const value = found(answer.body);
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      sim.gateway.report(`${what}: not shown by GET ${path} within ${CONSISTENCY_BOUND_MS / 1_000} s`);
      return undefined;
    }
    try {
      await delay(interval, undefined, { signal: sim.signal });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Waits `simulatedMinutes`; false when the run ended meanwhile, and the caller stops. */
export function pause(sim: Simulation, simulatedMinutes: number): Promise<boolean> {
  return sim.clock.sleep(simulatedMinutes * 60_000, sim.signal);
}

/**
 * The simulation of a visit stops after an unexpected answer (already reported); one that came
 * because the run ended leaves the visit where it was.
 */
export function failed(sim: Simulation, visit: SimVisit): void {
  if (!sim.signal.aborted) settle(sim, visit, 'failed');
}
