import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { TestSystem } from '../../test/e2e/helpers.ts';

/**
 * The bench's direct access to patient-management's view, on either engine: watching for visits
 * (scenario 2) and seeding visits (scenario 4). Both go to the database, not over HTTP, so that
 * neither adds HTTP load to the service under test; the rows are exactly what
 * GET /patientManagements answers from.
 */

/** patient-management's schema on the production profile (the service's name, as DATABASE_SCHEMA defaults). */
const VIEW_SCHEMA = 'patient_management';

export type ViewAccess = {
  /** Which of the given receptions have their visit in the view. */
  present(ids: readonly number[]): Promise<number[]>;
  /** Inserts `count` visits from id `firstId` on, in one transaction (see seedRows). */
  seed(firstId: number, count: number): Promise<void>;
  close(): Promise<void>;
};

export function openView(bench: TestSystem): ViewAccess {
  return bench.profile === 'embedded' ? sqliteView(bench) : postgresView(bench);
}

/** One examination, as the projection writes it for a performed prescription. */
const EXAMINATIONS = JSON.stringify([
  { examinationId: 1, prescriptionId: '00000000-0000-4000-8000-000000000000', examinationType: 'CHEST_XRAY', status: 'PERFORMED', result: 'no abnormality' },
]);

/**
 * The seeded rows: half finished visits with one examination, half just received; 5,000
 * patients, so a patient's list is a full page of 20 rather than one row.
 */
function seedRow(id: number, i: number, now: string): unknown[] {
  const done = i % 2 === 0;
  return [id, `SEED-${i % 5_000}`, 'Seeded Patient', done ? 'CONFIRMED' : 'RECEIVED', done ? id : null, done ? 'COMPLETED' : null, done ? 'CONFIRMED' : 'RECEIVED', done ? EXAMINATIONS : '[]', now, now];
}

const COLUMNS = 'reception_id, patient_id, patient_name, reception_status, diagnosis_id, diagnosis_status, stage, examinations, created_at, updated_at';

function sqliteView(bench: TestSystem): ViewAccess {
  const file = path.join(bench.dataDir, 'patient-management.sqlite');
  const reader = new DatabaseSync(file, { readOnly: true });
  const chunk = 200;
  const lookup = reader.prepare(`SELECT reception_id AS id FROM visits WHERE reception_id IN (${Array(chunk).fill('?').join(',')})`);
  return {
    async present(ids) {
      const found: number[] = [];
      for (let i = 0; i < ids.length; i += chunk) {
        const part = ids.slice(i, i + chunk);
        // Padded with an id that never exists, so one prepared statement serves every chunk.
        const padded = [...part, ...Array<number>(chunk - part.length).fill(-1)];
        for (const row of lookup.all(...padded) as Array<{ id: number }>) found.push(row.id);
      }
      return found;
    },
    async seed(firstId, count) {
      const writer = new DatabaseSync(file, { timeout: 10_000 });
      const insert = writer.prepare(`INSERT INTO visits (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      const now = new Date().toISOString();
      writer.exec('BEGIN IMMEDIATE');
      try {
        for (let i = 0; i < count; i++) insert.run(...(seedRow(firstId + i, i, now) as Array<string | number | null>));
        writer.exec('COMMIT');
      } catch (error) {
        writer.exec('ROLLBACK');
        throw error;
      } finally {
        writer.close();
      }
    },
    async close() {
      reader.close();
    },
  };
}

function postgresView(bench: TestSystem): ViewAccess {
  if (!bench.database) throw new Error('a production-profile system without its database');
  const pool = new pg.Pool({ connectionString: bench.database.url, max: 2 });
  pool.on('error', () => undefined);
  return {
    async present(ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<{ id: string }>(`SELECT reception_id AS id FROM ${VIEW_SCHEMA}.visits WHERE reception_id = ANY($1::bigint[])`, [ids]);
      return rows.map((row) => Number(row.id));
    },
    async seed(firstId, count) {
      const client = await pool.connect();
      const batch = 1_000;
      const now = new Date().toISOString();
      try {
        await client.query('BEGIN');
        for (let start = 0; start < count; start += batch) {
          const rows = Array.from({ length: Math.min(batch, count - start) }, (_, k) => seedRow(firstId + start + k, start + k, now));
          const placeholders = rows.map((_, r) => `(${Array.from({ length: 10 }, (_, c) => `$${r * 10 + c + 1}`).join(', ')})`).join(', ');
          await client.query(`INSERT INTO ${VIEW_SCHEMA}.visits (${COLUMNS}) VALUES ${placeholders}`, rows.flat());
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
