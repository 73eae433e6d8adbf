import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { LoggerOptions } from 'pino';

/** How much a process logs (LOG_LEVEL): pino's levels. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The mark of a logger that carries the trace ids in its bindings already. */
const TRACE_IDS_BOUND = Symbol('trace ids bound');

/**
 * Marks a child logger that carries the trace ids in its bindings already (a request's logger:
 * Fastify writes its "request completed" line outside the handler's span context), so the mixin
 * does not add them twice.
 */
export function markTraceIdsBound(logger: object): void {
  Object.defineProperty(logger, TRACE_IDS_BOUND, { value: true });
}

/** The trace and span of the work in progress, on every log line written during it. */
const traceFields: NonNullable<LoggerOptions['mixin']> = (_merge, _level, logger) => {
  // Inherited by the marked logger's children too: pino makes a child with its parent as prototype.
  if (TRACE_IDS_BOUND in logger) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
};

/**
 * Personal data that a log line must never carry, wherever it sits in the logged object: the
 * patient's name and birth date, and the clinical texts (symptom, instructions, results,
 * opinions, reasons). Logs go to places with wider access than the patient record (log
 * shippers, tickets, screenshots); ids identify a visit well enough to investigate it.
 */
const personalFields = ['patientName', 'birthDate', 'symptom', 'instructions', 'result', 'opinion', 'cancelReason', 'rejectReason'];

/**
 * At the top of a log line `reason` is the platform's own wording (why a replica is unhealthy,
 * why an event was dead-lettered); inside logged data (an event's, a request body's) it is the
 * clinician's reason for a cancellation or a rejection.
 */
export const redactedPaths = [
  ...personalFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  '*.reason',
  '*.*.reason',
];

/** What a request's log lines say of it, as Fastify hands it to the `req` serializer. */
type LoggedRequest = { method: string; url: string; routeOptions?: { url?: string | undefined }; hostname?: string; ip?: string };

/**
 * A request in a log line: its method and route pattern (`/patients/:patientId/access-log`),
 * never its URL, whose path and query string may name a patient (`?patientId=…`). The request
 * id on every line still ties it to the answer; the route's parameters stay out of the logs.
 */
export function requestForLog(request: LoggedRequest): Record<string, string | undefined> {
  return { method: request.method, route: request.routeOptions?.url ?? '(no route)', host: request.hostname, remoteAddress: request.ip };
}

/**
 * The pino options of every service: JSON lines at LOG_LEVEL, the service's name, the trace and
 * span ids of the current span, requests by route pattern, and personal data censored.
 */
export function loggerOptions(serviceName: string, level: LogLevel): LoggerOptions {
  return {
    level,
    base: { service: serviceName },
    mixin: traceFields,
    serializers: { req: requestForLog },
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
}
