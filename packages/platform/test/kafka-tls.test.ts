import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { readKafkaTopic } from '../src/inbox/dead-letters-kafka.ts';
import { loadConfig, type ServiceConfig } from '../src/service/config.ts';
import { KafkaTlsError, kafkaTlsOptions } from '../src/transport/kafka-tls.ts';
import { openTransport } from '../src/transport/open-transport.ts';
import type { Delivery } from '../src/transport/transport.ts';
import { defer, kafkaTestLogger, waitFor } from './helpers.ts';

/**
 * KAFKA_TLS against the local broker's real TLS listener (infra/kafka/tls.sh: client certificates
 * required, a broker certificate for 127.0.0.1 signed by the local CA). `npm run -s infra:up`
 * exports where it is and the files of its CA and of a client certificate; without them these
 * tests are skipped, and say so.
 */
const listener = {
  brokers: process.env.KAFKA_TLS_BROKERS,
  ca: process.env.KAFKA_TLS_LOCAL_CA_FILE,
  cert: process.env.KAFKA_TLS_LOCAL_CERT_FILE,
  key: process.env.KAFKA_TLS_LOCAL_KEY_FILE,
};
const skip =
  listener.brokers && listener.ca && listener.cert && listener.key
    ? false
    : 'KAFKA_TLS_BROKERS and KAFKA_TLS_LOCAL_{CA,CERT,KEY}_FILE are not set: start the broker with its TLS listener with `eval "$(npm run -s infra:up)"` to run the Kafka TLS tests';

const topics: string[] = [];
let scratch = '';

before(() => {
  if (skip) return;
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-test-'));
});

after(async () => {
  if (skip) return;
  fs.rmSync(scratch, { recursive: true, force: true });
  if (topics.length === 0) return;
  const tls = { caFile: listener.ca!, certFile: listener.cert!, keyFile: listener.key! };
  const admin = new Admin({ clientId: 'kafka-tls-test-admin', bootstrapBrokers: [listener.brokers!], retries: 2, ...kafkaTlsOptions(tls, [listener.brokers!]) });
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.close();
});

/** A service's configuration on the TLS listener, its own topics; `tls` sets or overrides the KAFKA_TLS_* variables. */
function serviceConfig(tls: Record<string, string>): ServiceConfig {
  const topic = `kafka-tls-test-${randomUUID().slice(0, 8)}`;
  topics.push(topic, `${topic}.dlq`);
  return loadConfig('kafka-tls-test', 0, {
    KAFKA_BROKERS: listener.brokers,
    KAFKA_TOPIC: topic,
    KAFKA_CLIENT_ID: `kafka-tls-test-${process.pid}`,
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_HEARTBEAT_INTERVAL_MS: '300',
    KAFKA_TLS: 'true',
    KAFKA_TLS_CA_FILE: listener.ca,
    ...tls,
  });
}

/** Opening the transport fails, at once, with a KafkaTlsError whose message matches. */
async function assertRefused(config: ServiceConfig, message: RegExp): Promise<void> {
  const started = Date.now();
  await assert.rejects(openTransport(config, kafkaTestLogger), (error: unknown) => {
    assert.ok(error instanceof KafkaTlsError, `a KafkaTlsError, not ${String(error)}`);
    assert.match(error.message, message);
    return true;
  });
  // Not retried until the start-up timeout (30 s): certificates that do not fit do not heal.
  assert.ok(Date.now() - started < 10_000, `refused after ${Date.now() - started} ms`);
}

describe('Kafka over TLS', { skip }, () => {
  test('a service with KAFKA_TLS=true and a client certificate publishes and consumes over TLS; the dead-letters reader reads the topic too', async (t) => {
    const config = serviceConfig({ KAFKA_TLS_CERT_FILE: listener.cert!, KAFKA_TLS_KEY_FILE: listener.key! });
    assert.deepEqual(config.kafka?.tls, { caFile: listener.ca, certFile: listener.cert, keyFile: listener.key });
    const transport = await openTransport(config, kafkaTestLogger);
    defer(t, () => transport.close());

    const seen: Delivery[] = [];
    await transport.subscribe({ group: `kafka-tls-test-${randomUUID().slice(0, 8)}`, topic: config.topic, handle: async (d) => void seen.push(d) });
    await transport.publish([{ id: 'row-1', topic: config.topic, key: 'visit-1', headers: { ce_id: 'event-1', ce_type: 'Test' }, value: '{"over":"tls"}' }]);
    const [delivery] = await waitFor('the event back over TLS', () => (seen.length > 0 ? seen : undefined), 20_000);
    assert.equal(delivery!.key, 'visit-1');
    assert.equal(delivery!.headers.ce_id, 'event-1');
    assert.equal(delivery!.value, '{"over":"tls"}');

    const read = await readKafkaTopic(config.kafka!.brokers, config.topic, { tls: config.kafka!.tls, timeoutMs: 20_000 });
    assert.deepEqual(
      read.map((m) => [m.key, m.value]),
      [['visit-1', '{"over":"tls"}']],
    );
  });

  test('without a client certificate the broker refuses the connection, and the error says which settings to check', async () => {
    await assertRefused(serviceConfig({}), /^TLS with Kafka at 127\.0\.0\.1:\d+: the broker refused the TLS connection \(ERR_SSL_[A-Z0-9_/]+\): .*KAFKA_TLS_CERT_FILE/);
  });

  test('with a CA that did not sign the broker\'s certificate the client refuses the broker', async () => {
    const otherCa = path.join(scratch, 'other-ca.crt');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', path.join(scratch, 'other-ca.key'), '-out', otherCa, '-subj', '/CN=unrelated CA', '-days', '1',
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ], { stdio: 'ignore' });
    const config = serviceConfig({ KAFKA_TLS_CA_FILE: otherCa, KAFKA_TLS_CERT_FILE: listener.cert!, KAFKA_TLS_KEY_FILE: listener.key! });
    await assertRefused(config, /the broker's certificate was not accepted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\b.*KAFKA_TLS_CA_FILE/);
    // The dead-letters reader says the same.
    await assert.rejects(readKafkaTopic(config.kafka!.brokers, config.topic, { tls: config.kafka!.tls, timeoutMs: 10_000 }), KafkaTlsError);
  });

  test('without a CA file the broker is checked against Node\'s default roots, which do not hold the local CA', async () => {
    const config = serviceConfig({ KAFKA_TLS_CA_FILE: '', KAFKA_TLS_CERT_FILE: listener.cert!, KAFKA_TLS_KEY_FILE: listener.key! });
    assert.equal(config.kafka?.tls?.caFile, undefined);
    await assertRefused(config, /the broker's certificate was not accepted/);
  });
});
