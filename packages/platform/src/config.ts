import path from 'node:path';
import { readTracingConfig, type TracingConfig } from './telemetry/tracing-config.ts';

/**
 * Service configuration, read once from environment variables and validated at start-up so a
 * typo fails the start with a message naming the variable, not a crash an hour later.
 */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export type ServiceConfig = {
  serviceName: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  dataDir: string;
  topic: string;
  deadLetterTopic: string;
  /**
   * This service's consumer group: CONSUMER_GROUP_PREFIX + the service name. A prefix lets two
   * deployments (staging beside training, say) share one Kafka cluster with topics of their own.
   */
  consumerGroup: string;
  /** How often a handler that throws is retried before its event is dead-lettered. */
  retryBudget: number;
  /** How long the inbox remembers an applied event's id (see messaging/inbox-retention.ts). */
  inboxRetentionDays: number;
  retryBaseDelayMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
  /**
   * After SIGTERM the service first reports not-ready and keeps serving this long, so load
   * balancers (the gateway's health checks, a Kubernetes Service) stop sending it requests
   * before it closes its connections. 0 closes at once.
   */
  shutdownDrainMs: number;
  /** Set: spans are exported over OTLP (telemetry/tracing-config.ts). Unset: tracing is off. */
  tracing?: TracingConfig;
  /** Set: the production transport (Apache Kafka). Unset: the embedded log under DATA_DIR. */
  kafka?: {
    brokers: string[];
    clientId: string;
    /** Partitions of the topics this service creates at start-up when they do not exist. */
    partitions: number;
    replicationFactor: number;
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
  };
  /** Set: the production database (PostgreSQL). Unset: a SQLite file under DATA_DIR. */
  postgres?: {
    url: string;
    /** The schema holding this service's tables, so one server can host every service. */
    schema: string;
    poolSize: number;
  };
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const logLevels: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function readString(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  return raw ? raw : fallback;
}

export function readUrl(env: Env, name: string, fallback: string): string {
  const value = readString(env, name, fallback);
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

export function loadConfig(serviceName: string, defaultPort: number, env: Env = process.env): ServiceConfig {
  const logLevel = readString(env, 'LOG_LEVEL', 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  }
  const topic = readString(env, 'KAFKA_TOPIC', 'medical');
  return {
    serviceName,
    host: readString(env, 'HOST', '0.0.0.0'),
    port: readInteger(env, 'PORT', defaultPort, 0, 65535),
    logLevel,
    dataDir: path.resolve(readString(env, 'DATA_DIR', './data')),
    topic,
    deadLetterTopic: readString(env, 'DEAD_LETTER_TOPIC', `${topic}.dlq`),
    consumerGroup: `${readString(env, 'CONSUMER_GROUP_PREFIX', '')}${serviceName}`,
    retryBudget: readInteger(env, 'EVENT_RETRY_BUDGET', 5, 0, 100),
    inboxRetentionDays: readInteger(env, 'INBOX_RETENTION_DAYS', 30, 8, 3_650),
    retryBaseDelayMs: readInteger(env, 'EVENT_RETRY_BASE_DELAY_MS', 200, 1, 60_000),
    pollIntervalMs: readInteger(env, 'EVENT_POLL_INTERVAL_MS', 25, 1, 10_000),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    shutdownDrainMs: readInteger(env, 'SHUTDOWN_DRAIN_MS', 0, 0, 120_000),
    ...readTracing(env, serviceName),
    ...readKafka(env, serviceName),
    ...readPostgres(env, serviceName),
  };
}

function readTracing(env: Env, serviceName: string): Pick<ServiceConfig, 'tracing'> {
  const tracing = readTracingConfig(env, serviceName);
  return tracing ? { tracing } : {};
}

function readKafka(env: Env, serviceName: string): Pick<ServiceConfig, 'kafka'> {
  const raw = env.KAFKA_BROKERS?.trim();
  if (!raw) return {};
  const brokers = raw.split(',').map((b) => b.trim()).filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) throw new ConfigError(`KAFKA_BROKERS must be host:port[,host:port…], got "${raw}"`);
  }
  return {
    kafka: {
      brokers,
      clientId: readString(env, 'KAFKA_CLIENT_ID', `${serviceName}-${process.pid}`),
      partitions: readInteger(env, 'KAFKA_PARTITIONS', 3, 1, 10_000),
      replicationFactor: readInteger(env, 'KAFKA_REPLICATION_FACTOR', 1, 1, 100),
      // Brokers refuse sessions shorter than group.min.session.timeout.ms (6 s by default).
      sessionTimeoutMs: readInteger(env, 'KAFKA_SESSION_TIMEOUT_MS', 10_000, 6_000, 600_000),
      heartbeatIntervalMs: readInteger(env, 'KAFKA_HEARTBEAT_INTERVAL_MS', 1_000, 100, 60_000),
    },
  };
}

function readPostgres(env: Env, serviceName: string): Pick<ServiceConfig, 'postgres'> {
  const url = env.DATABASE_URL?.trim();
  if (!url) return {};
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('not postgres');
  } catch {
    throw new ConfigError('DATABASE_URL must be a postgres://user:password@host:port/database URL');
  }
  const schema = readString(env, 'DATABASE_SCHEMA', serviceName.replaceAll('-', '_'));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(`DATABASE_SCHEMA must be a lower-case SQL identifier, got "${schema}"`);
  }
  return { postgres: { url, schema, poolSize: readInteger(env, 'DATABASE_POOL_SIZE', 10, 1, 1000) } };
}
