import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import type { MedicalEvent } from '@medical/contracts';
import type { Database } from '../src/db/database.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { openPostgresDatabase } from '../src/db/postgres-database.ts';
import { openSqliteDatabase } from '../src/db/sqlite-database.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import { appendMessage, appendToOutbox, OutboxRelay } from '../src/outbox/outbox.ts';
import { MAX_MESSAGE_BYTES, MessageRefusedError } from '../src/transport/transport.ts';
import { counterValue, defer, silentLogger, tempDir, waitFor } from './helpers.ts';

/**
 * An outbox row the transport refuses for good (here: larger than any transport accepts) is set
 * aside after its budget, whole, in `outbox_refused`, and every event after it goes on; on both
 * engines. The refusal itself comes from the real embedded log; kafka.test.ts shows a real
 * broker's refusal arrives as the same MessageRefusedError.
 */

const url = process.env.DATABASE_URL;
const topic = 'medical';

const completed = (receptionId: number): MedicalEvent => ({
  type: 'ReceptionCompleted',
  data: { receptionId, patientId: `P-${receptionId}`, patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
});

type Engine = { name: string; skip: string | false; open: (t: TestContext) => Promise<Database<PlatformTables>> };

const engines: Engine[] = [
  {
    name: 'SQLite',
    skip: false,
    async open(t) {
      const database = await openSqliteDatabase<PlatformTables>({ serviceName: 'refusal-test', dataDir: tempDir(t), migrationSets: serviceMigrationSets({}) });
      defer(t, () => database.close());
      return database;
    },
  },
  {
    name: 'PostgreSQL',
    skip: url ? false : 'DATABASE_URL is not set: start PostgreSQL with `eval "$(npm run -s infra:up)"`',
    async open(t) {
      const schema = `refusal_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      defer(t, async () => {
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      });
      const database = await openPostgresDatabase<PlatformTables>({ url: url!, schema, poolSize: 3, migrationSets: serviceMigrationSets({}), idSequences: [], logger: silentLogger });
      defer(t, () => database.close());
      return database;
    },
  },
];

for (const engine of engines) {
  describe(`outbox refusals (${engine.name})`, { skip: engine.skip }, () => {
    test('a row the transport refuses for good is set aside whole after its budget, and the rows after it are published in order', async (t) => {
      const database = await engine.open(t);
      const log = new EmbeddedLog({ file: path.join(tempDir(t), 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
      const metrics = createMetrics('refusal-test');
      const relay = new OutboxRelay({ database, transport: log, logger: silentLogger, metrics, pollIntervalMs: 5, retryBaseDelayMs: 5, refusalBudget: 3 });
      defer(t, async () => {
        await relay.stop();
        await log.close();
      });

      // A visit's event, an event too large for any transport, then events of that visit and another.
      const huge = 'x'.repeat(MAX_MESSAGE_BYTES + 1);
      await database.transaction((trx) => appendToOutbox(trx, topic, [completed(1)], { subject: '1' }));
      const refusedId = randomUUID();
      await database.transaction((trx) =>
        appendMessage(trx, { topic, key: '1', headers: { ce_id: refusedId, ce_type: 'ReceptionCompleted' }, value: huge }, 'ReceptionCompleted', refusedId),
      );
      await database.transaction((trx) => appendToOutbox(trx, topic, [completed(1), completed(2)], { subject: '1' }));

      let attempts = 0;
      const publish = log.publish.bind(log);
      log.publish = async (messages) => {
        try {
          return await publish(messages);
        } catch (error) {
          if (error instanceof MessageRefusedError && messages.length === 1) attempts += 1;
          throw error;
        }
      };
      relay.start();
      relay.notify();
      await waitFor('the outbox to empty', async () => (await relay.pending()) === 0, 10_000);

      const published = log.read(topic, 0, 100).map((m) => JSON.parse(m.headers).ce_id as string);
      assert.equal(published.length, 3, 'every event but the refused one is published, once');
      assert.ok(!published.includes(refusedId));
      assert.equal(attempts, 3, 'the refused row was tried alone as often as its budget says');

      const setAside = await database.db.selectFrom('outbox_refused').selectAll().execute();
      assert.equal(setAside.length, 1);
      assert.equal(setAside[0]!.event_id, refusedId);
      assert.equal(setAside[0]!.payload, huge, 'kept whole');
      assert.equal(setAside[0]!.message_key, '1');
      assert.match(setAside[0]!.reason, /refuses a message of \d+ bytes/);
      assert.equal(await counterValue(metrics.eventsRefused, { type: 'ReceptionCompleted' }), 1);
    });

    test('an outage is not a refusal: nothing is set aside while the transport is down, and everything goes once it is back', async (t) => {
      const database = await engine.open(t);
      const log = new EmbeddedLog({ file: path.join(tempDir(t), 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
      const metrics = createMetrics('refusal-test');
      let down = true;
      const publish = log.publish.bind(log);
      log.publish = async (messages) => {
        if (down) throw new Error('broker unavailable');
        return publish(messages);
      };
      const relay = new OutboxRelay({ database, transport: log, logger: silentLogger, metrics, pollIntervalMs: 5, retryBaseDelayMs: 5, refusalBudget: 1 });
      defer(t, async () => {
        await relay.stop();
        await log.close();
      });
      await database.transaction((trx) => appendToOutbox(trx, topic, [completed(3), completed(3)], { subject: '3' }));
      relay.start();
      relay.notify();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await relay.pending(), 2);
      down = false;
      await waitFor('the outbox to empty', async () => (await relay.pending()) === 0, 10_000);
      assert.equal(log.read(topic, 0, 100).length, 2);
      assert.equal((await database.db.selectFrom('outbox_refused').selectAll().execute()).length, 0);
    });
  });
}

describe('outbox refusals (a real Kafka broker)', { skip: process.env.KAFKA_BROKERS ? false : 'KAFKA_BROKERS is not set: start a broker with `eval "$(npm run -s infra:up)"`' }, () => {
  test("the broker's refusal of a message too large arrives as MessageRefusedError, and the relay sets the row aside and goes on", async (t) => {
    const { openKafkaTransport } = await import('../src/transport/kafka.ts');
    const id = randomUUID().slice(0, 8);
    const kafkaTopic = `refusal-test-${id}`;
    const brokers = process.env.KAFKA_BROKERS!.split(',');
    // Registered first, so it runs last, after the transport is closed.
    defer(t, async () => {
      const { Admin } = await import('@platformatic/kafka');
      const admin = new Admin({ clientId: 'refusal-test-admin', bootstrapBrokers: brokers });
      await admin.deleteTopics({ topics: [kafkaTopic] }).catch(() => undefined);
      await admin.close();
    });
    const transport = await openKafkaTransport({
      brokers,
      clientId: `refusal-test-${process.pid}`,
      topics: [kafkaTopic],
      partitions: 1,
      replicationFactor: 1,
      sessionTimeoutMs: 6_000,
      heartbeatIntervalMs: 300,
      logger: silentLogger,
    });
    defer(t, () => transport.close());
    const tooLarge = { topic: kafkaTopic, key: '1', headers: { ce_id: 'big' }, value: 'x'.repeat(MAX_MESSAGE_BYTES + 1) };
    await assert.rejects(transport.publish([tooLarge]), (error: unknown) => {
      assert.ok(error instanceof MessageRefusedError, String(error));
      assert.match(error.message, /MESSAGE_TOO_LARGE/);
      return true;
    });

    const database = await engines[0]!.open(t);
    const metrics = createMetrics('refusal-test');
    const relay = new OutboxRelay({ database, transport, logger: silentLogger, metrics, pollIntervalMs: 5, retryBaseDelayMs: 5, refusalBudget: 2 });
    defer(t, () => relay.stop());
    const bigId = randomUUID();
    await database.transaction((trx) => appendMessage(trx, { ...tooLarge, headers: { ce_id: bigId } }, 'ReceptionCompleted', bigId));
    await database.transaction((trx) => appendToOutbox(trx, kafkaTopic, [completed(1)], { subject: '1' }));
    relay.start();
    relay.notify();
    await waitFor('the outbox to empty', async () => (await relay.pending()) === 0, 20_000);
    const setAside = await database.db.selectFrom('outbox_refused').select(['event_id', 'reason']).execute();
    assert.deepEqual(setAside.map((r) => r.event_id), [bigId]);
    assert.match(setAside[0]!.reason, /MESSAGE_TOO_LARGE/);
    assert.equal(await counterValue(metrics.eventsPublished, { type: 'ReceptionCompleted' }), 1, 'the event after it went out');
  });
});
