import type { LagWatch } from './lag.ts';
import { sleep } from './tools.ts';

/**
 * Waits (at most `timeoutMs`) until every consumer group has consumed the whole event topic;
 * false if it had not by then. Looks every `everyMs`: the moment it answers true is at most that
 * late, which matters where the moment ends a measurement (the cost per visit).
 */
export async function settle(lag: LagWatch, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const largest = await lag.largest().catch(() => undefined);
    if (largest === 0) return true;
    await sleep(everyMs);
  }
  return false;
}
