import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { markTraceIdsBound } from './log-fields.ts';
import { contextFrom } from './tracing.ts';

/** Probes and scrapes come every few seconds and say nothing about a visit: no spans for them. */
const untraced = new Set(['/healthz', '/readyz', '/metrics']);

type RequestTrace = { span: Span; context: Context };

const traces = new WeakMap<FastifyRequest, RequestTrace>();

/** The context of a request's server span: what the gateway's calls to a service continue. */
export function requestTraceContext(request: FastifyRequest): Context {
  return traces.get(request)?.context ?? context.active();
}

/**
 * A SERVER span per request, continuing the caller's `traceparent` when there is one, named by
 * the route pattern (`POST /receptions/:id/cancel`), never the raw URL, so names stay few.
 * The route handler runs inside the span's context: the transactions it opens and the events it
 * emits become the span's children. Registered first, before the routes (an onRoute hook wraps
 * each), so the span covers the whole request, refusals included.
 */
export const httpTracing = fp<{ tracer: Tracer }>(
  async (app, { tracer }) => {
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function tracedHandler(this: FastifyInstance, request, reply) {
        const traced = traces.get(request);
        if (!traced) return handler.call(this, request, reply);
        return context.with(traced.context, () => handler.call(this, request, reply));
      };
    });

    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (route !== undefined && untraced.has(route)) return;
      const parent = contextFrom(request.headers as Record<string, string | string[] | undefined>, ROOT_CONTEXT);
      const span = tracer.startSpan(
        route ? `${request.method} ${route}` : request.method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [ATTR_HTTP_REQUEST_METHOD]: request.method,
            [ATTR_URL_PATH]: request.url.split('?')[0]!,
            ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
            'medical.request_id': request.id,
          },
        },
        parent,
      );
      traces.set(request, { span, context: trace.setSpan(parent, span) });
      // The request's own log lines (Fastify's "request completed" among them) carry its trace.
      const ids = span.spanContext();
      if (isSpanContextValid(ids)) {
        const log = request.log.child({ trace_id: ids.traceId, span_id: ids.spanId });
        markTraceIdsBound(log);
        request.log = log;
        reply.log = log;
      }
    });

    app.addHook('onError', async (request, _reply, error) => {
      const traced = traces.get(request);
      if (traced) traced.span.recordException(error);
    });

    const end = (request: FastifyRequest, status: number | undefined) => {
      const traced = traces.get(request);
      if (!traced) return;
      traces.delete(request);
      if (status !== undefined) {
        traced.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        // A 4xx is the client's mistake, not the server's failure (the semantic conventions' rule).
        if (status >= 500) traced.span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        traced.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
      }
      traced.span.end();
    };
    app.addHook('onResponse', async (request, reply) => end(request, reply.statusCode));
    app.addHook('onRequestAbort', async (request) => end(request, undefined));
  },
  { name: 'http-tracing' },
);
