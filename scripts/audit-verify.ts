/**
 * `npm run audit:verify [-- --json]`: checks the hash chain of every service's audit trail
 * (`audit_log`) and of the access log (patient-management's `access_log`), on the profile the
 * environment names, the way the services find their databases: DATABASE_URL (PostgreSQL, each
 * service's schema named after it) or DATA_DIR (the SQLite files).
 * It reads only. For each chain it prints the rows checked and the head (the last row and its
 * hash: keep it, a later head must continue from it), or the first row that was changed, removed
 * or inserted. Exit codes: 0 every chain intact, 1 a chain broken or a database not found,
 * 2 wrong usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Selectable } from 'kysely';
import pg from 'pg';
import { ConfigError, loadConfig, type ServiceConfig } from '@medical/platform';
import { auditChainRow, verifyChain, type ChainRow, type ChainVerdict } from '@medical/platform/operations';
import { accessChainRows } from '../services/patient-management/src/db/access-log.ts';
import { anchorsOf, type ChainAnchor } from '../services/patient-management/src/db/access-log-purge.ts';
import type { AccessLogPurgeRow, AccessLogRow, AccessSubjectRow } from '../services/patient-management/src/db/schema.ts';
import { BACKEND_SERVICES } from './lib/processes.ts';

const USAGE = `usage: npm run audit:verify [-- --json]
Checks the hash chains of every service's audit_log and of patient-management's access_log.
Uses the services' settings: DATABASE_URL (PostgreSQL) or DATA_DIR (the embedded profile's SQLite files).`;

type Rows = (table: string, order: string) => Promise<Array<Record<string, unknown>>>;
type Chain = { service: string; table: 'audit_log' | 'access_log' };
/** One chain checked: a table's only one, or one of the access log's (one per partition of its topic). */
type Checked = Chain & { chain?: number; purged?: ChainAnchor } & ({ verdict: ChainVerdict } | { missing: string });

const chains: Chain[] = [
  ...BACKEND_SERVICES.map((service) => ({ service, table: 'audit_log' as const })),
  { service: 'patient-management', table: 'access_log' },
];

/** A reader of one service's tables, read-only, or why there is none. */
async function openReader(config: ServiceConfig): Promise<{ rows: Rows; close(): Promise<void> } | { missing: string }> {
  if (config.postgres) {
    const client = new pg.Client({ connectionString: config.postgres.url });
    await client.connect();
    const schema = config.postgres.schema;
    const found = await client.query('select 1 from information_schema.schemata where schema_name = $1', [schema]);
    if (found.rowCount === 0) {
      await client.end();
      return { missing: `no schema "${schema}" in the database` };
    }
    await client.query('begin transaction read only');
    return {
      rows: async (table, order) => (await client.query(`select * from "${schema}"."${table}" order by ${order}`)).rows,
      close: async () => {
        await client.query('rollback');
        await client.end();
      },
    };
  }
  const file = path.join(config.dataDir, `${config.serviceName}.sqlite`);
  if (!fs.existsSync(file)) return { missing: `no database file ${file}` };
  const database = new DatabaseSync(file, { readOnly: true });
  return {
    rows: async (table, order) => database.prepare(`select * from ${table} order by ${order}`).all() as Array<Record<string, unknown>>,
    close: async () => database.close(),
  };
}

/** A table's chains: the audit trail's one, or the access log's, by number, each with its purge anchor if it has one. */
async function chainsOf(rows: Rows, table: Chain['table']): Promise<Map<number | undefined, { rows: ChainRow[]; anchor?: ChainAnchor }>> {
  if (table === 'audit_log') return new Map([[undefined, { rows: (await rows('audit_log', 'id')).map((row) => auditChainRow(row as Parameters<typeof auditChainRow>[0])) }]]);
  const chains = accessChainRows((await rows('access_log', 'seq')) as Array<Selectable<AccessLogRow>>, (await rows('access_log_subjects', 'id')) as Array<Selectable<AccessSubjectRow>>);
  // Read last: a database from before the purges (migration 0014) has no such table, and on
  // PostgreSQL the failed read ends the transaction the reads above ran in.
  const anchors = anchorsOf((await rows('access_log_purges', 'id').catch(() => [])) as Array<Selectable<AccessLogPurgeRow>>);
  const all = new Set([...chains.keys(), ...anchors.keys()]);
  return new Map([...all].map((chain) => [chain, { rows: chains.get(chain) ?? [], ...(anchors.has(chain) ? { anchor: anchors.get(chain)! } : {}) }]));
}

async function check(chain: Chain): Promise<Checked[]> {
  const reader = await openReader(loadConfig(chain.service, 0, process.env));
  if ('missing' in reader) return [{ ...chain, missing: reader.missing }];
  try {
    const chains = await chainsOf(reader.rows, chain.table);
    // An access log with no record yet has no chain: say it is empty rather than nothing.
    if (chains.size === 0) return [{ ...chain, verdict: verifyChain([]) }];
    return [...chains]
      .sort(([a], [b]) => (a ?? 0) - (b ?? 0))
      .map(([number, { rows, anchor }]) => ({
        ...chain,
        ...(number !== undefined ? { chain: number } : {}),
        ...(anchor ? { purged: anchor } : {}),
        verdict: verifyChain(rows, anchor?.throughHash),
      }));
  } finally {
    await reader.close();
  }
}

function describe(checked: Checked): string {
  const name = `${checked.service} ${checked.table}${checked.chain !== undefined ? ` chain ${checked.chain}` : ''}`;
  if ('missing' in checked) return `${name}: NOT CHECKED, ${checked.missing}`;
  const { rows, head, broken } = checked.verdict;
  if (broken) return `${name}: BROKEN at row ${broken.rowId} (${broken.kind}): ${broken.detail}`;
  const purged = checked.purged ? `; ${checked.purged.records} older rows purged by retention, through row ${checked.purged.throughSeq}` : '';
  return `${name}: intact, ${rows} rows${purged}${head ? `; head row ${head.rowId} ${head.hash}` : ''}`;
}

const args = process.argv.slice(2);
if (args.some((a) => a === '--help' || a === '-h')) {
  console.log(USAGE);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--json');
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown[0]}`);
  console.error(USAGE);
  process.exit(2);
}

try {
  const results: Checked[] = [];
  for (const chain of chains) results.push(...(await check(chain)));
  if (args.includes('--json')) console.log(JSON.stringify(results, null, 2));
  else for (const result of results) console.log(describe(result));
  process.exit(results.every((r) => 'verdict' in r && !r.verdict.broken) ? 0 : 1);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `audit:verify failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
