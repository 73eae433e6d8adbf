import { setTimeout as delay } from 'node:timers/promises';

/**
 * The simulated clock: `speed` simulated seconds pass per real second (`--speed 60` runs an hour
 * of clinic in a minute). The staff's loops wait in simulated time (a consultation of six
 * minutes); the waits the summary measures are in real time, from the real instants of the
 * answers, as the read model measures them.
 */
export type SimulatedClock = {
  readonly speed: number;
  /** Simulated milliseconds since the start. */
  elapsedMs(): number;
  /** The simulated time since the start as the progress shows it: `01:05` (hours, minutes). */
  label(): string;
  /** The real milliseconds `simulatedMs` lasts. */
  realMs(simulatedMs: number): number;
  /**
   * Waits `simulatedMs` of simulated time. Resolves true when the time has passed, false at
   * once when `signal` (the end of the run) aborts first: the caller then stops what it does.
   */
  sleep(simulatedMs: number, signal?: AbortSignal): Promise<boolean>;
};

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

export function startClock(speed: number, now: () => number = Date.now): SimulatedClock {
  const startedAt = now();
  const elapsedMs = () => (now() - startedAt) * speed;
  return {
    speed,
    elapsedMs,
    label: () => {
      const minutes = Math.floor(elapsedMs() / MINUTE);
      return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
    },
    realMs: (simulatedMs) => simulatedMs / speed,
    sleep: async (simulatedMs, signal) => {
      if (signal?.aborted) return false;
      try {
        await delay(Math.max(0, simulatedMs / speed), undefined, signal ? { signal } : {});
        return true;
      } catch (error) {
        if ((error as Error).name === 'AbortError') return false;
        throw error;
      }
    },
  };
}
