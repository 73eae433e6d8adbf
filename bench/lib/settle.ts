import type { TestSystem } from '../../test/e2e/helpers.ts';
import { sleep } from './tools.ts';

/** Waits (at most `timeoutMs`) until every consumer group has consumed the whole event topic; false if it had not by then. */
export async function settle(bench: TestSystem, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const report = await bench.events.lagReport().catch(() => undefined);
    if (report && Object.values(report.lag).every((lag) => lag === 0)) return true;
    await sleep(250);
  }
  return false;
}
