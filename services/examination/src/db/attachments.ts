import type { Kysely, Transaction } from 'kysely';
import { fetchPage, type PageRequest } from '@medical/platform';
import type { AttachmentContentType, AttachmentView, PageOf } from '@medical/contracts';
import type { AttachmentRow, ExaminationDatabase } from './schema.ts';

type Db = Kysely<ExaminationDatabase> | Transaction<ExaminationDatabase>;

function fromRow(row: AttachmentRow): AttachmentView {
  return {
    examinationId: row.examination_id,
    name: row.name,
    filename: row.filename,
    contentType: row.content_type as AttachmentContentType,
    size: Number(row.size),
    sha256: row.sha256,
    uploadedAt: row.uploaded_at,
  };
}

export async function insertAttachment(db: Db, a: AttachmentView): Promise<void> {
  await db
    .insertInto('attachments')
    .values({
      examination_id: a.examinationId,
      name: a.name,
      filename: a.filename,
      content_type: a.contentType,
      size: a.size,
      sha256: a.sha256,
      uploaded_at: a.uploadedAt,
    })
    .execute();
}

export async function findAttachment(db: Db, examinationId: number, name: string): Promise<AttachmentView | undefined> {
  const row = await db.selectFrom('attachments').selectAll().where('examination_id', '=', examinationId).where('name', '=', name).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** The attachment of this examination with these very bytes, if there is one. */
export async function findAttachmentByContent(db: Db, examinationId: number, sha256: string): Promise<AttachmentView | undefined> {
  const row = await db.selectFrom('attachments').selectAll().where('examination_id', '=', examinationId).where('sha256', '=', sha256).executeTakeFirst();
  return row ? fromRow(row) : undefined;
}

/** An examination's attachments, oldest first. */
export async function listAttachments(db: Db, examinationId: number, paging: PageRequest): Promise<PageOf<AttachmentView>> {
  const query = db.selectFrom('attachments').where('examination_id', '=', examinationId);
  const found = await fetchPage(db, paging, {
    rows: query.selectAll(),
    orderBy: ['uploaded_at', 'name'],
    total: query.select((eb) => eb.fn.countAll<number>().as('total')),
  });
  return { ...found, items: found.items.map(fromRow) };
}

export async function examinationExists(db: Db, examinationId: number): Promise<boolean> {
  return (await db.selectFrom('examinations').select('id').where('id', '=', examinationId).executeTakeFirst()) !== undefined;
}
