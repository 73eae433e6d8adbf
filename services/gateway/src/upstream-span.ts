import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';
import type { FastifyRequest } from 'fastify';
import { requestTraceContext, traceparentOf } from '@medical/platform/edge';

/** One attempt at an upstream call, as a CLIENT span: what the proxy sends on and reports back. */
export type UpstreamSpan = {
  /** The `traceparent` for the upstream request: this span's, so the service's span is its child. */
  traceparent: string | undefined;
  answered(status: number): void;
  failed(error: Error): void;
};

/** Where a replica listens, as span attributes: parsed once per origin (the replicas are few and fixed). */
const serverAttributes = new Map<string, { [ATTR_SERVER_ADDRESS]: string; [ATTR_SERVER_PORT]: number }>();

function serverOf(origin: string) {
  let server = serverAttributes.get(origin);
  if (!server) {
    const url = new URL(origin);
    server = { [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
    serverAttributes.set(origin, server);
  }
  return server;
}

/**
 * A CLIENT span for one attempt (a retry on another replica is a second span under the same
 * request), a child of the gateway's SERVER span for the request. With tracing off the span
 * records nothing and the caller's own `traceparent`, if any, is what goes on.
 */
export function startUpstreamSpan(tracer: Tracer, request: FastifyRequest, service: string, origin: string): UpstreamSpan {
  const parent = requestTraceContext(request);
  const span = tracer.startSpan(
    request.method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        ...serverOf(origin),
        [ATTR_URL_FULL]: `${origin}${request.url.split('?')[0]}`,
        'medical.upstream.service': service,
      },
    },
    parent,
  );
  let ended = false;
  return {
    traceparent: traceparentOf(trace.setSpan(parent, span)),
    answered(status) {
      if (ended) return;
      ended = true;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
    failed(error) {
      if (ended) return;
      ended = true;
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      span.end();
    },
  };
}
