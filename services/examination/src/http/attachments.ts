import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest, FastifySchema, FastifySchemaCompiler } from 'fastify';
import multipart from '@fastify/multipart';
import {
  Attachment,
  AttachmentParams,
  AttachmentQuery,
  IdParams,
  MULTIPART_OVERHEAD_BYTES,
  Page,
  ProblemDetails,
  UploadAttachmentBody,
  attachmentContentTypes,
  attachmentExtensions,
  type AttachmentContentType,
  type AttachmentView,
} from '@medical/contracts';
import { HttpProblem, notFound, requestOrigin, validationProblem, validatorCompiler, type App, type ServiceContext } from '@medical/platform';
import { assertAttachable, attachFile } from '../app/attachments.ts';
import { contentDisposition, fileNameProblem, isAcceptedType, matchesSignature, mediaType } from '../attachments/files.ts';
import type { AttachmentSettings } from '../attachments/settings.ts';
import { AttachmentStore, discard, type StagedFile } from '../attachments/store.ts';
import { examinationExists, findAttachment, listAttachments } from '../db/attachments.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

/**
 * The attachments of an examination: POST /examinations/{id}/attachments (multipart/form-data,
 * one part named `file`), GET /examinations/{id}/attachments (the list), and
 * GET /examinations/{id}/attachments/{name} (the bytes). See attachments/store.ts for where the
 * bytes live and why the list is a table.
 */

const tags = ['attachments'];
const FILE_FIELD = 'file';

/** A staged upload with what the uploader said about it. */
type Upload = StagedFile & { filename: string; contentType: AttachmentContentType; committedPath?: string };

const uploads = new WeakMap<FastifyRequest, Upload>();

async function discardUnstored(request: FastifyRequest): Promise<void> {
  const upload = uploads.get(request);
  if (upload && !upload.committedPath) await discard(upload.tempPath);
}

function badUpload(detail: string): HttpProblem {
  return validationProblem(detail, [{ field: FILE_FIELD, in: 'body', message: detail }]);
}

function unsupportedType(detail: string): HttpProblem {
  return new HttpProblem({ status: 415, title: 'Unsupported Media Type', detail });
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem({ status: 413, title: 'Content Too Large', detail: `the file exceeds ${maxBytes} bytes (ATTACHMENT_MAX_BYTES)` });
}

const acceptedTypes = attachmentContentTypes.join(', ');

/**
 * Turns what went wrong while reading the multipart body into the client's problem: its own
 * problems as they are, the parser's refusals as 400/413/415, a full disk as 507. A file system
 * error (it has a syscall) is the server's: it stays an error (a 500, logged).
 */
function uploadProblem(error: unknown, maxBytes: number): unknown {
  if (error instanceof HttpProblem) return error;
  const e = error as { code?: string; syscall?: string; message?: string };
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    return new HttpProblem({ status: 507, title: 'Insufficient Storage', detail: 'the attachment store is full; try again later' });
  }
  if (e.syscall) return error;
  switch (e.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return tooLarge(maxBytes);
    case 'FST_FILES_LIMIT':
      return badUpload('send one file per upload');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return badUpload(`send one part, the file, named "${FILE_FIELD}"`);
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return unsupportedType('send the file as multipart/form-data');
    default:
      return validationProblem('the multipart body is malformed or ended early', [{ field: '(root)', in: 'body', message: e.message ?? 'is malformed' }]);
  }
}

/** Reads the multipart body into a staged file, checking everything that can be checked on the way. */
async function receive(request: FastifyRequest, store: AttachmentStore, examinationId: number, maxBytes: number): Promise<Upload> {
  let upload: Upload | undefined;
  try {
    const parts = request.parts({
      // Keep the name as sent: a path in it is refused, not quietly cut to its last segment.
      preservePath: true,
      // files: 2 so that a second file is seen and refused with a 400 (busboy's own limit is a 413).
      limits: { fileSize: maxBytes, files: 2, fields: 4, fieldSize: 1024, parts: 6, headerPairs: 20 },
    });
    for await (const part of parts) {
      if (part.type === 'field') throw badUpload(`unexpected field "${part.fieldname}": send one part, the file, named "${FILE_FIELD}"`);
      if (upload) {
        part.file.resume();
        throw badUpload('send one file per upload; this request has more than one');
      }
      if (part.fieldname !== FILE_FIELD) {
        part.file.resume();
        throw badUpload(`the file part must be named "${FILE_FIELD}", not "${part.fieldname}"`);
      }
      const nameProblem = fileNameProblem(part.filename);
      if (nameProblem) {
        part.file.resume();
        throw badUpload(nameProblem);
      }
      const contentType = mediaType(part.mimetype);
      if (!isAcceptedType(contentType)) {
        part.file.resume();
        throw unsupportedType(`an attachment must be one of ${acceptedTypes} (the file part's Content-Type), not "${contentType || 'none'}"`);
      }
      const staged = await store.stage(examinationId, part.file);
      upload = { ...staged, filename: part.filename, contentType };
      if ((part.file as { truncated?: boolean }).truncated || staged.size > maxBytes) throw tooLarge(maxBytes);
      if (staged.size === 0) throw badUpload('the file is empty');
      if (!matchesSignature(contentType, staged.head)) {
        throw unsupportedType(`the file's content is not ${contentType}: its first bytes are not the signature of that type`);
      }
    }
  } catch (error) {
    if (upload) await discard(upload.tempPath);
    throw uploadProblem(error, maxBytes);
  }
  if (!upload) throw badUpload(`the body has no file: send one part named "${FILE_FIELD}" with the report or image`);
  return upload;
}

/**
 * The upload's body schema only documents the multipart form: the body is a stream that the
 * preHandler reads and checks itself, so only the other parts (the path) are validated.
 */
const bodyDocumentedOnly: FastifySchemaCompiler<FastifySchema> = (route) => (route.httpPart === 'body' ? () => true : validatorCompiler(route));

type Db = ServiceContext<ExaminationDatabase>['database']['db'];

const location = (a: AttachmentView) => `/examinations/${a.examinationId}/attachments/${a.name}`;

export async function attachmentRoutes(app: App, context: ServiceContext<ExaminationDatabase>, settings: AttachmentSettings): Promise<void> {
  const store = new AttachmentStore(settings.directory);
  await store.open();
  void store.sweepStaleUploads(context.logger);

  // The upload in a scope of its own: it parses multipart/form-data (and only it), and takes a
  // body up to the attachment limit instead of the API's 1 MiB.
  await app.register(async (scope) => uploadRoute(scope, context, store, settings));
  listRoute(app, context.database.db);
  downloadRoute(app, context.database.db, store);
  refusePathAsName(app);
}

const uploadSchema = {
  tags,
  summary: 'Attach a report (PDF) or an image (PNG, JPEG) to an examination',
  description:
    `multipart/form-data with one part named \`file\`, whose Content-Type is one of ${acceptedTypes} and whose bytes ` +
    'start with that type\'s signature, and a plain file name (no path). The file is stored under a name of the ' +
    'server\'s (Location). The same bytes uploaded again to the same examination answer the attachment already ' +
    'there (200) instead of storing a copy. A CANCELLED examination takes no attachments (409).',
  consumes: ['multipart/form-data'],
  params: IdParams,
  body: UploadAttachmentBody,
  response: {
    201: Attachment,
    200: Attachment,
    400: ProblemDetails,
    404: ProblemDetails,
    409: ProblemDetails,
    413: ProblemDetails,
    415: ProblemDetails,
    507: ProblemDetails,
  },
};

/** POST /examinations/{id}/attachments, registered in the scope that parses multipart/form-data. */
async function uploadRoute(scope: App, context: ServiceContext<ExaminationDatabase>, store: AttachmentStore, settings: AttachmentSettings): Promise<void> {
  scope.removeAllContentTypeParsers();
  await scope.register(multipart, { limits: { fileSize: settings.maxBytes } });
  // Anything else is left unread and answered 415 by the handler's hook, in its own words.
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  scope.post(
    '/examinations/:id/attachments',
    {
      bodyLimit: settings.maxBytes + MULTIPART_OVERHEAD_BYTES,
      validatorCompiler: bodyDocumentedOnly,
      schema: uploadSchema,
      preHandler: async (request) => stageUpload(request, context.database.db, store, settings.maxBytes),
      // The temporary file of an upload that did not get stored (refused, replayed): removed
      // before the answer leaves, or when the client goes away.
      onSend: async (request, _reply, payload) => {
        await discardUnstored(request);
        return payload;
      },
      onRequestAbort: discardUnstored,
    },
    async (request, reply) => {
      const outcome = await storeUpload(context, store, request);
      reply.code(outcome.created ? 201 : 200).header('location', location(outcome.attachment));
      return outcome.attachment;
    },
  );
}

/**
 * Reads and checks the upload into a staged file before the handler runs, so that a refusal
 * costs no stored file and no row.
 */
async function stageUpload(request: FastifyRequest, db: Db, store: AttachmentStore, maxBytes: number): Promise<void> {
  const { id } = request.params as { id: number };
  if (!request.isMultipart()) throw unsupportedType('send the file as multipart/form-data, in one part named "file"');
  // Refused before its bytes are read: an unknown or a cancelled examination.
  await assertAttachable(db, id);
  const upload = await receive(request, store, id, maxBytes);
  uploads.set(request, upload);
  // What the Idempotency-Key's body hash covers: the file's bytes (by their hash) and how it was sent.
  request.body = { filename: upload.filename, contentType: upload.contentType, sha256: upload.sha256 };
}

/**
 * Stores the staged upload under a name of the server's and records it. When it is not recorded
 * (a failure, or the same bytes attached before) the stored file is removed again, so no file is
 * left without its row.
 */
async function storeUpload(
  context: ServiceContext<ExaminationDatabase>,
  store: AttachmentStore,
  request: FastifyRequest,
): Promise<{ created: boolean; attachment: AttachmentView }> {
  const { id } = request.params as { id: number };
  const upload = uploads.get(request)!;
  const name = AttachmentStore.newName(attachmentExtensions[upload.contentType]);
  // The file first, complete and in place; the row second (see store.ts).
  const stored = await store.commit(upload, name);
  upload.committedPath = stored;
  let outcome: { created: boolean; attachment: AttachmentView };
  try {
    const { filename, contentType, size, sha256 } = upload;
    outcome = await attachFile(context, requestOrigin(request), id, { name, filename, contentType, size, sha256 });
  } catch (error) {
    await discard(stored);
    throw error;
  }
  if (!outcome.created) await discard(stored);
  return outcome;
}

/** GET /examinations/{id}/attachments: the list. */
function listRoute(app: App, db: Db): void {
  app.get(
    '/examinations/:id/attachments',
    {
      schema: {
        tags,
        summary: "An examination's attachments, oldest first",
        params: IdParams,
        querystring: AttachmentQuery,
        response: { 200: Page(Attachment), 400: ProblemDetails, 404: ProblemDetails },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await examinationExists(db, id))) throw notFound('examination', id);
      return listAttachments(db, id, request.query);
    },
  );
}

const binary = { type: 'string', format: 'binary' };

/** GET /examinations/{id}/attachments/{name}: the bytes. */
function downloadRoute(app: App, db: Db, store: AttachmentStore): void {
  app.get(
    '/examinations/:id/attachments/:name',
    {
      schema: {
        tags,
        summary: 'The bytes of one attachment',
        description:
          'Answered with its Content-Type, Content-Length, Content-Disposition: attachment (the uploaded file name), ' +
          'ETag and Repr-Digest (its SHA-256), and X-Content-Type-Options: nosniff.',
        params: AttachmentParams,
        response: {
          200: { description: 'The file', content: Object.fromEntries(attachmentContentTypes.map((type) => [type, { schema: binary }])) },
          400: ProblemDetails,
          404: ProblemDetails,
        },
      },
    },
    async (request, reply: FastifyReply) => {
      const { id, name } = request.params as { id: number; name: string };
      const attachment = await findAttachmentOrNotFound(db, id, name);
      const file = await store.read(id, name);
      if (!file) {
        request.log.error({ examinationId: id, attachment: name }, 'the file of an attachment is missing from ATTACHMENTS_DIR');
        throw new HttpProblem({ status: 500, title: 'Internal Server Error', detail: 'the stored file of this attachment is missing' });
      }
      return sendAttachment(reply, attachment, file);
    },
  );
}

/** The attachment's row; when there is none, the 404 says whether the examination is what is missing. */
async function findAttachmentOrNotFound(db: Db, id: number, name: string): Promise<AttachmentView> {
  const attachment = await findAttachment(db, id, name);
  if (attachment) return attachment;
  if (!(await examinationExists(db, id))) throw notFound('examination', id);
  throw notFound(`attachment of examination ${id}:`, name);
}

function sendAttachment(reply: FastifyReply, attachment: AttachmentView, file: { stream: Readable; size: number }): FastifyReply {
  return reply
    .type(attachment.contentType)
    .header('content-length', file.size)
    .header('content-disposition', contentDisposition(attachment.filename, attachment.contentType))
    .header('x-content-type-options', 'nosniff')
    // Opened in a tab, it runs nothing and loads nothing (defence in depth besides nosniff).
    .header('content-security-policy', "default-src 'none'; sandbox")
    // Clinical documents stay out of shared and disk caches.
    .header('cache-control', 'private, no-store')
    .header('etag', `"${attachment.sha256}"`)
    .header('repr-digest', `sha-256=:${Buffer.from(attachment.sha256, 'hex').toString('base64')}:`)
    .send(file.stream);
}

/**
 * A "name" of several path segments (../../etc/passwd sent as is) is no attachment name either:
 * a 400 like any other malformed name, not a 404 for an unknown route.
 */
function refusePathAsName(app: App): void {
  app.get('/examinations/:id/attachments/*', { schema: { hide: true } }, async () => {
    throw validationProblem('the path parameters are invalid', [
      { field: 'name', in: 'params', message: 'must be an attachment name as listed (32 hex digits and an extension), not a path' },
    ]);
  });
}
