import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { ROOT_CONTEXT, SpanKind, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import Fastify from 'fastify';
import pino from 'pino';
import { ConfigError } from '../src/lib/env.ts';
import { loadConfig } from '../src/service/config.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { loggerOptions } from '../src/telemetry/log-fields.ts';
import { afterCommit, traceDatabase } from '../src/service/traced-database.ts';
import { readTracingConfig } from '../src/telemetry/tracing-config.ts';
import { contextFrom, installTraceContext, type Tracing } from '../src/telemetry/tracing.ts';
import { purgeVisitTraces, visitTraceparent } from '../src/telemetry/visit-traces.ts';
import { defer, tempDir } from './helpers.ts';

describe('trace export settings', () => {
  test('off unless an OTLP endpoint is given, or when the SDK is disabled', () => {
    assert.equal(readTracingConfig({}, 'reception'), undefined);
    assert.equal(readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }, 'reception'), undefined);
    assert.equal(loadConfig('reception', 8082, {}).tracing, undefined);
  });

  test('the base endpoint gets /v1/traces, the traces endpoint is used as it is; http/protobuf by default', () => {
    const base = readTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'reception')!;
    assert.equal(base.url, 'http://collector:4318/v1/traces');
    assert.equal(base.protocol, 'http/protobuf');
    assert.equal(base.serviceName, 'reception');
    assert.deepEqual(base.sampler, { kind: 'parentbased_always_on', ratio: 1 });
    const signal = readTracingConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://tempo.example/otlp/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
      'diagnosis',
    )!;
    assert.equal(signal.url, 'https://tempo.example/otlp/traces');
    assert.equal(signal.protocol, 'http/json');
  });

  test('headers, resource attributes, service name and sampler come from the standard variables', () => {
    const config = readTracingConfig(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-tenant=ward-3',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=medical,k8s.pod.name=reception-7d9',
        OTEL_SERVICE_NAME: 'reception-blue',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      },
      'reception',
    )!;
    assert.deepEqual(config.headers, { authorization: 'Bearer abc', 'x-tenant': 'ward-3' });
    assert.deepEqual(config.resourceAttributes, { 'k8s.namespace.name': 'medical', 'k8s.pod.name': 'reception-7d9' });
    assert.equal(config.serviceName, 'reception-blue');
    assert.deepEqual(config.sampler, { kind: 'parentbased_traceidratio', ratio: 0.25 });
  });

  test('a setting that would silently export nothing fails the start with its name', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL.*gRPC is not supported/],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/],
      [{ ...endpoint, OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER must be one of/],
      [{ ...endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, /OTEL_TRACES_SAMPLER_ARG/],
      [{ ...endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' }, /OTEL_EXPORTER_OTLP_HEADERS must be key=value/],
    ];
    for (const [env, message] of refused) {
      assert.throws(() => loadConfig('reception', 8082, env), (error: unknown) => error instanceof ConfigError && message.test(error.message), JSON.stringify(env));
    }
  });
});

function recordingTracing(): { tracing: Tracing; exporter: InMemorySpanExporter } {
  installTraceContext();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  return { tracing: { tracer: provider.getTracer('test'), recording: true, shutdown: () => provider.shutdown() }, exporter };
}

function captureLog(): { lines: () => Array<Record<string, unknown>>; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('log lines', () => {
  test('carry the trace and span ids of the current span, and none outside a span', () => {
    const { tracing } = recordingTracing();
    const { stream, lines } = captureLog();
    const logger = pino(loggerOptions('reception', 'info'), stream);
    logger.info('outside');
    const span = tracing.tracer.startSpan('work');
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info({ eventId: 'e-1' }, 'inside'));
    span.end();
    const [outside, inside] = lines();
    assert.equal(outside!.trace_id, undefined);
    assert.equal(inside!.trace_id, span.spanContext().traceId);
    assert.equal(inside!.span_id, span.spanContext().spanId);
    assert.equal(inside!.eventId, 'e-1');
    assert.equal(inside!.service, 'reception');
  });

  test('never carry personal data, wherever it sits in the logged object', () => {
    const { stream, lines } = captureLog();
    const logger = pino(loggerOptions('reception', 'info'), stream);
    logger.info({ patientName: 'Kim Minji', birthDate: '1990-01-01', event: { data: { patientName: 'Kim Minji', symptom: 'cough', reason: 'allergy' } } }, 'a careless line');
    logger.info({ body: { opinion: 'bronchitis', result: 'shadow on the left lung', instructions: 'fasting' } }, 'another');
    logger.warn({ reason: 'connection refused' }, 'the platform says why');
    const text = JSON.stringify(lines());
    for (const secret of ['Kim Minji', '1990-01-01', 'cough', 'allergy', 'bronchitis', 'shadow', 'fasting']) {
      assert.ok(!text.includes(secret), `"${secret}" reached the log: ${text}`);
    }
    assert.ok(text.includes('connection refused'), "the platform's own reason stays readable");
  });
});

describe('request log lines', () => {
  test('name the route pattern, never the URL: no patient identifier from a path or a query string', async (t: TestContext) => {
    const { stream, lines } = captureLog();
    const app = Fastify({ logger: { ...loggerOptions('reception', 'info'), stream } });
    app.get('/patients/:patientId/visits', async () => ({ ok: true }));
    defer(t, () => app.close());
    const answer = await app.inject({ method: 'GET', url: '/patients/P-7731/visits?patientId=P-7731&name=Kim' });
    assert.equal(answer.statusCode, 200);
    const text = JSON.stringify(lines());
    assert.ok(!text.includes('P-7731') && !text.includes('Kim'), `a patient identifier reached the log: ${text}`);
    const incoming = lines().find((line) => line.msg === 'incoming request') as { req?: { method?: string; route?: string } } | undefined;
    assert.deepEqual({ method: incoming?.req?.method, route: incoming?.req?.route }, { method: 'GET', route: '/patients/:patientId/visits' });
  });
});

describe('database transactions', () => {
  test('each is a span, and afterCommit callbacks run after a commit and never after a rollback', async (t: TestContext) => {
    const { tracing, exporter } = recordingTracing();
    const database = traceDatabase(await openSqliteDatabase<PlatformTables>({ serviceName: 'telemetry-test', dataDir: tempDir(t), migrationSets: serviceMigrationSets({}) }), tracing.tracer);
    t.after(() => database.close());
    const ran: string[] = [];
    await database.transaction(async (trx) => {
      afterCommit(trx, () => ran.push('committed'));
      assert.deepEqual(ran, [], 'not before the commit');
    });
    await assert.rejects(
      database.transaction(async (trx) => {
        afterCommit(trx, () => ran.push('rolled back'));
        throw new Error('the effect failed');
      }),
      /the effect failed/,
    );
    assert.deepEqual(ran, ['committed']);
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => [s.name, s.kind, s.attributes['db.system.name'], s.status.code]), [
      ['db.transaction', SpanKind.CLIENT, 'sqlite', 0],
      ['db.transaction', SpanKind.CLIENT, 'sqlite', 2],
    ]);
  });
});

describe('visit traces', () => {
  test("a visit's events stay in the trace of its first event, linked to each later command's trace", async (t: TestContext) => {
    const { tracing, exporter } = recordingTracing();
    const database = traceDatabase(await openSqliteDatabase<PlatformTables>({ serviceName: 'visit-traces-test', dataDir: tempDir(t), migrationSets: serviceMigrationSets({}) }), tracing.tracer);
    t.after(() => database.close());
    const inRequest = <T>(name: string, work: () => Promise<T>) => {
      const span = tracing.tracer.startSpan(name, { kind: SpanKind.SERVER }, ROOT_CONTEXT);
      return context.with(trace.setSpan(ROOT_CONTEXT, span), work).finally(() => span.end()).then((value) => ({ value, span }));
    };
    const emit = (subject: string, type: string) => database.transaction((trx) => visitTraceparent(trx, tracing, subject, [type]));
    const traceOf = (traceparent: string | undefined) => trace.getSpanContext(contextFrom({ traceparent: traceparent! }, ROOT_CONTEXT))!.traceId;

    // The first event of visit 7 is emitted in the registration's request: that trace is the visit's.
    const registration = await inRequest('POST /receptions', () => emit('7', 'ReceptionCompleted'));
    assert.equal(traceOf(registration.value), registration.span.spanContext().traceId);
    // A later command on visit 7 arrives in a trace of its own; its events join the visit's trace.
    const confirmation = await inRequest('POST /receptions/:id/confirm', () => emit('7', 'ReceptionConfirmed'));
    assert.equal(traceOf(confirmation.value), registration.span.spanContext().traceId);
    const joining = exporter.getFinishedSpans().find((s) => s.name === 'emit ReceptionConfirmed')!;
    assert.ok(joining, 'a span in the visit trace for the joining command');
    assert.deepEqual(joining.links.map((l) => l.context.traceId), [confirmation.span.spanContext().traceId], 'linked to the command trace');
    assert.equal(joining.attributes['medical.reception_id'], '7');
    // Work already in the visit's trace (an event being handled) simply continues its span.
    const handling = tracing.tracer.startSpan('process ReceptionCompleted', {}, contextFrom({ traceparent: registration.value! }, ROOT_CONTEXT));
    const continued = await context.with(trace.setSpan(ROOT_CONTEXT, handling), () => emit('7', 'DiagnosisRegistered'));
    handling.end();
    // (through the transaction's span: the events' parent is the transaction, a child of the handling)
    const parentSpanId = trace.getSpanContext(contextFrom({ traceparent: continued! }, ROOT_CONTEXT))!.spanId;
    const transactionSpan = exporter.getFinishedSpans().find((s) => s.spanContext().spanId === parentSpanId)!;
    assert.equal(transactionSpan.name, 'db.transaction');
    assert.equal(transactionSpan.parentSpanContext?.spanId, handling.spanContext().spanId, 'the handling span is its parent');
    assert.equal(exporter.getFinishedSpans().filter((s) => s.name === 'emit DiagnosisRegistered').length, 0, 'no joining span');
    // Another visit is a trace of its own.
    const other = await inRequest('POST /receptions', () => emit('8', 'ReceptionCompleted'));
    assert.notEqual(traceOf(other.value), registration.span.spanContext().traceId);
    // Remembered traces are purged after their retention.
    assert.equal(await purgeVisitTraces(database.db, new Date(Date.now() + 1000)), 2);
  });

  test('with tracing off nothing is stored and an incoming traceparent passes through', async (t: TestContext) => {
    installTraceContext();
    const database = await openSqliteDatabase<PlatformTables>({ serviceName: 'visit-traces-off', dataDir: tempDir(t), migrationSets: serviceMigrationSets({}) });
    t.after(() => database.close());
    const off: Tracing = { tracer: trace.getTracer('off'), recording: false, shutdown: async () => {} };
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const parent = contextFrom({ traceparent: incoming }, ROOT_CONTEXT);
    const passed = await context.with(parent, () => database.transaction((trx) => visitTraceparent(trx, off, '9', ['ReceptionCompleted'])));
    assert.equal(passed, incoming);
    assert.equal(await database.transaction((trx) => visitTraceparent(trx, off, '9', ['ReceptionCompleted'])), undefined, 'no context, no traceparent');
    assert.deepEqual(await database.db.selectFrom('visit_traces').selectAll().execute(), []);
  });
});
