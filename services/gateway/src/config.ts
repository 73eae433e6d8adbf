import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  loadAuthConfig,
  loadConfig,
  loadCatalog,
  readInteger,
  readTimeZone,
  readUrl,
  type AuthConfig,
  type LiveCatalog,
  type LogLevel,
  type TracingConfig,
  type TransportConfig,
} from '@medical/platform/edge';
import { DEFAULT_ATTACHMENT_MAX_BYTES, MAX_ATTACHMENT_MAX_BYTES } from '@medical/contracts';

/**
 * The gateway's settings, read once from the environment and validated at start so a typo in a
 * variable fails the start with a message naming it, not the first request an hour later.
 */

/** One service behind the gateway: the path prefixes it owns and the replicas that serve it. */
export type Upstream = {
  service: string;
  prefixes: readonly string[];
  /**
   * Single routes (Fastify paths) below another service's prefix that this one answers: the router
   * prefers them to that prefix's wildcard (`/patients/:patientId/access-log` beside `/patients/*`).
   */
  routes?: readonly string[];
  /** The variable the origins came from, for messages about this service. */
  variable: string;
  /** Bare origins (http://host:port), one per replica, in the order they were listed. */
  origins: string[];
  /**
   * The POST routes (Fastify paths) that take a file upload: their multipart bodies are streamed
   * through to the service, up to the attachment limit, instead of buffered up to 1 MiB.
   */
  uploads?: readonly string[];
  /**
   * The GET routes that answer a server-sent event stream: relayed with no limit on their
   * length, only on the quiet between two events (the service sends a keepalive well within it).
   */
  streams?: readonly string[];
};

/** The staff console's settings (console.ts). */
export type ConsoleConfig = {
  /** The built console (CONSOLE_DIR, default web/dist of this checkout). */
  dir: string;
  /** The console's client id at the identity provider, for OIDC sign-in (CONSOLE_OIDC_CLIENT_ID). */
  clientId?: string;
  /** The scopes the console asks for (CONSOLE_OIDC_SCOPE). */
  scope: string;
  /** The hospital's time zone, in which the console shows every date and time (HOSPITAL_TIME_ZONE). */
  timeZone: string;
  /**
   * The hospital's catalog, which the desk and the doctor choose from (HOSPITAL_CATALOG_FILE, as
   * the services read it), kept up to date with the file as theirs is.
   */
  catalog: LiveCatalog;
  /** How often the catalog file is read again for changes (CATALOG_RELOAD_INTERVAL_MS). */
  catalogReloadIntervalMs: number;
  /**
   * Where patients' phones reach the ticket pages (TICKET_BASE_URL): the origin the QR code on a
   * ticket links to, which may be a public address the staff's console is not. Unset: the console's own.
   */
  ticketBaseUrl?: string;
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
  /** How often each replica's /readyz is asked whether it should get traffic. */
  healthIntervalMs: number;
  /** How long a replica has to answer its /readyz before it counts as unhealthy. */
  healthTimeoutMs: number;
  upstreams: Upstream[];
  /**
   * The largest file an upload route passes on (ATTACHMENT_MAX_BYTES, the same variable and
   * default as the examination service's); the service enforces its own limit exactly.
   */
  attachmentMaxBytes: number;
  /** Set: spans are exported over OTLP, as by every service. */
  tracing?: TracingConfig;
  /** How tokens are verified (and, with AUTH_MODE=dev, issued): see packages/platform/src/auth/auth-config.ts. */
  auth: AuthConfig;
  /** Where the development identity provider keeps its signing key (DATA_DIR/auth). */
  dataDir: string;
  /**
   * The browser origins allowed to call the API cross-origin (CORS_ORIGINS, comma-separated).
   * Empty, the default: no CORS headers at all, so only same-origin pages (and non-browser
   * clients) use the API.
   */
  corsOrigins: string[];
  /**
   * Requests per minute per client (the token's subject once authenticated, else the address);
   * 0 turns the limit off (load tests and benchmarks).
   */
  rateLimitPerMinute: number;
  /** Sign-in attempts (POST /auth/token) per minute per address: password guessing; 0 turns it off. */
  tokenRateLimitPerMinute: number;
  /** Requests per client address per minute, every request counted before authentication (0: off). */
  addressRateLimitPerMinute: number;
  /**
   * How many proxies in front of the gateway set X-Forwarded-For (the mesh's ingress gateway and
   * sidecar, a cloud load balancer): the client's address is read past that many (0: the peer).
   */
  trustProxyHops: number;
  console: ConsoleConfig;
  /**
   * Where the gateway sends the access records of the refusals it answers itself (the event
   * transport's settings, as every service reads them: DATA_DIR's embedded log, or KAFKA_*; and
   * ACCESS_LOG_TOPIC).
   */
  accessLog: TransportConfig;
};

type Env = Record<string, string | undefined>;

/** The routing table of DESIGN.md §6: each resource prefix belongs to exactly one service. */
const routes = [
  // The patient registry is the reception's: the desk registers patients and their visits.
  { service: 'reception', prefixes: ['/receptions', '/patients'], variable: 'RECEPTION_URL', fallback: 'http://127.0.0.1:8082' },
  { service: 'diagnosis', prefixes: ['/diagnoses'], variable: 'DIAGNOSIS_URL', fallback: 'http://127.0.0.1:8083' },
  {
    service: 'examination',
    prefixes: ['/examinations'],
    variable: 'EXAMINATION_URL',
    fallback: 'http://127.0.0.1:8084',
    uploads: ['/examinations/:id/attachments'],
  },
  {
    service: 'patient-management',
    // The waiting room's queues and the patients' tickets are read from the visits' events, as the board is.
    prefixes: ['/patientManagements', '/queues', '/tickets'],
    // A patient's access log is kept by patient-management, beside the visits it names.
    // A ticket's route is named on its own so that the gateway finds it public by its pattern.
    routes: ['/patients/:patientId/access-log', '/tickets/:token'],
    variable: 'PATIENT_MANAGEMENT_URL',
    fallback: 'http://127.0.0.1:8085',
    streams: ['/patientManagements/stream', '/queues/:department/stream'],
  },
  {
    // FHIR R4 for the hospital's other systems; its CapabilityStatement, public, is named on its own.
    service: 'interop',
    prefixes: ['/fhir'],
    routes: ['/fhir/R4/metadata'],
    variable: 'INTEROP_URL',
    fallback: 'http://127.0.0.1:8086',
  },
] as const;

/** Long enough for a loaded replica to answer its readiness check, short next to the interval. */
const HEALTH_TIMEOUT_MS = 1_000;

/**
 * The gateway forwards the request path unchanged, so an upstream URL carrying a path
 * (http://host/reception) would be silently dropped by the proxy; refuse it instead.
 */
function readOrigin(name: string, entry: string): string {
  // readUrl does the http(s) check with the platform's wording; it only needs the one entry.
  const value = readUrl({ [name]: entry }, name, entry);
  const url = new URL(value);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(`${name} must be an origin such as http://host:8080 with no path, got "${entry}"`);
  }
  return url.origin;
}

/**
 * One origin per replica, comma-separated (a single origin is a list of one). Unset or empty
 * means the local default, as for every other variable; a list with an empty entry or the same
 * replica twice is a typo, refused rather than guessed at.
 */
function readOrigins(env: Env, name: string, fallback: string): string[] {
  const raw = env[name]?.trim() ? env[name]! : fallback;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.every((entry) => entry === '')) {
    throw new ConfigError(`${name} must list at least one origin such as http://host:8080, got "${raw}"`);
  }
  const origins: string[] = [];
  for (const entry of entries) {
    if (entry === '') throw new ConfigError(`${name} has an empty entry in "${raw}"; separate origins with single commas`);
    const origin = readOrigin(name, entry);
    if (origins.includes(origin)) throw new ConfigError(`${name} lists ${origin} twice, got "${raw}"`);
    origins.push(origin);
  }
  return origins;
}

/**
 * CORS_ORIGINS: exact origins (scheme, host and port), never `*` nor a path: a wildcard would let
 * any site's scripts call the API with a token they got hold of, and a path is never an origin.
 */
function readCorsOrigins(env: Env): string[] {
  const raw = env.CORS_ORIGINS?.trim() ?? '';
  if (raw === '') return [];
  const origins: string[] = [];
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') throw new ConfigError(`CORS_ORIGINS has an empty entry in "${raw}"; separate origins with single commas`);
    if (entry === '*' || entry === 'null') throw new ConfigError(`CORS_ORIGINS must list exact origins such as https://console.example.org, not "${entry}"`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new ConfigError(`CORS_ORIGINS must list origins such as https://console.example.org, got "${entry}"`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '')) {
      throw new ConfigError(`CORS_ORIGINS must list origins such as https://console.example.org with no path, got "${entry}"`);
    }
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;
export const DEFAULT_TOKEN_RATE_LIMIT_PER_MINUTE = 10;
export const DEFAULT_ADDRESS_RATE_LIMIT_PER_MINUTE = 6_000;

export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  // The platform's loader validates PORT, HOST, LOG_LEVEL and SHUTDOWN_TIMEOUT_MS the same way
  // for every service; of the database and event settings it also reads, the gateway keeps the
  // transport's, for the access records of its refusals.
  const base = loadConfig('gateway', 8088, env);
  const auth = loadAuthConfig(env);
  return {
    host: listenAddress(env, auth, base.host),
    port: base.port,
    logLevel: base.logLevel,
    shutdownTimeoutMs: base.shutdownTimeoutMs,
    upstreamTimeoutMs: readInteger(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1, 600_000),
    healthIntervalMs: readInteger(env, 'UPSTREAM_HEALTH_INTERVAL_MS', 2_000, 10, 600_000),
    healthTimeoutMs: HEALTH_TIMEOUT_MS,
    upstreams: routes.map((route) => ({
      service: route.service,
      prefixes: route.prefixes,
      variable: route.variable,
      origins: readOrigins(env, route.variable, route.fallback),
      ...('routes' in route ? { routes: route.routes } : {}),
      ...('uploads' in route ? { uploads: route.uploads } : {}),
      ...('streams' in route ? { streams: route.streams } : {}),
    })),
    attachmentMaxBytes: readInteger(env, 'ATTACHMENT_MAX_BYTES', DEFAULT_ATTACHMENT_MAX_BYTES, 1, MAX_ATTACHMENT_MAX_BYTES),
    ...(base.tracing ? { tracing: base.tracing } : {}),
    auth,
    dataDir: base.dataDir,
    corsOrigins: readCorsOrigins(env),
    rateLimitPerMinute: readInteger(env, 'RATE_LIMIT_PER_MINUTE', DEFAULT_RATE_LIMIT_PER_MINUTE, 0, 1_000_000),
    tokenRateLimitPerMinute: readInteger(env, 'AUTH_TOKEN_RATE_LIMIT_PER_MINUTE', DEFAULT_TOKEN_RATE_LIMIT_PER_MINUTE, 0, 100_000),
    addressRateLimitPerMinute: readInteger(env, 'ADDRESS_RATE_LIMIT_PER_MINUTE', DEFAULT_ADDRESS_RATE_LIMIT_PER_MINUTE, 0, 10_000_000),
    trustProxyHops: readInteger(env, 'TRUST_PROXY_HOPS', 0, 0, 10),
    console: readConsoleConfig(env),
    accessLog: {
      dataDir: base.dataDir,
      topic: base.topic,
      deadLetterTopic: base.deadLetterTopic,
      accessLogTopic: base.accessLogTopic,
      topics: [base.accessLogTopic],
      pollIntervalMs: base.pollIntervalMs,
      retryBaseDelayMs: base.retryBaseDelayMs,
      ...(base.kafka ? { kafka: base.kafka } : {}),
    },
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/**
 * With the development identity provider (demo users, a known password) the gateway listens on
 * loopback only: 127.0.0.1 unless HOST names another loopback address. A cluster for development
 * that must reach it from elsewhere says so with AUTH_DEV_LISTEN_BEYOND_LOOPBACK=true; nothing
 * else opens the demo users to a network.
 */
function listenAddress(env: Env, auth: AuthConfig, configured: string): string {
  if (auth.mode !== 'dev' || env.AUTH_DEV_LISTEN_BEYOND_LOOPBACK?.trim() === 'true') return configured;
  const host = env.HOST?.trim() || '127.0.0.1';
  if (LOOPBACK.test(host)) return host;
  throw new ConfigError(
    `HOST=${host} is beyond loopback, which AUTH_MODE=dev refuses: its demo users have a known password. ` +
      'Listen on 127.0.0.1, use AUTH_MODE=oidc, or set AUTH_DEV_LISTEN_BEYOND_LOOPBACK=true for a development cluster',
  );
}

/** web/dist of this checkout, where `npm run build:web` puts the console. */
const BUILT_CONSOLE = fileURLToPath(new URL('../../../web/dist', import.meta.url));

function readConsoleConfig(env: Env): ConsoleConfig {
  const timeZone = readTimeZone(env);
  const clientId = env.CONSOLE_OIDC_CLIENT_ID?.trim();
  return {
    dir: path.resolve(env.CONSOLE_DIR?.trim() || BUILT_CONSOLE),
    ...(clientId ? { clientId } : {}),
    scope: env.CONSOLE_OIDC_SCOPE?.trim() || 'openid profile',
    timeZone,
    catalog: loadCatalog(env),
    catalogReloadIntervalMs: readInteger(env, 'CATALOG_RELOAD_INTERVAL_MS', 10_000, 100, 3_600_000),
    ...(env.TICKET_BASE_URL?.trim() ? { ticketBaseUrl: readOrigin('TICKET_BASE_URL', env.TICKET_BASE_URL.trim()) } : {}),
  };
}
