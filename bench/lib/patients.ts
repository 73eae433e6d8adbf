import { registerPatient, type TestSystem } from '../../test/e2e/helpers.ts';

/**
 * Returning patients for the visits a scenario drives, registered in the registry before anything
 * is measured: most of an outpatient clinic's visits are of patients registered already, and a
 * visit's cost is the visit's, not a first registration's.
 */
export async function returningPatients(bench: TestSystem, count: number): Promise<string[]> {
  const patients: string[] = [];
  for (let i = 0; i < count; i++) patients.push(await registerPatient(bench.client, { name: `Bench patient ${i}` }));
  return patients;
}
