import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ProblemDetails } from '@medical/contracts';
import { isUnavailable } from '../lib/unavailable.ts';
import { installHttpTracing } from '../telemetry/http-tracing.ts';
import { loggerOptions, type LogLevel } from '../telemetry/log-fields.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { matchesRoutePattern } from './route-patterns.ts';
import { HttpProblem, problemTypes, validationProblem, type FieldError } from './problem.ts';
import { validatorCompiler } from './validators.ts';

export const BODY_LIMIT_BYTES = 1024 * 1024;
/**
 * An oversize body is read and thrown away up to this size before the 413 is sent: a client
 * still writing its body when the server closes the socket sees a broken pipe, not the answer.
 */
const OVERSIZE_DRAIN_BYTES = 32 * 1024 * 1024;

function tooLarge(limit = BODY_LIMIT_BYTES): HttpProblem {
  return new HttpProblem({ status: 413, title: 'Content Too Large', detail: `the body exceeds ${limit} bytes` });
}

function drain(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('error', () => resolve());
    stream.on('close', resolve);
    stream.resume();
  });
}

export type App = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;

export type ReadinessCheck = { name: string; check: () => Promise<void> };

export type AppOptions = {
  serviceName: string;
  title: string;
  description: string;
  logLevel: LogLevel;
  metrics: ServiceMetrics;
  /** A SERVER span per request (telemetry/http-tracing.ts); by default not exported. */
  tracing?: Tracing;
  readiness: ReadinessCheck[];
  /** The gateway serves many paths it does not know; it opts out of the docs routes. */
  documentation?: boolean;
  /**
   * Set when the app authenticates its routes (installAuthentication): the API document then
   * names the bearer scheme, and every operation outside `publicRoutes` requires it and lists
   * its 401 and 403 answers.
   */
  bearerAuthentication?: { publicRoutes: readonly string[] };
};

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

type OpenApiResponse = { description?: string; content?: Record<string, unknown> };
type OpenApiOperation = { responses?: Record<string, OpenApiResponse>; security?: Array<Record<string, string[]>> };
type OpenApiDocument = {
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: { securitySchemes?: Record<string, unknown>; [other: string]: unknown };
};

/** The name of the bearer scheme in the API documents. */
export const BEARER_SCHEME = 'bearerAuth';

/**
 * The bearer scheme, required by every operation that is not public, with the answers the
 * authentication hook gives before the handler runs: documented, so a client generator knows
 * to send a token and a contract test (schemathesis) finds every status it can meet.
 */
function documentBearerAuthentication(document: OpenApiDocument, publicRoutes: readonly string[]): OpenApiDocument {
  document.components ??= {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [BEARER_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token from the OpenID Connect provider (in development, POST /auth/token on the gateway).',
    },
  };
  const problem = JSON.parse(JSON.stringify(ProblemDetails)) as unknown;
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    if (matchesRoutePattern(path, publicRoutes)) continue;
    for (const operation of Object.values(operations)) {
      if (!operation || typeof operation !== 'object') continue;
      operation.security = [{ [BEARER_SCHEME]: [] }];
      operation.responses ??= {};
      operation.responses['401'] ??= { description: 'No bearer token, or one that does not verify', content: { 'application/json': { schema: problem } } };
      operation.responses['403'] ??= { description: "None of the token's roles may call this operation", content: { 'application/json': { schema: problem } } };
    }
  }
  return document;
}

/**
 * Every error answer is an RFC 9457 `application/problem+json` document (sendProblem); the
 * generated document would list the routes' 4xx and 5xx schemas under `application/json`.
 */
function documentProblems(document: OpenApiDocument): OpenApiDocument {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        const { 'application/json': schema, ...others } = response?.content ?? {};
        if (/^[45]/.test(status) && schema !== undefined) response.content = { 'application/problem+json': schema, ...others };
      }
    }
  }
  return document;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: HttpProblem): FastifyReply {
  return reply.code(problem.status).type('application/problem+json').send(problem.toJSON(request.url.split('?')[0]));
}

/**
 * The HTTP app every service builds on: problem+json errors, request ids, JSON logs,
 * Prometheus metrics, health and readiness, and OpenAPI docs generated from route schemas.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    logger: loggerOptions(options.serviceName, options.logLevel),
    bodyLimit: BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // Errors raised before routing (a malformed URL, say) get the same problem+json as the rest.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      sendProblem(reply, request, toProblem(error));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // First of the hooks, so that the span covers the whole request, refusals included.
  installHttpTracing(app, (options.tracing ?? tracingOff()).tracer);

  let accepting = true;
  app.decorate('stopAccepting', () => {
    accepting = false;
  });

  // An empty body on a JSON POST (common from form posts and fetch) reads as an empty object.
  // JSON is the only body the API speaks: every other content type (text/plain too) is a 415.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, {});
    jsonParser(request, body as string, done);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // The route's own limit (Fastify's `bodyLimit` route option: an upload route allows more),
    // else the app's.
    const limit = request.routeOptions.bodyLimit ?? BODY_LIMIT_BYTES;
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) {
      if (declared <= OVERSIZE_DRAIN_BYTES) await drain(request.raw);
      throw tooLarge(limit);
    }
  });
  // Commands whose body is optional (cancel, confirm) are also sent with no body at all.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });
  // No field of the API has a use for U+0000, PostgreSQL cannot store it in text (a 500 on the
  // production profile) and SQLite keeps it where other tools stop reading: a 400 on every
  // profile, once the request has passed its schema. Routes without a schema (the gateway's
  // proxy) pass bodies through untouched; the service behind them answers.
  app.addHook('preHandler', async (request) => {
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
  });
  app.addHook('onResponse', async (request, reply) => {
    options.metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

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

  if (options.documentation !== false) {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: options.title, description: options.description, version: '0.1.0' },
      },
      transformObject: (documents) => {
        const document = (documents as { openapiObject: OpenApiDocument }).openapiObject;
        const authenticated = options.bearerAuthentication ? documentBearerAuthentication(document, options.bearerAuthentication.publicRoutes) : document;
        return documentProblems(authenticated);
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  }

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'UP' }));
  app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
    if (!accepting) {
      return sendProblem(reply, request, new HttpProblem({ status: 503, title: 'Service Unavailable', type: problemTypes.unavailable, detail: 'shutting down' }));
    }
    const failing: string[] = [];
    for (const { name, check } of options.readiness) {
      try {
        await check();
      } catch (error) {
        failing.push(name);
        request.log.warn({ err: error, check: name }, 'readiness check failed');
      }
    }
    if (failing.length > 0) {
      return sendProblem(
        reply,
        request,
        new HttpProblem({ status: 503, title: 'Service Unavailable', type: problemTypes.unavailable, detail: `not ready: ${failing.join(', ')}` }),
      );
    }
    return { status: 'READY' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    stopAccepting(): void;
  }
}
