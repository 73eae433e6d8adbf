import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, readUrl } from '../src/lib/env.ts';
import { loadConfig } from '../src/service/config.ts';
import { kafkaTlsOptions } from '../src/transport/kafka-tls.ts';
import type { KafkaTlsSettings } from '../src/transport/transport-config.ts';

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
    const { catalog, catalogReloadIntervalMs, ...config } = loadConfig('reception', 8082, {});
    assert.equal(catalogReloadIntervalMs, 10_000);
    assert.equal(catalog.defaultDepartment, 'internal-medicine', "the contracts' default catalog (catalog.test.ts)");
    assert.deepEqual(config, {
      serviceName: 'reception',
      host: '0.0.0.0',
      port: 8082,
      logLevel: 'info',
      dataDir: path.join(process.cwd(), 'data'),
      topic: 'medical',
      deadLetterTopic: 'medical.dlq',
      accessLogTopic: 'medical.access-log',
      topicRetentionMs: { medical: -1, 'medical.dlq': -1, 'medical.access-log': 90 * 24 * 60 * 60 * 1000 },
      consumerGroup: 'reception',
      retryBudget: 5,
      inboxRetentionDays: 30,
      retryBaseDelayMs: 200,
      pollIntervalMs: 25,
      shutdownTimeoutMs: 10_000,
      shutdownDrainMs: 0,
      timeZone: 'Asia/Seoul',
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

describe('KAFKA_TLS and its files', () => {
  const kafka = { KAFKA_BROKERS: 'kafka-0:9093' };

  test('off by default; KAFKA_TLS=true turns it on, with the files\' paths resolved', () => {
    assert.equal(loadConfig('x', 1, kafka).kafka?.tls, undefined);
    assert.equal(loadConfig('x', 1, { ...kafka, KAFKA_TLS: 'false' }).kafka?.tls, undefined);
    assert.deepEqual(loadConfig('x', 1, { ...kafka, KAFKA_TLS: 'true' }).kafka?.tls, {}, 'TLS with Node\'s default roots, no client certificate');
    assert.deepEqual(loadConfig('x', 1, { ...kafka, KAFKA_TLS: ' TRUE ' }).kafka?.tls, {});
    const tls = loadConfig('x', 1, {
      ...kafka,
      KAFKA_TLS: 'true',
      KAFKA_TLS_CA_FILE: 'tls/ca.crt',
      KAFKA_TLS_CERT_FILE: '/etc/medical/tls/user.crt',
      KAFKA_TLS_KEY_FILE: '/etc/medical/tls/user.key',
    }).kafka?.tls;
    assert.deepEqual(tls, { caFile: path.resolve('tls/ca.crt'), certFile: '/etc/medical/tls/user.crt', keyFile: '/etc/medical/tls/user.key' });
    // The files are read when the clients are made, so a configuration naming files of another
    // machine (a Deployment's) still loads.
    assert.deepEqual(loadConfig('x', 1, { ...kafka, KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '' }).kafka?.tls, {}, 'an empty value is unset');
  });

  test('ignored without KAFKA_BROKERS, like every KAFKA_* setting', () => {
    assert.equal(loadConfig('x', 1, { KAFKA_TLS: 'yes', KAFKA_TLS_CA_FILE: '/x' }).kafka, undefined);
  });

  test('a wrong value, a file without KAFKA_TLS=true, half a client certificate: a ConfigError naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ KAFKA_TLS: 'yes' }, /^KAFKA_TLS must be true or false, got "yes"$/],
      [{ KAFKA_TLS: '1' }, /^KAFKA_TLS must be true or false, got "1"$/],
      [{ KAFKA_TLS_CA_FILE: '/tls/ca.crt' }, /^KAFKA_TLS_CA_FILE is set but KAFKA_TLS is not true/],
      [{ KAFKA_TLS: 'false', KAFKA_TLS_CERT_FILE: '/tls/user.crt', KAFKA_TLS_KEY_FILE: '/tls/user.key' }, /^KAFKA_TLS_CERT_FILE is set but KAFKA_TLS is not true/],
      [{ KAFKA_TLS_KEY_FILE: '/tls/user.key' }, /^KAFKA_TLS_KEY_FILE is set but KAFKA_TLS is not true/],
      [{ KAFKA_TLS: 'true', KAFKA_TLS_CERT_FILE: '/tls/user.crt' }, /^KAFKA_TLS_KEY_FILE must be set with KAFKA_TLS_CERT_FILE/],
      [{ KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: '/tls/ca.crt', KAFKA_TLS_KEY_FILE: '/tls/user.key' }, /^KAFKA_TLS_CERT_FILE must be set with KAFKA_TLS_KEY_FILE/],
    ];
    for (const [env, message] of cases) assert.match(configError({ ...kafka, ...env }).message, message, JSON.stringify(env));
  });
});

/**
 * A throwaway self-signed certificate and its key, made for this test (openssl, EC P-256, valid
 * until 2126) and trusted nowhere: what the file checks parse.
 */
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBgjCCASmgAwIBAgIUSR/q9sRO/1P2lfPS20c0Hy5kU1swCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLY29uZmlnIHRlc3QwIBcNMjYxMjA2MTAyNzA2WhgPMjEyNjEx
MTIxMDI3MDZaMBYxFDASBgNVBAMMC2NvbmZpZyB0ZXN0MFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEUO4Xd5TfcEnKGGqqXpMgVOBnHoe57g2y/ex02fUPhunqNmDY
u0i/Hgxg/c/zIaH0DFV0RH9j0wDumQ21H6zKR6NTMFEwHQYDVR0OBBYEFB/KlC1R
4IH0TUxQ9Q4Wwk7xoBUlMB8GA1UdIwQYMBaAFB/KlC1R4IH0TUxQ9Q4Wwk7xoBUl
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgPEhEaGbzyDlEP16X
h8nEKx0dN4xCuJI+PGzkOhW+HcACIEGgpyYY1kRUlSHEteD3Dnc8bfMadiA6YLtp
4aIPz7RZ
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc5qevIw14kFIIWhW
Ef+zupz9ZTPVf7haLzJUzPdejumhRANCAARQ7hd3lN9wScoYaqpekyBU4Gceh7nu
DbL97HTZ9Q+G6eo2YNi7SL8eDGD9z/MhofQMVXREf2PTAO6ZDbUfrMpH
-----END PRIVATE KEY-----
`;

describe('the KAFKA_TLS_* files, read when the Kafka clients are made', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-config-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const at = path.join(dir, name);
    fs.writeFileSync(at, content);
    return at;
  };
  const another = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const files = {
    ca: file('ca.crt', `# the CA bundle\n${CERTIFICATE}${CERTIFICATE}`),
    cert: file('user.crt', CERTIFICATE),
    key: file('user.key', KEY),
    anotherKey: file('another.key', another.export({ type: 'pkcs8', format: 'pem' }) as string),
    encryptedKey: file('encrypted.key', another.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string),
    notPem: file('not.pem', 'just text\n'),
    brokenCertificate: file('broken.crt', '-----BEGIN CERTIFICATE-----\nMIIBgjCCASmgAwIBAgIUSR\n-----END CERTIFICATE-----\n'),
  };

  test('the PEM contents go to every client, with verification on and SNI only for host names', () => {
    const options = kafkaTlsOptions({ caFile: files.ca, certFile: files.cert, keyFile: files.key }, ['kafka-0.kafka:9093', 'kafka-1.kafka:9093']);
    assert.deepEqual(options, { tls: { rejectUnauthorized: true, ca: `${CERTIFICATE.trim()}\n${CERTIFICATE}`, cert: CERTIFICATE, key: KEY }, tlsServerName: true });
    assert.deepEqual(kafkaTlsOptions({}, ['127.0.0.1:9094']), { tls: { rejectUnauthorized: true } }, 'Node\'s default roots, no client certificate, no SNI with an address');
    assert.deepEqual(kafkaTlsOptions(undefined, ['kafka:9092']), {}, 'no TLS');
  });

  test('a missing file, no PEM, an encrypted key or the key of another certificate: a ConfigError naming the variable, never quoting the file', () => {
    const cases: Array<[KafkaTlsSettings, RegExp]> = [
      [{ caFile: path.join(dir, 'missing.crt') }, /^KAFKA_TLS_CA_FILE must name a readable file, got ".*missing\.crt" \(ENOENT\)$/],
      [{ caFile: dir }, /^KAFKA_TLS_CA_FILE must name a readable file, got ".*" \(EISDIR\)$/],
      [{ caFile: files.notPem }, /^KAFKA_TLS_CA_FILE must hold PEM certificates \(-----BEGIN CERTIFICATE-----\), and .*not\.pem holds none$/],
      [{ caFile: files.key }, /^KAFKA_TLS_CA_FILE must hold PEM certificates/],
      [{ caFile: files.brokenCertificate }, /^KAFKA_TLS_CA_FILE must hold PEM certificates: certificate 1 of .*broken\.crt does not parse$/],
      [{ certFile: files.key, keyFile: files.key }, /^KAFKA_TLS_CERT_FILE must hold PEM certificates/],
      [{ certFile: files.cert, keyFile: path.join(dir, 'missing.key') }, /^KAFKA_TLS_KEY_FILE must name a readable file/],
      [{ certFile: files.cert, keyFile: files.cert }, /^KAFKA_TLS_KEY_FILE must hold a PEM private key \(-----BEGIN PRIVATE KEY-----\), and .*user\.crt holds none$/],
      [{ certFile: files.cert, keyFile: files.encryptedKey }, /^KAFKA_TLS_KEY_FILE must hold an unencrypted PEM private key, and the one in .*encrypted\.key is encrypted$/],
      [{ certFile: files.cert, keyFile: files.anotherKey }, /^KAFKA_TLS_KEY_FILE must hold the key of the certificate in KAFKA_TLS_CERT_FILE, and .*another\.key holds another one$/],
    ];
    const secrets = [KEY, CERTIFICATE].flatMap((pem) => pem.split('\n').filter((line) => line.length > 40));
    for (const [settings, message] of cases) {
      assert.throws(
        () => kafkaTlsOptions(settings, ['kafka:9093']),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, `a ConfigError, not ${String(error)}`);
          assert.match(error.message, message, JSON.stringify(settings));
          for (const line of secrets) assert.ok(!error.message.includes(line), 'the message quotes no file');
          return true;
        },
      );
    }
  });
});
