import { registerPatient, type TestSystem } from '../../test/e2e/helpers.ts';
import { load, type LoadFigures } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';

/**
 * Diagnostic (no target): how many POST /receptions per second the reception service takes
 * straight (closed loop, autocannon), each with an Idempotency-Key of its own as the staff console
 * sends, the ceiling under scenario 2's fixed rate. The runner lets
 * the consumers catch up with the receptions it creates before scenario 2.
 */
export async function receptionPostCapacity(bench: TestSystem, mode: Mode, log: Log): Promise<LoadFigures & { connections: number }> {
  const connections = 10;
  const patientId = await registerPatient(bench.client, { name: 'Bench Capacity' });
  const figures = await load(`${bench.system.services.reception.url}/receptions`, {
    connections,
    durationS: mode.quick ? 2 : 10,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ patientId, symptom: 'capacity' }),
    freshIdempotencyKeys: true,
  });
  log(`  POST /receptions straight to reception: ${figures.rps} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, non-2xx ${figures.non2xx}, errors ${figures.errors}`);
  return { ...figures, connections };
}
