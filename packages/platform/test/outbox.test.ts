import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { sourceOf, type EventType, type MedicalEvent } from '@medical/contracts';
import type { Database } from '../src/db/database.ts';
import { openSqliteDatabase as openDatabase } from '../src/db/sqlite-database.ts';
import { serviceMigrationSets } from '../src/service/platform-migrations.ts';
import type { PlatformTables } from '../src/service/platform-tables.ts';
import { createMetrics, type ServiceMetrics } from '../src/telemetry/metrics.ts';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import { appendToOutbox, OutboxRelay } from '../src/outbox/outbox.ts';
import type { EventTransport } from '../src/transport/transport.ts';
import { counterValue, defer, silentLogger, tempDir, uuidPattern, waitFor } from './helpers.ts';

const topic = 'medical';

const completed = (receptionId: number): MedicalEvent => ({
  type: 'ReceptionCompleted',
  data: { receptionId, patientId: `P-${receptionId}`, patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
});
const registered = (receptionId: number, diagnosisId: number): MedicalEvent => ({
  type: 'DiagnosisRegistered',
  data: { diagnosisId, receptionId, patientId: `P-${receptionId}`, patientName: 'Kim Minji' },
});
const performed = (receptionId: number): MedicalEvent => ({
  type: 'ExaminationPerformed',
  data: {
    examinationId: 4,
    prescriptionId: '11111111-1111-4111-8111-111111111111',
    diagnosisId: 3,
    receptionId,
    result: 'normal',
    performedAt: '2025-03-01T10:00:00.000Z',
  },
});

type Fixture = { database: Database<PlatformTables>; log: EmbeddedLog; metrics: ServiceMetrics };

async function setup(t: TestContext): Promise<Fixture> {
  const dataDir = tempDir(t);
  const database = await openDatabase<PlatformTables>({ serviceName: 'outbox-test', dataDir, migrationSets: serviceMigrationSets({}) });
  const log = new EmbeddedLog({ file: path.join(dataDir, 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
  // Deferred first, so they run last: after the relays of the test have stopped.
  defer(t, async () => {
    await log.close();
    await database.close();
  });
  return { database, log, metrics: createMetrics('outbox-test') };
}

function relayOf(t: TestContext, f: Fixture, options: { transport?: EventTransport; pollIntervalMs?: number } = {}): OutboxRelay {
  const relay = new OutboxRelay({
    database: f.database,
    transport: options.transport ?? f.log,
    logger: silentLogger,
    metrics: f.metrics,
    pollIntervalMs: options.pollIntervalMs ?? 5,
    retryBaseDelayMs: 5,
  });
  defer(t, () => relay.stop());
  return relay;
}

/** The real log behind a broker that refuses the first `failures` publish calls: an outage. */
function brokerOutage(log: EmbeddedLog, failures: number) {
  let calls = 0;
  const transport: EventTransport = {
    kind: 'embedded',
    publish: async (messages) => {
      calls += 1;
      if (calls <= failures) throw new Error('broker unavailable');
      await log.publish(messages);
    },
    subscribe: (options) => log.subscribe(options),
    lag: (group, t) => log.lag(group, t),
    rewind: (group, t) => log.rewind(group, t),
    groupIsActive: (group, t) => log.groupIsActive(group, t),
    ping: () => log.ping(),
    close: () => log.close(),
  };
  return { transport, calls: () => calls };
}

const published = (log: EmbeddedLog) =>
  log.read(topic, 0, 10_000).map((m) => ({ ...m, headers: JSON.parse(m.headers) as Record<string, string> }));

describe('transactional outbox', () => {
  test('rows are published in insertion order as CloudEvents binary messages keyed by the reception id, then deleted', async (t) => {
    const f = await setup(t);
    const before = Date.now();
    const first = await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(7), registered(7, 3)], { subject: '7' }));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const second = await f.database.transaction((trx) => appendToOutbox(trx, topic, [performed(8)], { subject: '8', traceparent }));
    const after = Date.now();
    const envelopes = [...first, ...second];
    assert.equal((await f.database.db.selectFrom('outbox').selectAll().execute()).length, 3);

    const relay = relayOf(t, f);
    relay.start();
    relay.notify();
    await waitFor('three published messages', () => published(f.log).length === 3);
    await waitFor('the outbox to empty', async () => (await relay.pending()) === 0);

    const messages = published(f.log);
    assert.deepEqual(
      messages.map((m) => m.headers.ce_id),
      envelopes.map((e) => e.id),
    );
    const expected: Array<{ type: EventType; subject: string; data: unknown }> = [
      { type: 'ReceptionCompleted', subject: '7', data: completed(7).data },
      { type: 'DiagnosisRegistered', subject: '7', data: registered(7, 3).data },
      { type: 'ExaminationPerformed', subject: '8', data: performed(8).data },
    ];
    messages.forEach((m, i) => {
      const want = expected[i]!;
      assert.equal(m.topic, topic);
      assert.equal(m.message_key, want.subject, 'the key is the reception id');
      assert.deepEqual(JSON.parse(m.value), want.data);
      const h = m.headers;
      assert.equal(h.ce_specversion, '1.0');
      assert.equal(h.ce_dataschema, `urn:medical:events:${want.type}:1`, 'the data schema and its version');
      assert.match(h.ce_id!, uuidPattern);
      assert.equal(h.ce_type, want.type);
      assert.equal(h.ce_source, sourceOf(want as MedicalEvent));
      assert.equal(h.ce_subject, want.subject);
      assert.equal(h['content-type'], 'application/json');
      const time = Date.parse(h.ce_time!);
      assert.ok(time >= before && time <= after, `ce_time ${h.ce_time} is the time of the append`);
      assert.equal(new Date(time).toISOString(), h.ce_time);
    });
    assert.equal(messages[0]!.headers.traceparent, undefined);
    assert.equal(messages[2]!.headers.traceparent, traceparent);
    assert.equal(messages[0]!.headers.ce_source, '/reception');
    assert.equal(messages[1]!.headers.ce_source, '/diagnosis');
    assert.equal(messages[2]!.headers.ce_source, '/examination');
    assert.equal(await counterValue(f.metrics.eventsPublished, { type: 'ReceptionCompleted' }), 1);
    assert.equal(await counterValue(f.metrics.eventsPublished, {}), 3);
  });

  test('many transactions keep their order, and a row appended without notify is found by the poll', async (t) => {
    const f = await setup(t);
    const relay = relayOf(t, f);
    relay.start();
    const ids: string[] = [];
    for (let i = 1; i <= 30; i++) {
      const [envelope] = await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(i)], { subject: String(i) }));
      ids.push(envelope!.id);
      if (i % 3 === 0) relay.notify();
    }
    await waitFor('30 published messages', () => published(f.log).length === 30);
    await waitFor('the outbox to empty', async () => (await relay.pending()) === 0);
    // The relay now idles; a row committed without notify() is published by the next poll (8 × 5 ms).
    const [late] = await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(31)], { subject: '31' }));
    ids.push(late!.id);
    await waitFor('the poll to publish the last row', () => published(f.log).length === 31, 2_000);
    assert.deepEqual(
      published(f.log).map((m) => m.headers.ce_id),
      ids,
    );
  });

  test('a rolled-back transaction publishes nothing', async (t) => {
    const f = await setup(t);
    const relay = relayOf(t, f);
    relay.start();
    await assert.rejects(
      f.database.transaction(async (trx) => {
        await appendToOutbox(trx, topic, [completed(1)], { subject: '1' });
        throw new Error('the state change failed');
      }),
      /the state change failed/,
    );
    relay.notify();
    const [marker] = await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(2)], { subject: '2' }));
    relay.notify();
    await waitFor('the committed event', () => published(f.log).length > 0);
    assert.deepEqual(
      published(f.log).map((m) => m.headers.ce_id),
      [marker!.id],
    );
    assert.equal(await relay.pending(), 0);
  });

  test('invalid event data is refused at append time and the transaction writes nothing', async (t) => {
    const f = await setup(t);
    const invalid = { type: 'ReceptionCancelled', data: { receptionId: 7 } } as unknown as MedicalEvent;
    await assert.rejects(
      f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(7), invalid], { subject: '7' })),
      /refusing to produce invalid ReceptionCancelled.*reason/,
    );
    const wrongType = { type: 'ReceptionCompleted', data: { ...completed(7).data, receptionId: 'seven' } } as unknown as MedicalEvent;
    await assert.rejects(
      f.database.transaction((trx) => appendToOutbox(trx, topic, [wrongType], { subject: '7' })),
      /refusing to produce invalid ReceptionCompleted.*receptionId/,
    );
    const unknownType = { type: 'ReceptionTeleported', data: {} } as unknown as MedicalEvent;
    await assert.rejects(f.database.transaction((trx) => appendToOutbox(trx, topic, [unknownType], { subject: '7' })));
    assert.deepEqual(await f.database.db.selectFrom('outbox').selectAll().execute(), []);
  });

  test('the relay keeps retrying while the transport fails and publishes everything once it recovers', async (t) => {
    const f = await setup(t);
    const outage = brokerOutage(f.log, 3);
    const relay = relayOf(t, f, { transport: outage.transport });
    const ids: string[] = [];
    const append = async (events: MedicalEvent[], subject: string) => {
      const envelopes = await f.database.transaction((trx) => appendToOutbox(trx, topic, events, { subject }));
      ids.push(...envelopes.map((e) => e.id));
      relay.notify();
    };
    await append([completed(1), registered(1, 1)], '1');
    relay.start();
    await waitFor('a failed publish', () => outage.calls() >= 1);
    assert.equal(await relay.pending(), 2, 'nothing is deleted while the broker is down');
    await append([completed(2)], '2');
    await append([registered(2, 2), performed(2)], '2');

    await waitFor('every event published', () => published(f.log).length === 5, 5_000);
    assert.ok(outage.calls() >= 4, `publish attempts: ${outage.calls()}`);
    assert.deepEqual(
      published(f.log).map((m) => m.headers.ce_id),
      ids,
    );
    await waitFor('the outbox to empty', async () => (await relay.pending()) === 0);
    assert.equal(await counterValue(f.metrics.eventsPublished, {}), 5, 'failed attempts are not counted as published');
  });

  test('stop() publishes what is left even while the relay idles', async (t) => {
    const f = await setup(t);
    // Idles 8 × 60 s between polls: only notify() or stop() can make it publish now.
    const relay = relayOf(t, f, { pollIntervalMs: 60_000 });
    relay.start();
    assert.equal(await relay.pending(), 0);
    const envelopes = await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(1), completed(2)], { subject: '1' }));
    assert.deepEqual(published(f.log), [], 'the idle relay has not published yet');

    const started = Date.now();
    await relay.stop();
    assert.ok(Date.now() - started < 2_000, 'stop does not wait out the idle period');
    assert.deepEqual(
      published(f.log).map((m) => m.headers.ce_id),
      envelopes.map((e) => e.id),
    );
    assert.equal(await relay.pending(), 0);
  });

  test('stop() while the broker is down leaves the rows in the outbox for the next start', async (t) => {
    const f = await setup(t);
    const outage = brokerOutage(f.log, Infinity);
    const relay = relayOf(t, f, { transport: outage.transport });
    relay.start();
    await f.database.transaction((trx) => appendToOutbox(trx, topic, [completed(1)], { subject: '1' }));
    relay.notify();
    await waitFor('a failed publish', () => outage.calls() >= 1);
    await relay.stop();
    assert.equal(await relay.pending(), 1);

    const next = relayOf(t, f);
    next.start();
    await waitFor('the next relay to publish it', () => published(f.log).length === 1);
  });

  test(
    'stop() publishes everything left, beyond one batch of 500',
    async (t) => {
      const f = await setup(t);
      const relay = relayOf(t, f);
      const events = Array.from({ length: 600 }, (_, i) => completed(i + 1));
      await f.database.transaction((trx) => appendToOutbox(trx, topic, events, { subject: '1' }));
      await relay.stop();
      assert.equal(await relay.pending(), 0);
      assert.equal(published(f.log).length, 600);
    },
  );
});
