import type { AttachmentView } from '@medical/contracts';
import { conflict, notFound, recordAudit, type CommandOrigin } from '@medical/platform';
import { findAttachmentByContent, insertAttachment } from '../db/attachments.ts';
import { loadExamination } from '../db/repository.ts';
import { attachmentRefusal } from '../domain/examination.ts';
import type { Context, Trx } from './commands.ts';

/** A stored file, as the attachment command records it. */
export type StoredFile = Pick<AttachmentView, 'name' | 'filename' | 'contentType' | 'size' | 'sha256'>;

/**
 * Refuses, before anything is written, an attachment to an examination that does not exist (404)
 * or that takes none (409: see the decider's attachmentRefusal).
 */
export async function assertAttachable(db: Context['database']['db'] | Trx, id: number): Promise<{ receptionId: number }> {
  const examination = await loadExamination(db, id);
  if (!examination) throw notFound('examination', id);
  const refusal = attachmentRefusal(examination);
  if (refusal) throw conflict(refusal);
  return examination;
}

/**
 * Records a stored file as an attachment of the examination, with its audit row, in one
 * transaction; the same bytes attached before are that attachment again (`created: false`).
 * An attachment is not an event: no other service needs it, and the file stays here.
 */
export function attachFile(context: Context, origin: CommandOrigin, id: number, file: StoredFile): Promise<{ created: boolean; attachment: AttachmentView }> {
  return context.execute(async (trx) => {
    const { receptionId } = await assertAttachable(trx, id);
    const existing = await findAttachmentByContent(trx, id, file.sha256);
    if (existing) return { created: false, attachment: existing };
    const attachment: AttachmentView = { examinationId: id, ...file, uploadedAt: new Date().toISOString() };
    await insertAttachment(trx, attachment);
    await recordAudit(trx, { origin, command: 'examination.attach', aggregateId: id, receptionId, at: attachment.uploadedAt });
    return { created: true, attachment };
  });
}
