import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { serviceMigrationSets, type Database } from '@medical/platform';
import { openPostgresDatabase, openSqliteDatabase } from '@medical/platform/testing';
import { migrations } from '../src/db/migrations.ts';
import type { PatientManagementDatabase } from '../src/db/schema.ts';

export type Db = Database<PatientManagementDatabase>;

export type Engine = { name: string; skip: string | false; open: (t: TestContext) => Promise<Db> };

/** The schema of each PostgreSQL database a test opened (for raw SQL against it). */
export const schemaOf = new WeakMap<Db, string>();

/**
 * patient-management's database on both engines, migrated and dropped after the test: a SQLite
 * file in a temporary folder, and (when DATABASE_URL is set, `eval "$(npm run -s infra:up)"`) a
 * PostgreSQL schema of its own named `<label>_<random>`.
 */
export function engines(label: string): Engine[] {
  return [
    {
      name: 'SQLite',
      skip: false,
      async open(t) {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${label}-`));
        const database = await openSqliteDatabase<PatientManagementDatabase>({ serviceName: 'patient-management', dataDir, migrationSets: serviceMigrationSets(migrations) });
        t.after(async () => {
          await database.close();
          fs.rmSync(dataDir, { recursive: true, force: true });
        });
        return database;
      },
    },
    {
      name: 'PostgreSQL',
      skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set',
      async open(t) {
        const url = process.env.DATABASE_URL!;
        const schema = `${label.replaceAll('-', '')}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        const database = await openPostgresDatabase<PatientManagementDatabase>({ url, schema, poolSize: 3, migrationSets: serviceMigrationSets(migrations), idSequences: [], logger: pino({ level: 'silent' }) });
        schemaOf.set(database, schema);
        t.after(async () => {
          await database.close();
          const admin = new pg.Client({ connectionString: url });
          await admin.connect();
          await admin.query(`drop schema if exists "${schema}" cascade`);
          await admin.end();
        });
        return database;
      },
    },
  ];
}
