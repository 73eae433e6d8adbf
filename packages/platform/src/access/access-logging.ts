import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AnsweredVisit } from '@medical/contracts';
import { HttpProblem, problemTypes } from '../http/problem.ts';
import type { AccessRecorder } from './access-recorder.ts';
import { accessRecordOf, recordAnswered } from './access-records.ts';

/**
 * The access log of a service: every answer of an API route (a read, a command, a refusal) is
 * recorded before it leaves (access-recorder.ts). Register it after authentication and
 * idempotency and before the routes, so its hook is each route's last: a command's record follows
 * the command's commit.
 *
 * Fail closed for patient data: a read answered 2xx whose record cannot be written is not
 * answered (503, retry), since a read nobody can account for is what the log exists to prevent.
 * Any other answer (a command already committed, a refusal, an error) goes out as it is, and the
 * failure is logged and counted by the recorder.
 */
export type AccessLoggingOptions = {
  recorder: AccessRecorder;
  service: string;
  /** The visit one resource of an answer is part of (ServiceDefinition.answeredVisit). */
  answeredVisit: (resource: Record<string, unknown>) => AnsweredVisit | undefined;
};

/**
 * The visit of a resource as most of the API shows it: its `receptionId`, with its `patientId`
 * when it carries one (a diagnosis, an examination, a visit, a timeline). The reception service
 * says its own (a reception's `id` is the reception id).
 */
export function visitOfResource(resource: Record<string, unknown>): AnsweredVisit | undefined {
  const { receptionId, patientId } = resource;
  if (typeof receptionId !== 'number') return undefined;
  return { receptionId, ...(typeof patientId === 'string' ? { patientId } : {}) };
}

/** The visits an answer's body shows: each item of a page, or the one resource. */
function visitsShown(payload: unknown, answeredVisit: AccessLoggingOptions['answeredVisit']): AnsweredVisit[] {
  if (payload === null || typeof payload !== 'object') return [];
  const items: unknown[] = Array.isArray((payload as { items?: unknown }).items) ? (payload as { items: unknown[] }).items : [payload];
  const shown = new Map<string, AnsweredVisit>();
  for (const item of items) {
    if (item === null || typeof item !== 'object') continue;
    const visit = answeredVisit(item as Record<string, unknown>);
    const key = visit && (visit.receptionId !== undefined ? `visit ${visit.receptionId}` : `patient ${visit.patientId}`);
    if (visit && key && !shown.has(key)) shown.set(key, visit);
  }
  return [...shown.values()];
}

const accessLogUnavailable = new HttpProblem({
  status: 503,
  title: 'Service Unavailable',
  type: problemTypes.unavailable,
  detail: 'the access to this record could not be logged, so it is not shown; try again shortly',
});

async function recordAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown, options: AccessLoggingOptions): Promise<unknown> {
  const record = accessRecordOf(request, reply.statusCode, options.service);
  if (!record) return payload;
  try {
    await options.recorder.record(record);
    return payload;
  } catch (error) {
    request.log.error({ err: error, accessRecordId: record.id }, 'the access record could not be written');
    if (record.action !== 'read' || reply.statusCode >= 300) return payload;
    // A stream (an attachment, the live stream) was opened for an answer that will not be sent.
    if (payload !== null && typeof payload === 'object' && 'destroy' in payload && typeof payload.destroy === 'function') payload.destroy();
    reply.code(accessLogUnavailable.status).type('application/problem+json').header('retry-after', '1');
    reply.removeHeader('content-length');
    return JSON.stringify(accessLogUnavailable.toJSON(request.url.split('?')[0]));
  }
}

export const accessLogging = fp<AccessLoggingOptions>(
  async (app, options) => {
    if (!app.hasRequestDecorator('accessAnswered')) app.decorateRequest('accessAnswered', undefined);
    // What the answer shows is read from its body before it is serialized, unless the route said it.
    app.addHook('preSerialization', async (request, reply, payload) => {
      if (reply.statusCode < 300 && request.accessAnswered?.visits === undefined) recordAnswered(request, visitsShown(payload, options.answeredVisit));
      return payload;
    });
    // A route's own onSend hooks run after the app's, and the idempotency plugin commits a keyed
    // command in one of them (idempotency/http-idempotency.ts): so this hook is the route's last
    // too, or its record would wait on the command's open transaction (for ever, on SQLite).
    const recordHook = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => recordAnswer(request, reply, payload, options);
    app.addHook('onRoute', (route) => {
      route.onSend = [...(route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]), recordHook];
    });
  },
  { name: 'access-logging' },
);
