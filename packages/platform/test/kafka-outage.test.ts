import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { openKafkaTransport } from '../src/transport/kafka.ts';
import type { Delivery, TransportMessage } from '../src/transport/transport.ts';
import { DedicatedKafkaBroker, dedicatedKafkaSkipReason } from '../../../test/e2e/support/kafka-broker.ts';
import { defer, kafkaTestOptions, waitFor } from './helpers.ts';

/**
 * The Kafka adapter while its broker goes away and comes back. The shared broker of
 * `npm run infra:up` is left alone: this test runs a dedicated single-node broker of its own
 * (test/e2e/support/kafka-broker.ts, from the jars infra:up cached, on free ports) and kills it.
 * Skipped when Java or the jars are missing.
 */

function skipReason(): string | undefined {
  if (!process.env.KAFKA_BROKERS) return 'KAFKA_BROKERS is not set: the production-profile tests are skipped (eval "$(npm run -s infra:up)" to run them)';
  return dedicatedKafkaSkipReason();
}

function message(topic: string, seq: number): TransportMessage {
  return { topic, key: `visit-${seq % 4}`, headers: { ce_id: `m-${seq}` }, value: JSON.stringify({ seq }) };
}

async function publishEventually(transport: { publish(m: TransportMessage[]): Promise<void> }, messages: TransportMessage[]) {
  // As the outbox relay does: retry with a pause until the broker takes them.
  await waitFor(
    'a publish to succeed',
    async () => {
      try {
        await transport.publish(messages);
        return true;
      } catch {
        return false;
      }
    },
    45_000,
    200,
  );
}

test('publish fails while the broker is away; publishing and consuming resume when it is back', { skip: skipReason() }, async (t: TestContext) => {
  const broker = await DedicatedKafkaBroker.create('platform-outage');
  defer(t, () => broker.close());
  await broker.start();

  const id = randomUUID().slice(0, 8);
  const topic = `outage-${id}`;
  const transport = await openKafkaTransport(kafkaTestOptions({ brokers: [broker.bootstrap], clientId: 'outage-test', topics: [topic, `${topic}.dlq`] }));
  defer(t, () => transport.close());
  const seen: Delivery[] = [];
  await transport.subscribe({ group: `outage-group-${id}`, topic, handle: async (d) => void seen.push(d) });
  await transport.publish([1, 2, 3, 4, 5].map((seq) => message(topic, seq)));
  await waitFor('the first five', () => seen.length >= 5, 15_000);

  await broker.kill();
  let started = Date.now();
  await assert.rejects(transport.ping(), 'ping fails while the broker is away');
  assert.ok(Date.now() - started < 3_000);
  started = Date.now();
  await assert.rejects(transport.publish([message(topic, 6)]), 'publish fails while the broker is away');
  assert.ok(Date.now() - started < 15_000, `publish failed after ${Date.now() - started} ms`);
  // The consumer keeps failing and retrying meanwhile; the process must not crash.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  await broker.start();
  await transport.ping();
  await publishEventually(transport, [6, 7, 8, 9, 10].map((seq) => message(topic, seq)));
  await waitFor('the consumer to resume', () => new Set(seen.map((d) => d.headers.ce_id)).size === 10, 45_000);
  const ids = new Set(seen.map((d) => d.headers.ce_id));
  assert.deepEqual([...ids].sort(), Array.from({ length: 10 }, (_, i) => `m-${i + 1}`).sort());
});
