import os from 'node:os';
import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { TracingConfig } from './tracing-config.ts';

/**
 * A service's tracer. Each service instance has its own provider (not the API's global one), as
 * each has its own metrics registry, so that several services in one test process keep their
 * `service.name`. The context manager and the W3C propagator are process-wide: they only carry
 * the current span, whoever made it.
 *
 * With tracing off, `tracer` is the API's no-op tracer: spans cost next to nothing and record
 * nothing, yet a `traceparent` that came in still goes out (a no-op span keeps its parent's
 * context), so a trace started upstream is not broken by a service that does not export.
 */
export type Tracing = {
  tracer: Tracer;
  /** Whether spans are recorded and exported (OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  recording: boolean;
  /** Exports the spans still queued, then stops. */
  shutdown(): Promise<void>;
};

const SERVICE_VERSION = '0.1.0';
/** Spans wait at most this long before export: a visit shows up in the trace viewer within seconds. */
const EXPORT_DELAY_MS = 1_000;

let processWideInstalled = false;

/** The async-local context manager and the W3C trace-context propagator, once per process. */
export function installTraceContext(): void {
  if (processWideInstalled) return;
  processWideInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

function samplerFor(config: TracingConfig['sampler']): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.ratio);
  switch (config.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** No export: spans record nothing, incoming trace context still passes through. */
export function tracingOff(): Tracing {
  installTraceContext();
  return { tracer: trace.getTracer('@medical/platform'), recording: false, shutdown: async () => {} };
}

export function createTracing(serviceName: string, config: TracingConfig | undefined, logger: Logger): Tracing {
  if (!config) return tracingOff();
  installTraceContext();
  const exporterOptions = { url: config.url, headers: config.headers };
  const exporter = config.protocol === 'http/json' ? new JsonExporter(exporterOptions) : new ProtobufExporter(exporterOptions);
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: SERVICE_VERSION,
      'service.namespace': 'medical-visit-workflow',
      'service.instance.id': `${os.hostname()}-${process.pid}`,
    }),
    sampler: samplerFor(config.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: EXPORT_DELAY_MS })],
  });
  logger.info({ url: config.url, protocol: config.protocol, sampler: config.sampler.kind }, `${serviceName} exports traces over OTLP`);
  return {
    tracer: provider.getTracer('@medical/platform', SERVICE_VERSION),
    recording: true,
    shutdown: () =>
      provider.shutdown().catch((error: unknown) => {
        logger.warn({ err: error }, 'could not export the last spans');
      }),
  };
}

/** The W3C `traceparent` of a context's span, if it has a valid one. */
export function traceparentOf(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** The context a `traceparent` (and `tracestate`) header describes, on top of `base`. */
export function contextFrom(headers: Record<string, string | string[] | undefined>, base: Context = context.active()): Context {
  return propagation.extract(base, headers);
}
