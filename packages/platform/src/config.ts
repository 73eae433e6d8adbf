import path from 'node:path';

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
  /** How often a handler that throws is retried before its event is dead-lettered. */
  retryBudget: number;
  retryBaseDelayMs: number;
  pollIntervalMs: number;
  shutdownTimeoutMs: number;
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
    retryBudget: readInteger(env, 'EVENT_RETRY_BUDGET', 5, 0, 100),
    retryBaseDelayMs: readInteger(env, 'EVENT_RETRY_BASE_DELAY_MS', 200, 1, 60_000),
    pollIntervalMs: readInteger(env, 'EVENT_POLL_INTERVAL_MS', 25, 1, 10_000),
    shutdownTimeoutMs: readInteger(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
  };
}
