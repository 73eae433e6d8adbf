import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isUnavailable } from '../lib/unavailable.ts';
import { BODY_LIMIT_BYTES } from './body-limits.ts';
import { HttpProblem, problemTypes, validationProblem, type FieldError } from './problem.ts';

type AjvError = { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> };

function fieldErrors(validation: AjvError[], context: string | undefined): FieldError[] {
  return validation.map((e) => {
    const base = (e.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const extra = (e.params?.missingProperty ?? e.params?.additionalProperty) as string | undefined;
    const field = [base, extra].filter(Boolean).join('.') || '(root)';
    const message =
      e.keyword === 'additionalProperties' ? 'is not a known property' : e.message ?? 'is invalid';
    return { field, ...(context ? { in: context } : {}), message };
  });
}

export function tooLarge(limit = BODY_LIMIT_BYTES): HttpProblem {
  return new HttpProblem({ status: 413, title: 'Content Too Large', detail: `the body exceeds ${limit} bytes` });
}

/** Turns any error into a problem document; never leaks a stack trace or an internal message. */
export function toProblem(error: FastifyError | HttpProblem | Error): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const e = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e.validation) {
    const places: Record<string, string> = {
      body: 'the body is',
      querystring: 'the query string is',
      params: 'the path parameters are',
      headers: 'the headers are',
    };
    const where = places[e.validationContext ?? ''];
    return validationProblem(`${where ?? 'the request is'} invalid`, fieldErrors(e.validation, e.validationContext));
  }
  if (isUnavailable(error)) {
    return new HttpProblem({
      status: 503,
      title: 'Service Unavailable',
      type: problemTypes.unavailable,
      detail: 'a system this service depends on is unavailable; try again shortly',
    });
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return tooLarge();
  if (status === 415) {
    return new HttpProblem({ status, title: 'Unsupported Media Type', detail: 'send the body as application/json' });
  }
  if (status >= 400 && status < 500) {
    const detail = e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e instanceof SyntaxError ? 'the body is not valid JSON' : e.message;
    return new HttpProblem({ status, title: status === 400 ? 'Bad Request' : 'Client Error', type: status === 400 ? problemTypes.validation : 'about:blank', detail });
  }
  return new HttpProblem({ status: status >= 500 ? status : 500, title: 'Internal Server Error', detail: 'the request could not be completed' });
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: HttpProblem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem.toJSON(request.url.split('?')[0]));
}

/** Errors raised before routing (a malformed URL, say) get the same problem+json as the rest (Fastify's `frameworkErrors`). */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  sendProblem(reply, request, toProblem(error));
}

/**
 * Every error answer is an RFC 9457 problem document: what a handler or hook throws, and a path
 * no route serves. A 5xx is logged with its error; the answer never carries the error's text.
 */
export const problemAnswers = fp(
  async (app) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toProblem(error);
      if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, request, problem);
    });
    app.setNotFoundHandler((request, reply) =>
      sendProblem(
        reply,
        request,
        new HttpProblem({ status: 404, title: 'Not Found', type: problemTypes.notFound, detail: `no route for ${request.method} ${request.url.split('?')[0]}` }),
      ),
    );
  },
  { name: 'problem-answers' },
);
