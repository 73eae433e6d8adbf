import { ConfigError } from '../lib/env.ts';

/**
 * Trace export settings, read from the OpenTelemetry SDK's standard environment variables so an
 * operator configures this system like any other instrumented service. Tracing is off unless an
 * OTLP endpoint is given.
 *
 * - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the traces URL as is; or OTEL_EXPORTER_OTLP_ENDPOINT, the
 *   collector's base URL, to which `/v1/traces` is appended (as the specification says).
 * - OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL: `http/protobuf` (the
 *   default) or `http/json`. gRPC is refused at start rather than silently not exported.
 * - OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS): `key=value,key=value`, for a collector
 *   that wants a token.
 * - OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG: parentbased_always_on (the default),
 *   parentbased_traceidratio with a ratio, always_on, always_off, traceidratio,
 *   parentbased_always_off.
 * - OTEL_SERVICE_NAME overrides `service.name` (the service's own name by default);
 *   OTEL_RESOURCE_ATTRIBUTES adds resource attributes (Kubernetes namespace, pod, ...).
 * - OTEL_SDK_DISABLED=true turns tracing off whatever else is set.
 */
export type TracingConfig = {
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  sampler: { kind: SamplerKind; ratio: number };
  serviceName: string;
  resourceAttributes: Record<string, string>;
};

export const samplerKinds = [
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
  'always_on',
  'always_off',
  'traceidratio',
] as const;
export type SamplerKind = (typeof samplerKinds)[number];

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

/** `key=value,key=value` with percent-encoded values (the W3C Baggage-like format of the spec). */
function readPairs(env: Env, name: string): Record<string, string> {
  const raw = value(env, name);
  if (!raw) return {};
  const pairs: Record<string, string> = {};
  for (const item of raw.split(',')) {
    if (item.trim() === '') continue;
    const at = item.indexOf('=');
    if (at <= 0) throw new ConfigError(`${name} must be key=value[,key=value…], got "${raw}"`);
    try {
      pairs[item.slice(0, at).trim()] = decodeURIComponent(item.slice(at + 1).trim());
    } catch {
      throw new ConfigError(`${name} has a badly encoded value in "${item.trim()}"`);
    }
  }
  return pairs;
}

function readTracesUrl(env: Env): string | undefined {
  const signal = value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const base = value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  const [name, url] = signal ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', signal] : ['OTEL_EXPORTER_OTLP_ENDPOINT', base && `${base.replace(/\/+$/, '')}/v1/traces`];
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${signal ?? base}"`);
  }
  return url;
}

function readProtocol(env: Env): TracingConfig['protocol'] {
  const name = value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = value(env, name) ?? 'http/protobuf';
  if (protocol === 'http/protobuf' || protocol === 'http/json') return protocol;
  throw new ConfigError(`${name} must be http/protobuf or http/json (gRPC is not supported: point it at the collector's HTTP port, 4318), got "${protocol}"`);
}

function readSampler(env: Env): TracingConfig['sampler'] {
  const kind = (value(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on') as SamplerKind;
  if (!samplerKinds.includes(kind)) throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${samplerKinds.join(', ')}, got "${kind}"`);
  const arg = value(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (arg === undefined) return { kind, ratio: 1 };
  const ratio = Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio between 0 and 1, got "${arg}"`);
  return { kind, ratio };
}

/** The tracing settings, or undefined when traces are not exported. */
export function readTracingConfig(env: Env, serviceName: string): TracingConfig | undefined {
  if (value(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return undefined;
  const url = readTracesUrl(env);
  if (!url) return undefined;
  return {
    url,
    protocol: readProtocol(env),
    headers: { ...readPairs(env, 'OTEL_EXPORTER_OTLP_HEADERS'), ...readPairs(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS') },
    sampler: readSampler(env),
    serviceName: value(env, 'OTEL_SERVICE_NAME') ?? serviceName,
    resourceAttributes: readPairs(env, 'OTEL_RESOURCE_ATTRIBUTES'),
  };
}
