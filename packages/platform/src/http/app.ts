import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { httpTracing } from '../telemetry/http-tracing.ts';
import { loggerOptions, type LogLevel } from '../telemetry/log-fields.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { tracingOff, type Tracing } from '../telemetry/tracing.ts';
import { apiDocument, type ApiDocumentOptions } from './api-document.ts';
import { BODY_LIMIT_BYTES } from './body-limits.ts';
import { operationsRoutes, type ReadinessCheck } from './operations-routes.ts';
import { answerFrameworkError, problemAnswers } from './problem-answers.ts';
import { requestBodies } from './request-bodies.ts';
import { validatorCompiler } from './validators.ts';

export { BODY_LIMIT_BYTES };
export { BEARER_SCHEME } from './api-document.ts';
export { sendProblem, toProblem } from './problem-answers.ts';
export type { ReadinessCheck };

/** The HTTP app: Node's HTTP server, pino's logger, routes typed by their TypeBox schemas. */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

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
   * How many proxies in front of the app append to X-Forwarded-For: `request.ip` is then the
   * client's address, read past them (default 0: the peer's address; a forged header is ignored).
   */
  trustProxyHops?: number;
  /** Set when the app authenticates its routes (auth/authentication.ts): see api-document.ts. */
  bearerAuthentication?: ApiDocumentOptions['bearerAuthentication'];
  /**
   * The app is the edge (the gateway): every request gets an id of its own, whatever X-Request-Id
   * the client sent (kept as `request.clientRequestId`). Behind the edge the gateway's id is taken.
   */
  edge?: boolean;
};

/** How long a request id may be: it comes from a header a client can set. */
const MAX_REQUEST_ID_LENGTH = 255;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The X-Request-Id the client sent, kept beside the id the gateway gave the request (its own,
     * never the client's, so a log or an audit row cannot be made to point at another request).
     */
    clientRequestId?: string;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text ? text.slice(0, MAX_REQUEST_ID_LENGTH) : undefined;
}

/**
 * Every answer names its request (`x-request-id`), refusals included. At the edge (the gateway)
 * the id is always its own and the client's is kept as `clientRequestId`; behind it, a service
 * takes the gateway's `x-request-id` and the client's from `x-client-request-id`.
 */
const requestIds = fp<{ edge: boolean }>(
  async (app, { edge }) => {
    app.decorateRequest('clientRequestId', undefined);
    app.addHook('onRequest', async (request, reply) => {
      const clientRequestId = headerValue(request.headers[edge ? 'x-request-id' : 'x-client-request-id']);
      if (clientRequestId !== undefined) request.clientRequestId = clientRequestId;
      reply.header('x-request-id', request.id);
    });
  },
  { name: 'request-ids' },
);

/** The duration of every answer, by method, route pattern and status (`medical_http_request_duration_seconds`). */
const requestDurations = fp<{ metrics: ServiceMetrics }>(
  async (app, { metrics }) => {
    app.addHook('onResponse', async (request, reply) => {
      metrics.httpRequestDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  },
  { name: 'request-durations' },
);

/**
 * The HTTP app every service builds on. Each part is a plugin that reaches the root scope, and
 * hooks of one kind run in the order their plugins are registered, so this list is that order:
 * the span first (it covers refusals too), then the request id, the body checks, the metrics;
 * problem+json for every error; the API document before any route, so it lists them all; the
 * probes and the scrape. A service registers authentication and idempotency next, then its routes
 * (service/service.ts).
 */
export async function createApp(options: AppOptions): Promise<App> {
  const app = Fastify({
    logger: loggerOptions(options.serviceName, options.logLevel),
    bodyLimit: BODY_LIMIT_BYTES,
    // At the edge the client's X-Request-Id is not the request's id (requestIds keeps it beside).
    requestIdHeader: options.edge ? false : 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    frameworkErrors: answerFrameworkError,
    // proxy-addr's rule for a hop count: the peer and the next hops - 1 addresses are proxies.
    trustProxy: (_address: string, hop: number) => hop < (options.trustProxyHops ?? 0),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

  await app.register(httpTracing, { tracer: (options.tracing ?? tracingOff()).tracer });
  await app.register(requestIds, { edge: options.edge ?? false });
  await app.register(requestBodies);
  await app.register(requestDurations, { metrics: options.metrics });
  await app.register(problemAnswers);
  if (options.documentation !== false) {
    const { title, description, bearerAuthentication } = options;
    await app.register(apiDocument, { title, description, ...(bearerAuthentication ? { bearerAuthentication } : {}) });
  }
  await app.register(operationsRoutes, { metrics: options.metrics, readiness: options.readiness });
  return app;
}
