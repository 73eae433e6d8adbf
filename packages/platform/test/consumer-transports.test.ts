import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { Admin } from '@platformatic/kafka';
import type { MedicalEvent } from '@medical/contracts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { createIdempotentConsumer } from '../src/inbox/consumer.ts';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import { encodeCloudEvent, toCloudEvent } from '../src/transport/envelope.ts';
import { openKafkaTransport } from '../src/transport/kafka.ts';
import type { EventTransport } from '../src/transport/transport.ts';
import { countNote, databaseKinds, openTestDatabase, refuseDeadLetters, type DatabaseKind } from './consumer-databases.ts';
import { counterValue, defer, kafkaTestOptions, silentLogger, tempDir, waitFor } from './helpers.ts';
import { appendRawToLog, bytes, publishRawToKafka, type Bytes } from './raw-messages.ts';

/**
 * The idempotent consumer behind each real transport, on each database: what the consumer tests
 * hand it directly, here read from a log (bytes that are not UTF-8, a NUL) and retried by the
 * transport (a dead-letter store that refuses for a while).
 */
const brokers = process.env.KAFKA_BROKERS?.split(',');
const transportKinds = [
  { transport: 'embedded', skip: false },
  { transport: 'kafka', skip: brokers ? false : 'KAFKA_BROKERS is not set: start a broker with `eval "$(npm run -s infra:up)"`' },
] as const;

let admin: Admin | undefined;
after(() => admin?.close());

/** A message as bytes: `headers` in order, any name or value possibly not UTF-8. */
type RawEvent = { key: Bytes; headers: Array<[string, Bytes]>; value: Bytes };

type Harness = {
  topic: string;
  transport: EventTransport;
  publishRaw(events: RawEvent[]): Promise<void>;
};

/** The embedded log's header column for `headers`: JSON, with the raw bytes of a value put between its quotes as they are. */
function headerColumn(headers: Array<[string, Bytes]>): Buffer {
  const fields = headers.map(([name, value], i) =>
    Buffer.concat([
      Buffer.from(`${i === 0 ? '' : ','}${JSON.stringify(name)}:`),
      typeof value === 'string' ? Buffer.from(JSON.stringify(value)) : Buffer.concat([Buffer.from('"'), value, Buffer.from('"')]),
    ]),
  );
  return Buffer.concat([Buffer.from('{'), ...fields, Buffer.from('}')]);
}

async function harness(t: TestContext, kind: 'embedded' | 'kafka'): Promise<Harness> {
  const id = randomUUID().slice(0, 8);
  if (kind === 'embedded') {
    const topic = 'medical';
    const file = path.join(tempDir(t), 'events.sqlite');
    const log = new EmbeddedLog({ file, pollIntervalMs: 5, retryBaseDelayMs: 5, logger: silentLogger });
    defer(t, () => log.close());
    return {
      topic,
      transport: log,
      publishRaw: async (events) => appendRawToLog(file, events.map((e) => ({ topic, key: e.key, headers: headerColumn(e.headers), value: e.value }))),
    };
  }
  const topic = `consumer-test-${id}`;
  admin ??= new Admin({ clientId: 'consumer-transports-test-admin', bootstrapBrokers: brokers!, retries: 2 });
  const kafkaAdmin = admin;
  defer(t, async () => {
    await kafkaAdmin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => {});
  });
  const transport = await openKafkaTransport(
    kafkaTestOptions({
      brokers: brokers!,
      clientId: `consumer-transports-test-${process.pid}`,
      topics: [topic, `${topic}.dlq`],
      // One partition: the test reads the order of its events.
      partitions: 1,
      logger: silentLogger,
    }),
  );
  defer(t, () => transport.close());
  return {
    topic,
    transport,
    publishRaw: (events) => publishRawToKafka(brokers!, events.map((e) => ({ topic, key: e.key, headers: e.headers, value: e.value }))),
  };
}

const receptionCompleted: MedicalEvent = {
  type: 'ReceptionCompleted',
  data: { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
};

/** A well-formed event as raw headers and value, which a test then spoils. */
function rawEvent(topic: string, event: MedicalEvent = receptionCompleted): RawEvent & { headers: Array<[string, Bytes]> } {
  const message = encodeCloudEvent(topic, toCloudEvent(event, '7'));
  return { key: message.key, headers: Object.entries(message.headers), value: message.value };
}

const withHeader = (event: RawEvent, name: string, value: Bytes): RawEvent => ({
  ...event,
  headers: [...event.headers.filter(([n]) => n !== name), [name, value]],
});

/** A consumer (as service.ts wires it) subscribed to the harness's topic, on a database of `kind`. */
async function consume(t: TestContext, h: Harness, kind: DatabaseKind) {
  const database = await openTestDatabase(t, kind, { serviceName: 'consumer-transports-test' });
  const metrics = createMetrics('consumer-transports-test');
  const abort = new AbortController();
  const handle = createIdempotentConsumer({
    serviceName: 'consumer-transports-test',
    db: database.db,
    ownTables: (trx) => trx,
    transaction: (work) => database.transaction(work),
    logger: silentLogger,
    metrics,
    deadLetterTopic: 'medical.dlq',
    retryBudget: 0,
    retryBaseDelayMs: 5,
    handles: 'all',
    effect: countNote,
    afterCommit: () => {},
    signal: abort.signal,
  });
  const subscription = await h.transport.subscribe({
    group: `consumer-transports-test-${randomUUID().slice(0, 8)}`,
    topic: h.topic,
    handle: async (delivery) => {
      await handle(delivery);
    },
  });
  defer(t, async () => {
    abort.abort();
    await subscription.stop();
  });
  const db = database.db;
  return {
    db,
    metrics,
    notes: async () => (await db.selectFrom('notes').selectAll().execute()).map((r) => ({ ...r })),
    letters: async () =>
      (await db.selectFrom('outbox').selectAll().orderBy('id').execute()).map((l) => ({ ...l, headers: JSON.parse(l.headers) as Record<string, string> })),
    inbox: async () => (await db.selectFrom('inbox').select(['event_id', 'outcome']).execute()).map((r) => ({ ...r })),
  };
}

/** Fails the test on anything that would have crashed a service process. */
function watchForCrashes(t: TestContext): () => unknown[] {
  const crashes: unknown[] = [];
  const record = (error: unknown) => void crashes.push(error);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  defer(t, () => {
    process.off('uncaughtException', record);
    process.off('unhandledRejection', record);
  });
  return () => crashes;
}

for (const { transport, skip: transportSkip } of transportKinds) {
  for (const { kind, skip: databaseSkip } of databaseKinds) {
    describe(`the consumer on ${transport} and ${kind}`, { skip: transportSkip || databaseSkip }, () => {
      test('events holding NUL or bytes that are not UTF-8 are dead-lettered, an unknown type skipped, and the event after them applied', async (t) => {
        const h = await harness(t, transport);
        const c = await consume(t, h, kind);
        const nulId = withHeader(rawEvent(h.topic), 'ce_id', `${randomUUID()}\u0000`);
        const badValue = bytes('{"receptionId":7,"patientId":"P-001","patientName":"Kim', [0xff], '","receivedAt":"2025-03-01T09:00:00.000Z"}');
        const notUtf8Value = { ...rawEvent(h.topic), value: badValue };
        const badHeader = { ...withHeader(rawEvent(h.topic), 'x-raw', bytes([0xc3, 0x28])), key: '7\u0000' };
        const unknownType = withHeader(rawEvent(h.topic), 'ce_type', 'ReceptionTeleported');
        const next = rawEvent(h.topic);
        await h.publishRaw([nulId, notUtf8Value, badHeader, unknownType, next]);

        await waitFor('the event after the poisons to be applied', async () => (await c.notes()).length > 0, 20_000);
        assert.deepEqual(await c.notes(), [{ id: '7', count: 1 }]);
        const letters = await c.letters();
        assert.equal(letters.length, 3, 'the unknown type is not dead-lettered');
        const [first, second, third] = letters;
        assert.match(first!.headers.dlq_reason!, /invalid CloudEvents envelope: \/id/);
        assert.equal(first!.headers.ce_id, nulId.headers.find(([n]) => n === 'ce_id')![1]);
        assert.equal(second!.headers.dlq_reason, 'undecodable message: value is not UTF-8');
        assert.equal(second!.headers.dlq_value_encoding, 'base64');
        assert.deepEqual(Buffer.from(second!.payload, 'base64'), badValue);
        // Kafka names the header; the embedded log keeps all headers in one column.
        assert.match(third!.headers.dlq_reason!, transport === 'kafka' ? /^undecodable message: header "x-raw" is not UTF-8$/ : /^undecodable message: headers are not UTF-8$/);
        assert.equal(third!.headers.dlq_key_encoding, 'base64');
        assert.equal(Buffer.from(third!.message_key, 'base64').toString('utf8'), '7\u0000');
        const undecodable = JSON.parse(third!.headers.dlq_undecodable!) as Array<{ base64: string }>;
        assert.ok(
          undecodable.some((p) => Buffer.from(p.base64, 'base64').includes(Buffer.from([0xc3, 0x28]))),
          'the letter keeps the header bytes as they were',
        );

        const inbox = await c.inbox();
        assert.equal(inbox.filter((r) => r.outcome === 'DEAD_LETTERED').length, 3);
        assert.equal(inbox.filter((r) => r.outcome === 'APPLIED').length, 1);
        assert.ok(inbox.some((r) => r.event_id.startsWith(`${h.topic}/0/`)), 'the NUL id is recorded by its position');
        assert.equal(await counterValue(c.metrics.eventsSkipped, { type: 'ReceptionTeleported', reason: 'unknown-type' }), 1);
        assert.equal(await counterValue(c.metrics.eventsDeadLettered, {}), 3);
      });

      test('a dead-letter store that refuses for a while holds the event; then one letter is written, the events after it applied, and nothing crashed', async (t) => {
        const crashes = watchForCrashes(t);
        const h = await harness(t, transport);
        const c = await consume(t, h, kind);
        await refuseDeadLetters(c.db, true);
        const invalid = { ...rawEvent(h.topic), value: JSON.stringify({ receptionId: 7 }) };
        await h.publishRaw([invalid, rawEvent(h.topic)]);

        // Four tries by the consumer, then the transport delivers the event again: more than four refusals.
        await waitFor('the transport to deliver the event again', async () => (await counterValue(c.metrics.eventsFailed, { reason: 'dead-letter' })) > 4, 20_000);
        assert.deepEqual(await c.notes(), [], 'the event after it waits: nothing is skipped');
        assert.deepEqual(await c.letters(), []);

        await refuseDeadLetters(c.db, false);
        await waitFor('the event after it to be applied', async () => (await c.notes()).length > 0, 20_000);
        assert.equal((await c.letters()).length, 1);
        assert.deepEqual((await c.inbox()).map((r) => r.outcome).sort(), ['APPLIED', 'DEAD_LETTERED']);
        assert.equal(await counterValue(c.metrics.eventsDeadLettered, {}), 1);
        assert.deepEqual(crashes(), []);
      });
    });
  }
}
