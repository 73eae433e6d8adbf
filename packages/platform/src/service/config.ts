import path from 'node:path';
import type { PostgresSettings } from '../db/open-database.ts';
import { ConfigError, readInteger, readString, type Env } from '../lib/env.ts';
import { readTimeZone } from '../lib/hospital-day.ts';
import { RETENTION_RULES, retentionDays, retentionMs } from '../retention/policy.ts';
import type { LogLevel } from '../telemetry/log-fields.ts';
import { loadCatalog, type LiveCatalog } from '../reference/catalog.ts';
import { readTracingConfig, type TracingConfig } from '../telemetry/tracing-config.ts';
import type { KafkaSettings, KafkaTlsSettings } from '../transport/transport-config.ts';

/**
 * Service configuration, read once from environment variables and validated at start-up so a
 * typo fails the start with a message naming the variable, not a crash an hour later.
 */
export type ServiceConfig = {
  serviceName: string;
  host: string;
  port: number;
  logLevel: LogLevel;
  dataDir: string;
  topic: string;
  deadLetterTopic: string;
  /** ACCESS_LOG_TOPIC: where every service (and the gateway) sends its access records (access/). */
  accessLogTopic: string;
  /** retention.ms of each of the three topics, from the retention table (retention/policy.ts). */
  topicRetentionMs: Readonly<Record<string, number>>;
  /**
   * This service's consumer group: CONSUMER_GROUP_PREFIX + the service name. A prefix lets two
   * deployments (staging beside training, say) share one Kafka cluster with topics of their own.
   */
  consumerGroup: string;
  /** How often a handler that throws is retried before its event is dead-lettered. */
  retryBudget: number;
  /** How long the inbox remembers an applied event's id (see inbox/inbox-retention.ts). */
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
  kafka?: KafkaSettings;
  /** Set: the production database (PostgreSQL). Unset: a SQLite file under DATA_DIR. */
  postgres?: PostgresSettings;
  /** The hospital's departments and examinations (HOSPITAL_CATALOG_FILE, else the contracts' default catalog), kept up to date with the file. */
  catalog: LiveCatalog;
  /** How often the catalog file is read again for changes (CATALOG_RELOAD_INTERVAL_MS). */
  catalogReloadIntervalMs: number;
  /** The hospital's IANA time zone (HOSPITAL_TIME_ZONE): its days, in which queue numbers count and tickets expire. */
  timeZone: string;
};

const logLevels: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(serviceName: string, defaultPort: number, env: Env = process.env): ServiceConfig {
  const logLevel = readString(env, 'LOG_LEVEL', 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${logLevels.join(', ')}, got "${logLevel}"`);
  }
  // Every retention setting is checked here, so a period set below its minimum stops the start
  // naming it, wherever it is used (the purges, npm run purge).
  for (const rule of RETENTION_RULES) retentionDays(rule.kind, env);
  const topic = readString(env, 'KAFKA_TOPIC', 'medical');
  const deadLetterTopic = readString(env, 'DEAD_LETTER_TOPIC', `${topic}.dlq`);
  const accessLogTopic = readString(env, 'ACCESS_LOG_TOPIC', `${topic}.access-log`);
  return {
    serviceName,
    catalog: loadCatalog(env),
    catalogReloadIntervalMs: readInteger(env, 'CATALOG_RELOAD_INTERVAL_MS', 10_000, 100, 3_600_000),
    timeZone: readTimeZone(env),
    host: readString(env, 'HOST', '0.0.0.0'),
    port: readInteger(env, 'PORT', defaultPort, 0, 65535),
    logLevel,
    dataDir: path.resolve(readString(env, 'DATA_DIR', './data')),
    topic,
    deadLetterTopic,
    // Each topic as the retention table keeps its kind, set when a service creates it.
    topicRetentionMs: { [topic]: retentionMs('event-log'), [deadLetterTopic]: retentionMs('dead-letters'), [accessLogTopic]: retentionMs('access-log-topic') },
    accessLogTopic,
    consumerGroup: `${readString(env, 'CONSUMER_GROUP_PREFIX', '')}${serviceName}`,
    retryBudget: readInteger(env, 'EVENT_RETRY_BUDGET', 5, 0, 100),
    inboxRetentionDays: retentionDays('inbox', env)!,
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
      ...readKafkaTls(env),
    },
  };
}

const tlsFiles = { caFile: 'KAFKA_TLS_CA_FILE', certFile: 'KAFKA_TLS_CERT_FILE', keyFile: 'KAFKA_TLS_KEY_FILE' } as const;

/**
 * KAFKA_TLS=true: TLS to the brokers, their certificates and names verified. The files' paths are
 * checked here (a file without TLS on, a certificate without its key, is a mistake); their
 * contents when the clients are made (transport/kafka-tls.ts).
 */
function readKafkaTls(env: Env): Pick<KafkaSettings, 'tls'> {
  const enabled = readString(env, 'KAFKA_TLS', 'false').toLowerCase();
  if (enabled !== 'true' && enabled !== 'false') throw new ConfigError(`KAFKA_TLS must be true or false, got "${env.KAFKA_TLS}"`);
  const tls: KafkaTlsSettings = {};
  for (const [key, name] of Object.entries(tlsFiles) as Array<[keyof KafkaTlsSettings, string]>) {
    const file = env[name]?.trim();
    if (!file) continue;
    if (enabled !== 'true') throw new ConfigError(`${name} is set but KAFKA_TLS is not true: set KAFKA_TLS=true to connect with TLS, or unset ${name}`);
    tls[key] = path.resolve(file);
  }
  if (enabled !== 'true') return {};
  if (tls.certFile && !tls.keyFile) throw new ConfigError('KAFKA_TLS_KEY_FILE must be set with KAFKA_TLS_CERT_FILE: the client certificate\'s key');
  if (tls.keyFile && !tls.certFile) throw new ConfigError('KAFKA_TLS_CERT_FILE must be set with KAFKA_TLS_KEY_FILE: the key\'s client certificate');
  return { tls };
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
  const migrations = readString(env, 'DATABASE_MIGRATIONS', 'at-start');
  if (migrations !== 'at-start' && migrations !== 'separate') throw new ConfigError(`DATABASE_MIGRATIONS must be at-start or separate, got "${migrations}"`);
  return { postgres: { url, schema, poolSize: readInteger(env, 'DATABASE_POOL_SIZE', 10, 1, 1000), migrations } };
}
