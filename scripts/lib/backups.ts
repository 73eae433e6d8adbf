import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Progress } from '@medical/platform/operations';

/**
 * Where `npm run backup` keeps its backups and what each one is: the folder layout that
 * scripts/backup.ts writes and scripts/restore.ts reads, beside infra/postgres (common.sh), which
 * resolves the same folder for the server's WAL archive:
 *
 *   <backups>/base/<id>/data              the base backup (pg_basebackup, plain, with its WAL)
 *   <backups>/base/<id>/backup.json       what it is: times, WAL range, attachments
 *   <backups>/base/<id>/attachments.json  which attachment file was where
 *   <backups>/attachments/<sh>/<sha256>   each attachment file once, by its digest
 *   <backups>/wal/                        the WAL archive (the server's archive_command)
 *   <backups>/restores/<time>.json        the report of each restore
 */

type Env = Record<string, string | undefined>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** INFRA_BACKUP_DIR, else INFRA_STATE_DIR/backups, else .infra/backups in the checkout (as infra/postgres/common.sh). */
export function backupDirectory(env: Env): string {
  const state = env.INFRA_STATE_DIR?.trim() ? path.resolve(env.INFRA_STATE_DIR) : path.join(root, '.infra');
  return path.resolve(env.INFRA_BACKUP_DIR?.trim() || path.join(state, 'backups'));
}

export const infraScript = (name: string) => path.join(root, 'infra', 'postgres', name);

export type BackupRecord = {
  id: string;
  startedAt: string;
  /** The base backup is consistent from here on: a restore may aim at any later time. */
  finishedAt: string;
  database: { kB: number; timeline: number; startLsn: string; endLsn: string };
  attachments: { files: number; newInStore: number; bytes: number };
};

export const baseFolder = (backups: string, id: string) => path.join(backups, 'base', id);
export const attachmentStore = (backups: string) => path.join(backups, 'attachments');

/** The base backups there are, oldest first; a folder without its backup.json (a backup that failed) is not one. */
export function listBackups(backups: string): BackupRecord[] {
  const base = path.join(backups, 'base');
  if (!fs.existsSync(base)) return [];
  return fs
    .readdirSync(base)
    .map((id) => path.join(base, id, 'backup.json'))
    .filter((file) => fs.existsSync(file))
    .map((file) => JSON.parse(fs.readFileSync(file, 'utf8')) as BackupRecord)
    .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/**
 * The name of the WAL segment an LSN ("0/2000028") falls in, on a timeline, with PostgreSQL's
 * default 16 MiB segments: timeline, then the LSN's high word, then its segment within that word.
 */
export function walSegmentOf(timeline: number, lsn: string): string {
  const [high, low] = lsn.split('/').map((part) => Number.parseInt(part, 16));
  if (!Number.isInteger(high) || !Number.isInteger(low)) throw new Error(`not an LSN: ${lsn}`);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(high!)}${hex(Math.floor(low! / 0x1000000))}`;
}

/** A backup's id: the UTC time it started, to the second (20261206T154727Z). */
export function backupId(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Runs one of infra/postgres's scripts with `env`: its progress lines on stderr shown as they come
 * (pg_basebackup's counts as the step's, the `[infra:...]` lines as notes); resolves with the JSON
 * of its stdout's last line, or fails with the end of its stderr.
 */
export function runInfraScript(script: string, args: string[], env: Env, progress: Progress): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [infraScript(script), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    const tail: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split(/[\r\n]/);
      pending = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.trim())) {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        // pg_basebackup --progress: "12345/30482 kB (40%), 0/1 tablespace"
        const counts = /^(\d+)\/(\d+) kB \(\d+%\)/.exec(line);
        if (counts) progress.update(Number(counts[1]), Number(counts[2]));
        else if (line.startsWith('[infra:')) progress.note(line.replace(/^\[infra:[a-z]+\] /, ''));
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${script} failed (exit ${code}):\n${tail.join('\n')}`));
      const last = stdout.trim().split('\n').pop() ?? '{}';
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`${script} printed no result: ${last}`));
      }
    });
  });
}
