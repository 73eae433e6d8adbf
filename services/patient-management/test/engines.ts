import type { TestContext } from 'node:test';
import type { Database } from '@medical/platform';
import { databaseEngines, schemaOfDatabase } from '../../../packages/platform/test/helpers.ts';
import { migrations } from '../src/db/migrations.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';

export type Db = Database<PatientManagementDatabase>;

export type Engine = { name: string; skip: string | false; open: (t: TestContext) => Promise<Db> };

/** The schema of each PostgreSQL database a test opened (for raw SQL against it). */
export const schemaOf = { get: (database: Db): string | undefined => schemaOfDatabase.get(database) };

/** patient-management's database on both engines, migrated and dropped after the test (databaseEngines). */
export function engines(label: string): Engine[] {
  return databaseEngines<PatientManagementDatabase>(label, { name: 'patient-management', migrations });
}
