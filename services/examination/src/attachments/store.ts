import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { ATTACHMENT_NAME_PATTERN } from '@medical/contracts';
import { SIGNATURE_BYTES } from './files.ts';

/**
 * The attachments' bytes, as files under one directory that every replica of the service shares
 * (a ReadWriteMany volume in Kubernetes): ATTACHMENTS_DIR/<examination id>/<name>, where the name
 * is the server's (32 random hex digits and the type's extension), never the uploader's.
 *
 * The list of an examination's attachments is the `attachments` table, not a directory listing
 * or sidecar files: the row is written in the same transaction that locks the examination and
 * checks its status, the table answers lists with paging and order at once from any replica, and
 * (examination, sha256) is unique there, so two replicas receiving the same bytes keep one. The
 * file and the row cannot be in one transaction, so the file is always complete and in place
 * before its row commits, and removed if the row does not commit: a crash in between leaves a
 * file no row names (invisible, and harmless), never a row whose file is missing.
 *
 * A file is written to a temporary name in its final directory (same file system), flushed to
 * disk (fsync), and only then renamed to its name, and the directory flushed: a reader on any
 * replica sees either no file or the whole of it. Names are 128 random bits, so two uploads
 * never write the same name, and a stored file is never replaced or changed.
 */

/** What stage() wrote: a complete temporary file, with what the upload needs to know about it. */
export type StagedFile = {
  examinationId: number;
  tempPath: string;
  size: number;
  sha256: string;
  /** The first bytes, for the type's signature. */
  head: Buffer;
};

const TEMP_PREFIX = '.upload-';
const TEMP_SUFFIX = '.tmp';
/** Temporary files older than this are left-overs of a crashed upload: swept at start. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
const namePattern = new RegExp(ATTACHMENT_NAME_PATTERN);

export class AttachmentStore {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = directory;
  }

  private folderOf(examinationId: number): string {
    if (!Number.isSafeInteger(examinationId) || examinationId < 1) throw new Error(`not an examination id: ${examinationId}`);
    return path.join(this.directory, String(examinationId));
  }

  /** The path of a stored attachment. The routes' schemas already refuse other names; this refuses them again. */
  pathOf(examinationId: number, name: string): string {
    if (!namePattern.test(name)) throw new Error(`not an attachment name: ${JSON.stringify(name)}`);
    return path.join(this.folderOf(examinationId), name);
  }

  /** A new server-generated name for a file of this extension. */
  static newName(extension: string): string {
    return `${randomBytes(16).toString('hex')}.${extension}`;
  }

  /** Creates the directory at start, so a volume that is missing or read-only fails the start, not the first upload. */
  async open(): Promise<void> {
    await fsp.mkdir(this.directory, { recursive: true, mode: 0o750 });
    await fsp.access(this.directory, fs.constants.W_OK);
  }

  /**
   * Writes `source` to a temporary file in the examination's folder, hashing it and keeping its
   * first bytes on the way, and flushes it to disk. The caller commits or discards it.
   */
  async stage(examinationId: number, source: Readable): Promise<StagedFile> {
    const folder = this.folderOf(examinationId);
    await fsp.mkdir(folder, { recursive: true, mode: 0o750 });
    const tempPath = path.join(folder, `${TEMP_PREFIX}${randomBytes(12).toString('hex')}${TEMP_SUFFIX}`);
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const inspect = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        if (head.length < SIGNATURE_BYTES) head = Buffer.concat([head, chunk.subarray(0, SIGNATURE_BYTES - head.length)]);
        callback(null, chunk);
      },
    });
    try {
      // wx: never write into a file that exists; flush: fsync before the close.
      await pipeline(source, inspect, fs.createWriteStream(tempPath, { flags: 'wx', mode: 0o640, flush: true }));
    } catch (error) {
      await discard(tempPath);
      throw error;
    }
    return { examinationId, tempPath, size, sha256: hash.digest('hex'), head };
  }

  /** Puts a staged file in place under `name`; returns its path. */
  async commit(staged: StagedFile, name: string): Promise<string> {
    const target = this.pathOf(staged.examinationId, name);
    await fsp.rename(staged.tempPath, target);
    await syncDirectory(path.dirname(target));
    return target;
  }

  /** An open stored file and its size, or undefined if it is not there. */
  async read(examinationId: number, name: string): Promise<{ stream: Readable; size: number } | undefined> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(this.pathOf(examinationId, name), fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      return { stream: handle.createReadStream({ autoClose: true }), size };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Removes the temporary files of uploads that a crash interrupted; never fails the start. */
  async sweepStaleUploads(logger: Logger, now = Date.now()): Promise<void> {
    try {
      for (const folder of await fsp.readdir(this.directory, { withFileTypes: true })) {
        if (!folder.isDirectory() || !/^\d+$/.test(folder.name)) continue;
        const folderPath = path.join(this.directory, folder.name);
        for (const entry of await fsp.readdir(folderPath)) {
          if (!entry.startsWith(TEMP_PREFIX) || !entry.endsWith(TEMP_SUFFIX)) continue;
          const entryPath = path.join(folderPath, entry);
          const stat = await fsp.stat(entryPath).catch(() => undefined);
          if (stat && now - stat.mtimeMs > STALE_TEMP_MS) await discard(entryPath);
        }
      }
    } catch (error) {
      logger.warn({ err: error }, 'could not sweep the temporary files of interrupted uploads');
    }
  }
}

/** Removes a file if it is there. */
export async function discard(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
}

/** Makes a rename durable: fsync of the directory holding it (where the platform allows it). */
async function syncDirectory(directory: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(directory, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms and network file systems refuse fsync on a directory; the rename stands.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle?.close();
  }
}
