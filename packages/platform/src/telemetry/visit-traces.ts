import { ROOT_CONTEXT, context, trace, type Tracer } from '@opentelemetry/api';
import type { Kysely, Transaction } from 'kysely';
import { retentionMs } from '../retention/policy.ts';
import type { TelemetryTables } from './tables.ts';
import { contextFrom, traceparentOf, type Tracing } from './tracing.ts';

/** How long a visit's trace is remembered (the retention table): an outpatient visit ends within the day. */
export const VISIT_TRACE_RETENTION_MS = retentionMs('visit-traces');

/**
 * The `traceparent` the events of one emit carry: one visit, one trace.
 *
 * A visit is a saga of several commands from several people (the desk registers it, the doctor
 * prescribes, the examiner performs, the doctor decides, the desk confirms), each an HTTP request
 * with a trace of its own. Events continue the trace they were emitted in, so left at that a
 * visit would be cut into one trace per command. Instead each service remembers the trace its
 * first event of a visit was emitted in, and a later command's events join that trace: a span
 * `emit <types>` in the visit's trace, linked to the command's request span (and the request's
 * span names the visit's trace in `medical.visit.trace_id`). The visit's trace then holds every
 * service's part of the visit, and each request's own trace stays short and points at it.
 *
 * Events emitted while handling an event of the same visit simply continue the current span.
 * With tracing off nothing is stored: the current context (a `traceparent` that came in) passes on.
 */
export async function visitTraceparent(
  trx: Transaction<TelemetryTables>,
  tracing: Tracing,
  subject: string,
  eventTypes: readonly string[],
): Promise<string | undefined> {
  const active = context.active();
  if (!tracing.recording) return traceparentOf(active);
  const remembered = await trx.selectFrom('visit_traces').select('traceparent').where('subject', '=', subject).executeTakeFirst();
  const current = trace.getSpanContext(active);
  if (!remembered) {
    const own = traceparentOf(active);
    if (own) {
      await trx
        .insertInto('visit_traces')
        .values({ subject, traceparent: own, recorded_at: new Date().toISOString() })
        .onConflict((oc) => oc.column('subject').doNothing())
        .execute();
    }
    return own;
  }
  const visitContext = contextFrom({ traceparent: remembered.traceparent }, ROOT_CONTEXT);
  const visit = trace.getSpanContext(visitContext);
  if (!visit || visit.traceId === current?.traceId) return traceparentOf(active);
  trace.getActiveSpan()?.setAttribute('medical.visit.trace_id', visit.traceId);
  return joinVisit(tracing.tracer, visitContext, subject, eventTypes, current);
}

function joinVisit(
  tracer: Tracer,
  visitContext: ReturnType<typeof contextFrom>,
  subject: string,
  eventTypes: readonly string[],
  command: ReturnType<typeof trace.getSpanContext>,
): string | undefined {
  const span = tracer.startSpan(
    `emit ${eventTypes.join(', ')}`,
    { links: command ? [{ context: command }] : [], attributes: { 'medical.reception_id': subject } },
    visitContext,
  );
  span.end();
  return traceparentOf(trace.setSpan(visitContext, span));
}

export async function purgeVisitTraces(db: Kysely<TelemetryTables>, before: Date): Promise<number> {
  const result = await db.deleteFrom('visit_traces').where('recorded_at', '<', before.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
