import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { BODY_LIMIT_BYTES } from './body-limits.ts';
import { tooLarge } from './problem-answers.ts';
import { validationProblem, type FieldError } from './problem.ts';

/**
 * An oversize body is read and thrown away up to this size before the 413 is sent: a client
 * still writing its body when the server closes the socket sees a broken pipe, not the answer.
 */
const OVERSIZE_DRAIN_BYTES = 32 * 1024 * 1024;

function drain(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('error', () => resolve());
    stream.on('close', resolve);
    stream.resume();
  });
}

const requestParts = [
  ['params', 'the path parameters are'],
  ['querystring', 'the query string is'],
  ['body', 'the body is'],
] as const;

/** The fields of a parsed body, query string or path whose text holds U+0000 (NUL). */
function fieldsWithNul(value: unknown, path: string, found: string[] = []): string[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(path || '(root)');
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => fieldsWithNul(item, path ? `${path}.${index}` : String(index), found));
  } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [key, item] of Object.entries(value)) fieldsWithNul(item, path ? `${path}.${key}` : key, found);
  }
  return found;
}

/** A body larger than the route's limit (its own `bodyLimit`, else the app's) is a 413 before it is read. */
async function refuseOversizeBody(request: FastifyRequest): Promise<void> {
  const limit = request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES;
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    if (declared <= OVERSIZE_DRAIN_BYTES) await drain(request.raw);
    throw tooLarge(limit);
  }
}

/**
 * No field of the API has a use for U+0000, PostgreSQL cannot store it in text (a 500 on the
 * production profile) and SQLite keeps it where other tools stop reading: a 400 on every
 * profile, once the request has passed its schema. Routes without a schema (the gateway's
 * proxy) pass bodies through untouched; the service behind them answers.
 */
async function refuseNul(request: FastifyRequest): Promise<void> {
  if (!request.routeOptions.schema) return;
  const values = { params: request.params, querystring: request.query, body: request.body };
  const errors: FieldError[] = [];
  let detail: string | undefined;
  for (const [part, phrase] of requestParts) {
    const fields = fieldsWithNul(values[part], '');
    if (fields.length > 0) detail ??= `${phrase} invalid`;
    for (const field of fields) errors.push({ field, in: part, message: 'must not contain the NUL character (U+0000)' });
  }
  if (detail) throw validationProblem(detail, errors);
}

/**
 * What a request may carry: JSON only (every other content type, text/plain too, is a 415), no
 * larger than the limit, and no NUL in any field. An empty body on a JSON POST (common from form
 * posts and fetch), or none at all on a command whose body is optional (cancel, confirm), reads
 * as an empty object.
 */
export const requestBodies = fp(
  async (app) => {
    const jsonParser = app.getDefaultJsonParser('error', 'error');
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (typeof body === 'string' && body.trim() === '') return done(null, {});
      jsonParser(request, body as string, done);
    });
    app.addHook('onRequest', refuseOversizeBody);
    app.addHook('preValidation', async (request) => {
      if (request.body === undefined || request.body === null) request.body = {};
    });
    app.addHook('preHandler', refuseNul);
  },
  { name: 'request-bodies' },
);
