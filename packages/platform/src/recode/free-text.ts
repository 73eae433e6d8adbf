import { sql } from 'kysely';
import pino from 'pino';
import { openDatabase } from '../db/open-database.ts';
import type { MigrationDb } from '../db/database.ts';
import { loadConfig } from '../service/config.ts';
import { serviceMigrationSets } from '../service/platform-migrations.ts';
import type { ServiceDefinition } from '../service/service.ts';
import type { Catalog } from '../reference/catalog.ts';
import type { CodedColumn } from '../reference/coded-column.ts';

/** What `npm run catalog:migrate` did (or, dry, would do) to one column. */
export type RecodeReport = {
  service: string;
  column: string;
  /** Each free text the catalog knows, the code it became, and on how many rows. */
  rewritten: Array<{ from: string; to: string; rows: number }>;
  /** Each free text the catalog does not know: left as it is, for the hospital to add an alias and run again. */
  unmapped: Array<{ value: string; rows: number }>;
};

type Definition = Pick<ServiceDefinition<unknown>, 'name' | 'defaultPort' | 'migrations' | 'idSequences' | 'codedColumns'>;

/**
 * Rewrites the free text of a service's coded columns (CodedColumn) to the codes the catalog's
 * names and aliases say it meant ("내과" → internal-medicine, "X-ray" → CHEST_XRAY), one
 * transaction per service, as the environment's DATABASE_URL (the schemas' owner, as for
 * `npm run migrate`) or the SQLite file under DATA_DIR. A value already a code is left; one the
 * catalog does not know is left and reported. Running it again changes nothing more.
 */
export async function recodeFreeText(definition: Definition, env: Record<string, string | undefined>, catalog: Catalog, { dryRun }: { dryRun: boolean }): Promise<RecodeReport[]> {
  const columns = definition.codedColumns ?? [];
  if (columns.length === 0) return [];
  const config = loadConfig(definition.name, definition.defaultPort, { ...env, DATABASE_MIGRATIONS: 'at-start' });
  const logger = pino({ level: config.logLevel, base: { service: `${definition.name}-catalog-migrate` } });
  const database = await openDatabase(config, serviceMigrationSets(definition.migrations), logger, definition.idSequences);
  try {
    return await database.transaction(async (trx) => {
      const db = trx as unknown as MigrationDb;
      const reports: RecodeReport[] = [];
      for (const coded of columns) reports.push(await recodeColumn(db, definition.name, coded, catalog, dryRun));
      return reports;
    });
  } finally {
    await database.close();
  }
}

async function recodeColumn(db: MigrationDb, service: string, { table, column, codes }: CodedColumn, catalog: Catalog, dryRun: boolean): Promise<RecodeReport> {
  const isCode = codes === 'department' ? (value: string) => catalog.has(value) : (value: string) => catalog.examination(value) !== undefined;
  const codeOf = codes === 'department' ? catalog.departmentCodeOf : catalog.examinationCodeOf;
  const { rows } = await sql<{ value: string; rows: number | string }>`
    select ${sql.ref(column)} as value, count(*) as rows from ${sql.table(table)}
    where ${sql.ref(column)} is not null group by ${sql.ref(column)} order by ${sql.ref(column)}`.execute(db);
  const report: RecodeReport = { service, column: `${table}.${column}`, rewritten: [], unmapped: [] };
  for (const { value, rows: count } of rows) {
    if (isCode(value)) continue;
    const code = codeOf(value);
    if (code === undefined) {
      report.unmapped.push({ value, rows: Number(count) });
      continue;
    }
    if (!dryRun) await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${code} where ${sql.ref(column)} = ${value}`.execute(db);
    report.rewritten.push({ from: value, to: code, rows: Number(count) });
  }
  return report;
}

/** The report as the operator reads it: one line per rewritten or unmapped value. */
export function formatRecodeReports(reports: readonly RecodeReport[], dryRun: boolean): string {
  const lines: string[] = [];
  for (const report of reports) {
    const where = `${report.service} ${report.column}`;
    if (report.rewritten.length === 0 && report.unmapped.length === 0) lines.push(`${where}: every value is a code`);
    for (const { from, to, rows } of report.rewritten) lines.push(`${where}: "${from}" → ${to} (${rows} row${rows === 1 ? '' : 's'}${dryRun ? ', not written: --dry-run' : ''})`);
    for (const { value, rows } of report.unmapped) lines.push(`${where}: "${value}" is no code and no alias of the catalog: left (${rows} row${rows === 1 ? '' : 's'})`);
  }
  return lines.join('\n');
}
