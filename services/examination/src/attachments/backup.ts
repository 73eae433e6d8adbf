import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import { ATTACHMENT_NAME_PATTERN } from '@medical/contracts';
import type { ExaminationDatabase } from '../db/schema.ts';

/**
 * The attachments' part of a backup and a restore (`npm run backup`, `npm run restore`). A stored
 * attachment is never changed or replaced (store.ts) and its row names its SHA-256, so the backup
 * keeps each file once, by its digest, in a store every base backup shares
 * (<backups>/attachments/<first two hex digits>/<sha256>), and each base backup lists which file
 * was where (attachments.json). A restore puts back every file a restored row names and the folder
 * lacks, checked against the row's digest; the files no restored row names (uploaded after the
 * restore point) are left where they are, never served, and reported.
 */

export type BackedUpFile = { path: string; sha256: string; size: number };
export type AttachmentsBackup = { files: BackedUpFile[]; newInStore: number; bytes: number };
export type AttachmentsRestore = { named: number; putBack: number; missing: string[]; unnamed: string[] };

const namePattern = new RegExp(ATTACHMENT_NAME_PATTERN);

/** Every stored attachment file under `directory`: <examination id>/<name>, temporary uploads left out. */
export async function attachmentFiles(directory: string): Promise<string[]> {
  if (!fs.existsSync(directory)) return [];
  const files: string[] = [];
  for (const folder of await fsp.readdir(directory, { withFileTypes: true })) {
    if (!folder.isDirectory() || !/^[1-9][0-9]*$/.test(folder.name)) continue;
    for (const file of await fsp.readdir(path.join(directory, folder.name), { withFileTypes: true })) {
      if (file.isFile() && namePattern.test(file.name)) files.push(`${folder.name}/${file.name}`);
    }
  }
  return files.sort();
}

const storedPath = (store: string, sha256: string) => path.join(store, sha256.slice(0, 2), sha256);

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Copies `from` to `to` so that `to` is either absent or whole: a temporary name, flushed, renamed. */
async function copyWhole(from: string, to: string): Promise<void> {
  await fsp.mkdir(path.dirname(to), { recursive: true });
  const partial = `${to}.partial`;
  await fsp.copyFile(from, partial);
  const handle = await fsp.open(partial, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(partial, to);
}

/** Backs up every attachment file into the shared store; `onFile` is told after each one. */
export async function backUpAttachments(directory: string, store: string, onFile: (done: number, total: number) => void = () => {}): Promise<AttachmentsBackup> {
  const paths = await attachmentFiles(directory);
  const files: BackedUpFile[] = [];
  let newInStore = 0;
  let bytes = 0;
  for (const [index, relative] of paths.entries()) {
    const source = path.join(directory, relative);
    const sha256 = await sha256Of(source);
    const { size } = await fsp.stat(source);
    const target = storedPath(store, sha256);
    if (!fs.existsSync(target)) {
      await copyWhole(source, target);
      newInStore += 1;
      bytes += size;
    }
    files.push({ path: relative, sha256, size });
    onFile(index + 1, paths.length);
  }
  return { files, newInStore, bytes };
}

/** Puts back every file a restored attachment row names and the folder lacks, from the store. */
export async function restoreAttachments(
  db: Kysely<ExaminationDatabase>,
  directory: string,
  store: string,
  onFile: (done: number, total: number) => void = () => {},
): Promise<AttachmentsRestore> {
  const rows = await db.selectFrom('attachments').select(['examination_id', 'name', 'sha256']).orderBy('examination_id').orderBy('name').execute();
  const named = new Set<string>();
  const missing: string[] = [];
  let putBack = 0;
  for (const [index, row] of rows.entries()) {
    const relative = `${row.examination_id}/${row.name}`;
    named.add(relative);
    const target = path.join(directory, relative);
    if (!fs.existsSync(target)) {
      const source = storedPath(store, row.sha256);
      if (fs.existsSync(source) && (await sha256Of(source)) === row.sha256) {
        await copyWhole(source, target);
        putBack += 1;
      } else missing.push(relative);
    }
    onFile(index + 1, rows.length);
  }
  const unnamed = (await attachmentFiles(directory)).filter((file) => !named.has(file));
  return { named: rows.length, putBack, missing, unnamed };
}
