import { ConfigError, loadConfig, readInteger, readUrl, type LogLevel } from '@medical/platform/config';

/**
 * The gateway's settings, read once from the environment and validated at start so a typo in a
 * variable fails the start with a message naming it, not the first request an hour later.
 */

/** One service behind the gateway: the path prefix it owns and where it listens. */
export type Upstream = {
  service: string;
  prefix: string;
  url: string;
};

export type GatewayConfig = {
  host: string;
  port: number;
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  /**
   * How long an upstream may take to connect, to start its answer, or between body chunks.
   * undici checks these on a coarse clock, so a timeout fires up to about a second late.
   */
  upstreamTimeoutMs: number;
  upstreams: Upstream[];
};

type Env = Record<string, string | undefined>;

/** The routing table of DESIGN.md §6: each resource prefix belongs to exactly one service. */
const routes = [
  { service: 'reception', prefix: '/receptions', variable: 'RECEPTION_URL', fallback: 'http://127.0.0.1:8082' },
  { service: 'diagnosis', prefix: '/diagnoses', variable: 'DIAGNOSIS_URL', fallback: 'http://127.0.0.1:8083' },
  { service: 'examination', prefix: '/examinations', variable: 'EXAMINATION_URL', fallback: 'http://127.0.0.1:8084' },
  {
    service: 'patient-management',
    prefix: '/patientManagements',
    variable: 'PATIENT_MANAGEMENT_URL',
    fallback: 'http://127.0.0.1:8085',
  },
] as const;

/**
 * The gateway forwards the request path unchanged, so an upstream URL carrying a path
 * (http://host/reception) would be silently dropped by the proxy; refuse it instead.
 */
function readOrigin(env: Env, name: string, fallback: string): string {
  const value = readUrl(env, name, fallback);
  const url = new URL(value);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(`${name} must be an origin such as http://host:8080 with no path, got "${value}"`);
  }
  return url.origin;
}

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  // The platform's loader validates PORT, HOST, LOG_LEVEL and SHUTDOWN_TIMEOUT_MS the same way
  // for every service; the gateway ignores the database and event settings it also reads.
  const base = loadConfig('gateway', 8088, env);
  return {
    host: base.host,
    port: base.port,
    logLevel: base.logLevel,
    shutdownTimeoutMs: base.shutdownTimeoutMs,
    upstreamTimeoutMs: readInteger(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1, 600_000),
    upstreams: routes.map(({ service, prefix, variable, fallback }) => ({
      service,
      prefix,
      url: readOrigin(env, variable, fallback),
    })),
  };
}
