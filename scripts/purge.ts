/**
 * `npm run purge`: removes, once, what the retention table allows to be removed
 * (packages/platform/src/retention/policy.ts; docs/OPERATIONS.md has it with the reasons):
 *
 * - each service's idempotency keys, visit traces and inbox rows of applied events past their
 *   periods, as every service process also does hourly;
 * - the access log's records past ACCESS_LOG_RETENTION_DAYS, oldest first, each chain's cut kept
 *   as an anchor (services/patient-management/src/db/access-log-purge.ts). It sets the log's
 *   append-only triggers aside for that, which only their owner may: DATABASE_URL must be the
 *   owner's, as for `npm run migrate` (the purge CronJob of deploy/k8s uses the same Secret);
 * - on this machine, base backups past BACKUP_RETENTION_DAYS (the newest is always kept), the WAL
 *   segments only they needed, and data folders a restore set aside that long ago.
 *
 * Never clinical records, attachments, the audit trail, the event log or dead letters. On the
 * profile the environment names (DATABASE_URL, or DATA_DIR's SQLite files). Progress on stderr
 * (a bar on a terminal, JSON lines otherwise), the summary last. Exit codes: 0 done, 1 failed.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { ConfigError, loadConfig, openDatabase, serviceMigrationSets, type Database, type PlatformTables, type ServiceConfig } from '@medical/platform';
import { createProgress, platformPurges, retentionDays, retentionMs } from '@medical/platform/operations';
import { purgeAccessLog, type ChainPurge } from '../services/patient-management/src/db/access-log-purge.ts';
import type { PatientManagementDatabase } from '../services/patient-management/src/db/schema.ts';
import { diagnosisService } from '../services/diagnosis/src/service.ts';
import { examinationService } from '../services/examination/src/service.ts';
import { interopService } from '../services/interop/src/service.ts';
import { purgeDelivered } from '../services/interop/src/db/deliveries.ts';
import type { InteropDatabase } from '../services/interop/src/db/schema.ts';
import { patientManagementService } from '../services/patient-management/src/service.ts';
import { receptionService } from '../services/reception/src/service.ts';
import { backupDirectory, listBackups, walSegmentOf } from './lib/backups.ts';

const services = [receptionService, diagnosisService, examinationService, patientManagementService, interopService()];
const env = process.env;
const progress = createProgress('purge');

type Removed = { what: string; count: number };

/** Opens a service's database as the purge's environment names it; none on the embedded profile before the service ever ran. */
async function withDatabase<DB>(definition: (typeof services)[number], work: (database: Database<DB>, config: ServiceConfig) => Promise<Removed[]>): Promise<Removed[]> {
  const config = loadConfig(definition.name, definition.defaultPort, { ...env, DATABASE_MIGRATIONS: 'at-start' });
  if (!config.postgres && !fs.existsSync(path.join(config.dataDir, `${config.serviceName}.sqlite`))) return [];
  const database = await openDatabase<DB>(config, serviceMigrationSets(definition.migrations), pino({ level: 'warn' }), definition.idSequences);
  try {
    return await work(database, config);
  } finally {
    await database.close();
  }
}

async function purgeService(definition: (typeof services)[number]): Promise<Removed[]> {
  const removed = await withDatabase<PlatformTables>(definition, async (database, config) => {
    const counts: Removed[] = [];
    for (const purge of platformPurges(database.db, config)) counts.push({ what: `${definition.name}: ${purge.what}`, count: await purge.run() });
    return counts;
  });
  if (definition.name === 'interop') {
    const days = retentionDays('interop-deliveries', env)!;
    const delivered = await withDatabase<InteropDatabase>(definition, async (database) => [
      { what: `${definition.name}: delivered messages older than ${days} days`, count: await purgeDelivered(database.db, new Date(Date.now() - retentionMs('interop-deliveries', env)).toISOString()) },
    ]);
    return [...removed, ...delivered];
  }
  if (definition.name !== patientManagementService.name) return removed;
  const days = retentionDays('access-log', env)!;
  return [
    ...removed,
    ...(await withDatabase<PatientManagementDatabase>(definition, async (database) => {
      const cuts: ChainPurge[] = await purgeAccessLog(database, new Date(Date.now() - retentionMs('access-log', env)));
      return [{ what: `${definition.name}: access log records older than ${days} days (${cuts.length} chains cut, anchors kept)`, count: cuts.reduce((sum, c) => sum + c.records, 0) }];
    })),
  ];
}

/** The local backups past BACKUP_RETENTION_DAYS, the WAL before the oldest backup kept, and old set-aside data folders. */
function purgeBackups(): Removed[] {
  const backups = backupDirectory(env);
  const all = listBackups(backups);
  if (all.length === 0) return [];
  const days = retentionDays('backups', env)!;
  const cutoff = Date.now() - retentionMs('backups', env);
  const newest = all.at(-1)!;
  const expired = all.filter((b) => b !== newest && Date.parse(b.finishedAt) < cutoff);
  for (const backup of expired) fs.rmSync(path.join(backups, 'base', backup.id), { recursive: true, force: true });
  const oldestKept = all.find((b) => !expired.includes(b))!;
  // Segments (and .backup labels) before the oldest kept backup's first segment, whatever their
  // timeline, as pg_archivecleanup compares them; timeline history files are always kept.
  const firstNeeded = walSegmentOf(oldestKept.database.timeline, oldestKept.database.startLsn).slice(8);
  const wal = path.join(backups, 'wal');
  const segments = fs.existsSync(wal) ? fs.readdirSync(wal).filter((name) => /^[0-9A-F]{24}(\.[0-9A-F]{8}\.backup)?$/.test(name) && name.slice(8, 24) < firstNeeded) : [];
  for (const name of segments) fs.rmSync(path.join(wal, name), { force: true });
  const setAside = setAsideFolders(backups, cutoff);
  return [
    { what: `base backups older than ${days} days (kept ${all.length - expired.length}, the newest ${newest.id})`, count: expired.length },
    { what: 'archived WAL segments no kept backup needs', count: segments.length },
    { what: `data folders a restore set aside more than ${days} days ago`, count: setAside },
  ];
}

/** The data folders restores set aside (their reports name them), removed once past the retention. */
function setAsideFolders(backups: string, cutoff: number): number {
  const reports = path.join(backups, 'restores');
  if (!fs.existsSync(reports)) return 0;
  let removed = 0;
  for (const file of fs.readdirSync(reports).filter((f) => f.endsWith('.json'))) {
    const stat = fs.statSync(path.join(reports, file));
    const report = JSON.parse(fs.readFileSync(path.join(reports, file), 'utf8')) as { postgres?: { setAside?: string } };
    const folder = report.postgres?.setAside;
    if (stat.mtimeMs < cutoff && folder && fs.existsSync(folder)) {
      fs.rmSync(folder, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

async function main(): Promise<void> {
  const started = Date.now();
  const removed: Removed[] = [];
  progress.step('purging each service\'s tables past their retention', 'services');
  for (const [index, service] of services.entries()) {
    removed.push(...(await purgeService(service)));
    progress.update(index + 1, services.length);
  }
  progress.step('purging the local backups past their retention');
  removed.push(...purgeBackups());
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  progress.finish({ removed, seconds }, [`purged in ${seconds} s:`, ...removed.map((r) => `  ${r.count} ${r.what}`)]);
}

try {
  await main();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `purge failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
