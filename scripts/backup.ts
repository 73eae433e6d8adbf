/**
 * `npm run backup`: a backup of the production profile's data on this machine, for
 * point-in-time recovery with `npm run restore -- --to <time>`:
 *
 * 1. a base backup of the local PostgreSQL (the server `npm run infra:up` started), with the WAL
 *    it needs, checked against its manifest (infra/postgres/backup.sh: pg_basebackup,
 *    pg_verifybackup). From the first backup on, the server archives every finished WAL segment,
 *    so a restore can aim at any moment after this backup finished;
 * 2. the examination attachments (ATTACHMENTS_DIR, default DATA_DIR/attachments), each file once
 *    by its SHA-256 in a store all backups share.
 *
 * Into INFRA_BACKUP_DIR (default .infra/backups; scripts/lib/backups.ts has the layout). Progress
 * on stderr (a bar on a terminal, JSON lines otherwise); the summary last. Exit codes: 0 done,
 * 1 failed (the half-made backup folder is kept, without its backup.json, so it is never used).
 */
import fs from 'node:fs';
import path from 'node:path';
import { backUpAttachments } from '../services/examination/src/attachments/backup.ts';
import { loadAttachmentSettings } from '../services/examination/src/attachments/settings.ts';
import { createProgress } from '@medical/platform/operations';
import { attachmentStore, backupDirectory, backupId, baseFolder, runInfraScript, type BackupRecord } from './lib/backups.ts';

const env = process.env;
const progress = createProgress('backup');

type WalRange = { Timeline: number; 'Start-LSN': string; 'End-LSN': string };

async function main(): Promise<void> {
  const backups = backupDirectory(env);
  const startedAt = new Date();
  const id = backupId(startedAt);
  const folder = baseFolder(backups, id);

  progress.step('base backup of PostgreSQL', 'kB');
  await runInfraScript('backup.sh', [folder], { ...env, INFRA_BACKUP_DIR: backups }, progress);
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'data', 'backup_manifest'), 'utf8')) as { 'WAL-Ranges': WalRange[]; Files: Array<{ Size: number }> };
  const wal = manifest['WAL-Ranges'][0]!;
  const kB = Math.round(manifest.Files.reduce((sum, f) => sum + f.Size, 0) / 1024);
  const finishedAt = new Date().toISOString();

  progress.step('attachments', 'files');
  const { directory } = loadAttachmentSettings(env, path.resolve(env.DATA_DIR?.trim() || './data'));
  const attachments = await backUpAttachments(directory, attachmentStore(backups), (done, total) => progress.update(done, total));
  fs.writeFileSync(path.join(folder, 'attachments.json'), `${JSON.stringify({ directory, files: attachments.files }, null, 2)}\n`);

  const record: BackupRecord = {
    id,
    startedAt: startedAt.toISOString(),
    finishedAt,
    database: { kB, timeline: wal.Timeline, startLsn: wal['Start-LSN'], endLsn: wal['End-LSN'] },
    attachments: { files: attachments.files.length, newInStore: attachments.newInStore, bytes: attachments.bytes },
  };
  // Written last: a backup is listed (and used by a restore) only once it is whole.
  fs.writeFileSync(path.join(folder, 'backup.json'), `${JSON.stringify(record, null, 2)}\n`);
  const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(1);
  progress.finish({ ...record, folder, seconds: Number(seconds) }, [
    `backup ${id} in ${seconds} s: ${folder}`,
    `  database: ${(kB / 1024).toFixed(1)} MB, timeline ${wal.Timeline}, WAL ${wal['Start-LSN']} to ${wal['End-LSN']}; WAL archived from here on`,
    `  attachments: ${attachments.files.length} files, ${attachments.newInStore} new in the store (${attachments.bytes} bytes)`,
    `  restore to any time after ${finishedAt} with: npm run restore -- --to <time>`,
  ]);
  console.log(JSON.stringify({ id, folder, finishedAt }));
}

try {
  await main();
} catch (error) {
  console.error(`backup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
