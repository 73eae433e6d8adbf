/**
 * `npm run restore -- --to <time>`: point-in-time recovery of the production profile's data on
 * this machine, from the backups of `npm run backup`, with every service stopped:
 *
 * 1. the local PostgreSQL is recovered to <time> (ISO 8601 with its offset, e.g.
 *    2026-12-06T09:30:00+09:00): the newest base backup finished before it, then the archived WAL
 *    up to it (infra/postgres/restore.sh). The data folder as it was is set aside, never deleted;
 * 2. the attachment files the restored rows name and the folder lacks are put back from the
 *    backups' store; files no restored row names are reported and left;
 * 3. the system is made consistent with the event log, which was not restored
 *    (platform restore/reconcile.ts): each service resumes from the positions its database stored
 *    and applies again the events still held by their producers; the events committed after <time>
 *    are set aside as dead letters of each consumer, for a person to decide (`npm run dead-letters`);
 *    and every id sequence moves on to a fresh block, so no id is ever handed out twice.
 *
 * Options: --backup <id> to use that base backup; --id-gap <n> for the id blocks (default 100000);
 * --reconcile-only for step 3 alone, after PostgreSQL was recovered by other means (CloudNativePG's
 * recovery on Kubernetes: deploy/k8s/restore, docs/OPERATIONS.md).
 * The report is kept in <backups>/restores/<time>.json. Exit codes: 0 done, 1 failed, 2 bad usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { Kysely } from 'kysely';
import { ConfigError, loadConfig, openDatabase, openTransport, serviceMigrationSets } from '@medical/platform';
import { createProgress, DEFAULT_RESTORE_ID_GAP, migrateService, readKafkaTopic, reconcileAfterRestore } from '@medical/platform/operations';
import { restoreAttachments } from '../services/examination/src/attachments/backup.ts';
import { loadAttachmentSettings } from '../services/examination/src/attachments/settings.ts';
import type { ExaminationDatabase } from '../services/examination/src/db/schema.ts';
import { diagnosisService } from '../services/diagnosis/src/service.ts';
import { examinationService } from '../services/examination/src/service.ts';
import { interopService } from '../services/interop/src/service.ts';
import { patientManagementService } from '../services/patient-management/src/service.ts';
import { receptionService } from '../services/reception/src/service.ts';
import { attachmentStore, backupDirectory, baseFolder, listBackups, runInfraScript, type BackupRecord } from './lib/backups.ts';

const services = [receptionService, diagnosisService, examinationService, patientManagementService, interopService()];
const env = process.env;
const progress = createProgress('restore');

class UsageError extends Error {}

/** An ISO 8601 time with its offset: a time without one would be read in this machine's zone, which a hospital's staff did not mean. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseOptions(): { to: Date; backup?: string; idGap: number; reconcileOnly: boolean } {
  const { values } = parseArgs({ options: { to: { type: 'string' }, backup: { type: 'string' }, 'id-gap': { type: 'string' }, 'reconcile-only': { type: 'boolean' } }, allowPositionals: false });
  if (!values.to) throw new UsageError('usage: npm run restore -- --to <ISO 8601 time with offset, e.g. 2026-12-06T09:30:00+09:00> [--backup <id>] [--id-gap <n>] [--reconcile-only]');
  if (!ISO_WITH_OFFSET.test(values.to) || Number.isNaN(Date.parse(values.to))) {
    throw new UsageError(`--to must be an ISO 8601 time with its offset (2026-12-06T09:30:00+09:00 or ...Z), not "${values.to}"`);
  }
  const to = new Date(values.to);
  if (to.getTime() > Date.now()) throw new UsageError(`--to ${values.to} is in the future`);
  const idGap = values['id-gap'] === undefined ? DEFAULT_RESTORE_ID_GAP : Number(values['id-gap']);
  if (!Number.isSafeInteger(idGap) || idGap < 1) throw new UsageError(`--id-gap must be a positive integer, not "${values['id-gap']}"`);
  return { to, ...(values.backup ? { backup: values.backup } : {}), idGap, reconcileOnly: values['reconcile-only'] === true };
}

/** The base backup to start from: the one named, or the newest that finished before the target. */
function chooseBackup(backups: string, to: Date, named?: string): BackupRecord {
  const all = listBackups(backups);
  if (all.length === 0) throw new UsageError(`no backup in ${backups}: take one with npm run backup`);
  const usable = all.filter((b) => Date.parse(b.finishedAt) <= to.getTime());
  const chosen = named ? usable.find((b) => b.id === named) : usable.at(-1);
  if (chosen) return chosen;
  if (named) throw new UsageError(`backup ${named} is not one that finished before ${to.toISOString()} (${all.map((b) => `${b.id} finished ${b.finishedAt}`).join('; ')})`);
  throw new UsageError(`no backup finished before ${to.toISOString()}: the earliest finished at ${all[0]!.finishedAt}`);
}

/** Refuses while any service consumes: a restore under running services would race them. */
async function ensureStopped(): Promise<void> {
  const logger = pino({ level: 'warn' });
  for (const service of services) {
    const config = loadConfig(service.name, service.defaultPort, env);
    if (!config.postgres || !config.kafka) throw new ConfigError('npm run restore restores the production profile: set DATABASE_URL and KAFKA_BROKERS as the services have them');
    const transport = await openTransport(config, logger);
    try {
      if (await transport.groupIsActive(config.consumerGroup, config.topic)) throw new UsageError(`${service.name} is running (its consumer group is active): stop every service before a restore`);
    } finally {
      await transport.close();
    }
  }
}

async function putBackAttachments(backups: string): Promise<Awaited<ReturnType<typeof restoreAttachments>>> {
  const config = loadConfig(examinationService.name, examinationService.defaultPort, { ...env, DATABASE_MIGRATIONS: 'at-start' });
  const { directory } = loadAttachmentSettings(env, config.dataDir);
  const database = await openDatabase<ExaminationDatabase>(config, serviceMigrationSets(examinationService.migrations), pino({ level: 'warn' }), examinationService.idSequences);
  try {
    return await restoreAttachments(database.db as Kysely<ExaminationDatabase>, directory, attachmentStore(backups), (done, total) => progress.update(done, total));
  } finally {
    await database.close();
  }
}

/** Steps 1 and 2: PostgreSQL recovered to the target from this machine's backups, and the attachment files. */
async function recoverLocally(backups: string, to: Date, backup: BackupRecord) {
  progress.step(`recovering PostgreSQL to ${to.toISOString()} from backup ${backup.id}`);
  const recovered = await runInfraScript('restore.sh', [path.join(baseFolder(backups, backup.id), 'data'), to.toISOString()], { ...env, INFRA_BACKUP_DIR: backups }, progress);
  progress.step('putting back the attachment files', 'files');
  return { backup: backup.id, postgres: recovered, attachments: await putBackAttachments(backups) };
}

async function main(): Promise<void> {
  const { to, backup: named, idGap, reconcileOnly } = parseOptions();
  const target = to.toISOString();
  const backups = backupDirectory(env);
  const started = Date.now();
  // Chosen before anything is stopped: no usable backup is a usage error, not a half-done restore.
  const backup = reconcileOnly ? undefined : chooseBackup(backups, to, named);

  progress.step('checking that every service is stopped');
  await ensureStopped();
  const local = backup ? await recoverLocally(backups, to, backup) : undefined;

  // The restored schemas may predate this release's migrations: migrate them (and grant the
  // services' role, DATABASE_SERVICE_ROLE, what it may do on them) as npm run migrate would.
  progress.step('migrating the restored schemas to this release');
  for (const service of services) progress.note(await migrateService(service, env));

  progress.step('reconciling the services with the event log');
  const report = await reconcileAfterRestore({
    services,
    env,
    restoredTo: target,
    idGap,
    // The whole event log: minutes for years of a hospital's visits, not the reader's default 30 s.
    readEventLog: (config) =>
      readKafkaTopic(config.kafka!.brokers, config.topic, { clientId: `restore-${process.pid}`, timeoutMs: 30 * 60_000, ...(config.kafka!.tls ? { tls: config.kafka!.tls } : {}) }),
    onStep: (step, done, total) => (total > 1 ? progress.update(done, total) : undefined),
  });

  const full = { ...report, ...local, seconds: Math.round((Date.now() - started) / 100) / 10 };
  // Beside the backups on this machine; a Job's report is its log (the summary line).
  const reportFile = local ? path.join(backups, 'restores', `${target.replace(/[-:]/g, '')}.json`) : undefined;
  if (reportFile) {
    fs.mkdirSync(path.dirname(reportFile), { recursive: true });
    fs.writeFileSync(reportFile, `${JSON.stringify(full, null, 2)}\n`);
  }
  progress.finish({ ...full, ...(reportFile ? { reportFile } : {}) }, [
    local ? `restored to ${target} from backup ${local.backup} in ${full.seconds} s (report: ${reportFile})` : `reconciled with the event log after a restore to ${target}, in ${full.seconds} s`,
    ...(local
      ? [
          `  PostgreSQL: timeline ${String(local.postgres.timeline)}; the data as it was is kept at ${String(local.postgres.setAside)}`,
          `  attachments: ${local.attachments.named} named, ${local.attachments.putBack} put back, ${local.attachments.missing.length} missing, ${local.attachments.unnamed.length} files of the lost interval left unnamed`,
        ]
      : []),
    `  event log: ${report.eventsRead} events read, ${report.eventsAppliedAgain} to apply again, ${report.eventsLost} lost with the interval after ${target}`,
    `  set aside for a person to decide: ${report.setAside.length} dead letters (npm run dead-letters)`,
    ...report.idSequences.map((s) => `  ${s.service} ${s.sequence}: next id ${s.nextId} (restored at ${s.restored}, highest in the log ${s.highestInLog})`),
    '  start the services now.',
  ]);
}

try {
  await main();
} catch (error) {
  console.error(`restore failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof UsageError ? 2 : 1);
}
