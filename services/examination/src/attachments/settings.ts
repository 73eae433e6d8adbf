import path from 'node:path';
import { ConfigError, readInteger, readString } from '@medical/platform';
import { DEFAULT_ATTACHMENT_MAX_BYTES, MAX_ATTACHMENT_MAX_BYTES } from '@medical/contracts';

type Env = Record<string, string | undefined>;

export type AttachmentSettings = {
  /**
   * Where the files live: a directory every replica of the service shares (in Kubernetes a
   * ReadWriteMany volume, ATTACHMENTS_DIR=/mnt/data/attachments). Default DATA_DIR/attachments.
   */
  directory: string;
  /** The largest attachment accepted, in bytes (a bigger one is a 413). */
  maxBytes: number;
};

/** Read once at start, so a typo fails the start with a message naming the variable. */
export function loadAttachmentSettings(env: Env, dataDir: string): AttachmentSettings {
  const raw = readString(env, 'ATTACHMENTS_DIR', '');
  if (raw.includes('\u0000')) throw new ConfigError('ATTACHMENTS_DIR must be a directory path');
  const directory = path.resolve(raw || path.join(dataDir, 'attachments'));
  return { directory, maxBytes: readInteger(env, 'ATTACHMENT_MAX_BYTES', DEFAULT_ATTACHMENT_MAX_BYTES, 1, MAX_ATTACHMENT_MAX_BYTES) };
}
