import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { contextFrom } from '../telemetry/tracing.ts';
import type { Delivery } from '../transport/transport.ts';

export type HandlingOutcome = 'applied' | 'duplicate' | 'skipped' | 'dead-lettered';

/** Who handles the events, as the spans name it. */
export type SpanNaming = { tracer: Tracer; serviceName: string; messagingSystem?: 'kafka' | 'embedded' };

/**
 * Runs `work` in a CONSUMER span of the event, continuing the trace its `traceparent` names;
 * the span says the outcome, and a dead letter or an error marks it failed.
 */
export async function inEventSpan(
  naming: SpanNaming,
  delivery: Delivery,
  eventId: string,
  type: string,
  work: () => Promise<HandlingOutcome>,
): Promise<{ outcome: HandlingOutcome; span: Span }> {
  const parent = contextFrom(delivery.headers, ROOT_CONTEXT);
  const span = naming.tracer.startSpan(`process ${type}`, spanOptions(naming, delivery, eventId), parent);
  try {
    const outcome = await context.with(trace.setSpan(parent, span), work);
    span.setAttribute('medical.outcome', outcome);
    if (outcome === 'dead-lettered') span.setStatus({ code: SpanStatusCode.ERROR, message: 'dead-lettered' });
    return { outcome, span };
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

const spanOptions = (naming: SpanNaming, delivery: Delivery, eventId: string) => ({
  kind: SpanKind.CONSUMER,
  attributes: {
    'messaging.system': naming.messagingSystem ?? 'unknown',
    'messaging.operation.type': 'process',
    'messaging.destination.name': delivery.topic,
    'messaging.destination.partition.id': String(delivery.partition),
    'messaging.consumer.group.name': naming.serviceName,
    'messaging.message.id': eventId,
    'medical.reception_id': delivery.key,
  },
});
