import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, readUrl } from '../src/lib/env.ts';
import { loadConfig } from '../src/service/config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig('reception', 8082, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    return error;
  }
  assert.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  test('defaults with no settings: the embedded profile on the service port', () => {
    assert.deepEqual(loadConfig('reception', 8082, {}), {
      serviceName: 'reception',
      host: '0.0.0.0',
      port: 8082,
      logLevel: 'info',
      dataDir: path.join(process.cwd(), 'data'),
      topic: 'medical',
      deadLetterTopic: 'medical.dlq',
      consumerGroup: 'reception',
      retryBudget: 5,
      inboxRetentionDays: 30,
      retryBaseDelayMs: 200,
      pollIntervalMs: 25,
      shutdownTimeoutMs: 10_000,
      shutdownDrainMs: 0,
    });
  });

  test('the consumer group is the service name, behind an optional prefix', () => {
    assert.equal(loadConfig('diagnosis', 8083, { CONSUMER_GROUP_PREFIX: 'training-' }).consumerGroup, 'training-diagnosis');
  });

  test('the production profile is selected by KAFKA_BROKERS and DATABASE_URL, each validated', () => {
    const config = loadConfig('patient-management', 8085, {
      KAFKA_BROKERS: 'kafka-0:9092, kafka-1:9092',
      DATABASE_URL: 'postgres://medical:secret@db:5432/medical',
    });
    assert.deepEqual(config.kafka?.brokers, ['kafka-0:9092', 'kafka-1:9092']);
    assert.equal(config.kafka?.partitions, 3);
    assert.equal(config.postgres?.schema, 'patient_management');
    assert.throws(() => loadConfig('x', 1, { KAFKA_BROKERS: 'kafka-0' }), /KAFKA_BROKERS/);
    assert.throws(() => loadConfig('x', 1, { DATABASE_URL: 'mysql://db/x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig('x', 1, { DATABASE_URL: 'postgres://db/x', DATABASE_SCHEMA: 'Bad-Name' }), /DATABASE_SCHEMA/);
    assert.throws(() => loadConfig('x', 1, { KAFKA_BROKERS: 'k:9092', KAFKA_SESSION_TIMEOUT_MS: '1000' }), /KAFKA_SESSION_TIMEOUT_MS/);
  });

  test('settings from the environment, with relative paths resolved and the dead-letter topic following the topic', () => {
    const config = loadConfig('diagnosis', 8083, {
      PORT: ' 8080 ',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      DATA_DIR: 'var/run-1',
      KAFKA_TOPIC: 'visits',
      EVENT_RETRY_BUDGET: '0',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.logLevel, 'debug');
    assert.ok(path.isAbsolute(config.dataDir));
    assert.equal(config.dataDir, path.resolve('var/run-1'));
    assert.equal(config.topic, 'visits');
    assert.equal(config.deadLetterTopic, 'visits.dlq');
    assert.equal(config.retryBudget, 0);

    assert.equal(loadConfig('x', 1, { KAFKA_TOPIC: 'visits', DEAD_LETTER_TOPIC: 'poison' }).deadLetterTopic, 'poison');
    assert.equal(loadConfig('x', 8085, { PORT: '', LOG_LEVEL: '  ' }).port, 8085, 'an empty value means the default');
    assert.equal(loadConfig('x', 8085, { LOG_LEVEL: '  ' }).logLevel, 'info');
  });

  test('an invalid value fails with a message naming the variable and the value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'abc' }, /^PORT must be an integer, got "abc"$/],
      [{ PORT: '70000' }, /^PORT must be between 0 and 65535, got 70000$/],
      [{ PORT: '80.5' }, /^PORT must be an integer/],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
      [{ EVENT_RETRY_BUDGET: '-1' }, /^EVENT_RETRY_BUDGET must be an integer, got "-1"$/],
      [{ EVENT_RETRY_BUDGET: '101' }, /^EVENT_RETRY_BUDGET must be between 0 and 100/],
      [{ EVENT_POLL_INTERVAL_MS: '0' }, /^EVENT_POLL_INTERVAL_MS must be between 1 and 10000/],
      [{ SHUTDOWN_TIMEOUT_MS: '1e4' }, /^SHUTDOWN_TIMEOUT_MS must be an integer/],
    ];
    for (const [env, message] of cases) assert.match(configError(env).message, message, JSON.stringify(env));
  });
});

describe('readUrl', () => {
  test('accepts http(s) URLs without the trailing slash and names the variable otherwise', () => {
    assert.equal(readUrl({ RECEPTION_URL: 'http://reception:8080/' }, 'RECEPTION_URL', 'http://localhost:8082'), 'http://reception:8080');
    assert.equal(readUrl({}, 'RECEPTION_URL', 'http://localhost:8082'), 'http://localhost:8082');
    assert.throws(
      () => readUrl({ RECEPTION_URL: 'ftp://reception' }, 'RECEPTION_URL', 'http://localhost:8082'),
      (error: unknown) => error instanceof ConfigError && /^RECEPTION_URL must be an http\(s\) URL, got "ftp:\/\/reception"$/.test(error.message),
    );
    assert.throws(() => readUrl({ RECEPTION_URL: 'reception' }, 'RECEPTION_URL', 'http://x'), ConfigError);
  });
});
