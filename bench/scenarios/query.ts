import { performance } from 'node:perf_hooks';
import type { TestSystem } from '../../test/e2e/helpers.ts';
import { load, round, type LoadFigures } from '../lib/tools.ts';
import { openView } from '../lib/view.ts';
import type { Log, Mode } from './mode.ts';

/** Scenario 4: the read model's queries with 100,000 visits in the view. */

export type QueryFigures = {
  visits: number;
  seededBy: string;
  seedS: number;
  connections: number;
  durationS: number;
  listP99Ms: number;
  byPatientP99Ms: number;
  byIdP99Ms: number;
  runs: Record<'list' | 'byPatient' | 'byId', LoadFigures & { url: string }>;
};

/**
 * 100,000 visits written straight into patient-management's view (bench/lib/view.ts), then each
 * query under load straight to the service. Seeding by replaying events would measure the
 * consumer again (scenarios 2 and 3 do) and take minutes; the queries only see the table. Ids
 * start far above those of the other scenarios.
 */
export async function queryScenario(bench: TestSystem, mode: Mode, log: Log): Promise<QueryFigures> {
  const visits = 100_000;
  const connections = 10;
  const durationS = mode.quick ? 1.5 : 15;
  const firstId = 10_000_000;
  const seedStart = performance.now();
  const view = openView(bench);
  try {
    await view.seed(firstId, visits);
  } finally {
    await view.close();
  }
  const seedS = round((performance.now() - seedStart) / 1000, 2);
  log(`  seeded ${visits} visits in ${seedS} s`);
  const base = bench.system.services['patient-management'].url;
  const urls = {
    list: `${base}/patientManagements?page=0&size=20`,
    byPatient: `${base}/patientManagements?page=0&size=20&patientId=SEED-1234`,
    byId: `${base}/patientManagements/${firstId + 54_321}`,
  } as const;
  const runs = {} as QueryFigures['runs'];
  for (const [name, url] of Object.entries(urls) as Array<[keyof typeof urls, string]>) {
    await load(url, { connections, durationS: mode.quick ? 0.5 : 1 });
    runs[name] = { ...(await load(url, { connections, durationS })), url: url.slice(base.length) };
    log(`  ${name.padEnd(9)} ${runs[name].rps} req/s, p50 ${runs[name].p50Ms} ms, p99 ${runs[name].p99Ms} ms, non-2xx ${runs[name].non2xx}, errors ${runs[name].errors}`);
  }
  return {
    visits,
    seededBy: bench.profile === 'embedded' ? 'rows inserted into patient-management.sqlite (visits), one transaction' : 'rows inserted into patient_management.visits on PostgreSQL, one transaction',
    seedS,
    connections,
    durationS,
    listP99Ms: runs.list.p99Ms,
    byPatientP99Ms: runs.byPatient.p99Ms,
    byIdP99Ms: runs.byId.p99Ms,
    runs,
  };
}
