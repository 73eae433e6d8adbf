import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { CloudEvent, MedicalEvent } from '@medical/contracts';
import type { Database, Migrations } from '../src/db/database.ts';
import { openSqliteDatabase as openDatabase } from '../src/db/sqlite-database.ts';
import type { PlatformTables } from '../src/db/platform-migrations.ts';
import { createMetrics, type ServiceMetrics } from '../src/metrics.ts';
import { createIdempotentConsumer, type EventEffect, type IdempotentConsumerOptions } from '../src/messaging/consumer.ts';
import { EmbeddedLog } from '../src/messaging/embedded-log.ts';
import { encodeCloudEvent, toCloudEvent } from '../src/messaging/envelope.ts';
import { OutboxRelay } from '../src/messaging/outbox.ts';
import type { Delivery } from '../src/messaging/transport.ts';
import { counterValue, defer, silentLogger, tempDir, uuidPattern, waitFor } from './helpers.ts';

type Tables = PlatformTables & { notes: { id: string; count: number } };

/** An event id the inbox refuses (a trigger below), to make the inbox write fail after the effect's. */
const REFUSED_BY_INBOX = '00000000-0000-4000-8000-00000000dead';

const testMigrations: Migrations = {
  '0100_notes': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .execute();
      await sql
        .raw(
          `CREATE TRIGGER inbox_refuses_one_id BEFORE INSERT ON inbox WHEN NEW.event_id = '${REFUSED_BY_INBOX}'
           BEGIN SELECT RAISE(ABORT, 'inbox refused the row'); END`,
        )
        .execute(db);
    },
  },
};

const receptionCompleted: MedicalEvent = {
  type: 'ReceptionCompleted',
  data: { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
};

function deliveryOf(event: MedicalEvent, offset: number, subject = '7'): Delivery {
  return { ...encodeCloudEvent('medical', toCloudEvent(event, subject)), partition: 0, offset: String(offset) };
}

/** The effect every test uses unless it brings its own: counts the events of each reception. */
async function countNote(trx: Transaction<any>, event: CloudEvent): Promise<void> {
  await (trx as Transaction<Tables>)
    .insertInto('notes')
    .values({ id: event.subject, count: 1 })
    .onConflict((oc) => oc.column('id').doUpdateSet({ count: sql<number>`count + 1` }))
    .execute();
}

type Setup = {
  database: Database<Tables>;
  db: Kysely<Tables>;
  metrics: ServiceMetrics;
  handle: ReturnType<typeof createIdempotentConsumer>;
  afterCommits: () => number;
  dataDir: string;
};

async function setup(
  t: TestContext,
  options: Partial<Pick<IdempotentConsumerOptions, 'serviceName' | 'retryBudget' | 'handles'>> & { effect?: EventEffect; dataDir?: string } = {},
): Promise<Setup> {
  const serviceName = options.serviceName ?? 'consumer-test';
  const dataDir = options.dataDir ?? tempDir(t);
  const database = await openDatabase<Tables>({ serviceName, dataDir, migrations: testMigrations });
  defer(t, () => database.close());
  const metrics = createMetrics(serviceName);
  const abort = new AbortController();
  defer(t, () => abort.abort());
  let afterCommits = 0;
  const handle = createIdempotentConsumer({
    serviceName,
    db: database.db,
    transaction: (work) => database.transaction(work),
    logger: silentLogger,
    metrics,
    deadLetterTopic: 'medical.dlq',
    retryBudget: options.retryBudget ?? 2,
    retryBaseDelayMs: 1,
    handles: options.handles ?? 'all',
    effect: options.effect ?? countNote,
    afterCommit: () => {
      afterCommits += 1;
    },
    signal: abort.signal,
  });
  return { database, db: database.db, metrics, handle, afterCommits: () => afterCommits, dataDir };
}

// node:sqlite returns rows with a null prototype; spread them into plain objects to compare.
const plain = <T extends object>(rows: T[]): T[] => rows.map((r) => ({ ...r }));
const notes = async (db: Kysely<Tables>) => plain(await db.selectFrom('notes').selectAll().orderBy('id').execute());
const inbox = (db: Kysely<Tables>) => db.selectFrom('inbox').selectAll().execute();
const outbox = (db: Kysely<Tables>) => db.selectFrom('outbox').selectAll().orderBy('id').execute();

async function relayInto(t: TestContext, s: Setup, log: EmbeddedLog): Promise<void> {
  const relay = new OutboxRelay({ database: s.database, transport: log, logger: silentLogger, metrics: s.metrics, pollIntervalMs: 5, retryBaseDelayMs: 5 });
  relay.start();
  defer(t, () => relay.stop());
  relay.notify();
  await waitFor('the outbox to empty', async () => (await relay.pending()) === 0);
}

describe('createIdempotentConsumer', () => {
  test('the same delivery twice applies the effect once: applied, then duplicate', async (t) => {
    const s = await setup(t);
    const delivery = deliveryOf(receptionCompleted, 1);

    assert.equal(await s.handle(delivery), 'applied');
    assert.equal(await s.handle(delivery), 'duplicate');
    // Redelivered at another position (a rewound group, a second copy in the log): still the same event.
    assert.equal(await s.handle({ ...delivery, offset: '42' }), 'duplicate');

    assert.deepEqual(await notes(s.db), [{ id: '7', count: 1 }]);
    const rows = await inbox(s.db);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.event_id, delivery.headers.ce_id);
    assert.equal(rows[0]!.event_type, 'ReceptionCompleted');
    assert.equal(rows[0]!.outcome, 'APPLIED');
    assert.ok(!Number.isNaN(Date.parse(rows[0]!.processed_at)));
    assert.equal(await counterValue(s.metrics.eventsConsumed, { type: 'ReceptionCompleted' }), 1);
    assert.ok(s.afterCommits() >= 1, 'afterCommit runs after a commit so the relay publishes promptly');
  });

  test('an effect that throws twice then succeeds is applied once, and the failures are counted', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      retryBudget: 3,
      effect: async (trx, event) => {
        calls += 1;
        await countNote(trx, event);
        if (calls <= 2) throw new Error(`transient failure ${calls}`);
      },
    });

    assert.equal(await s.handle(deliveryOf(receptionCompleted, 1)), 'applied');
    assert.equal(calls, 3);
    // The writes of the two failed attempts were rolled back with them.
    assert.deepEqual(await notes(s.db), [{ id: '7', count: 1 }]);
    assert.equal((await inbox(s.db))[0]?.outcome, 'APPLIED');
    assert.equal(await counterValue(s.metrics.eventsFailed, { type: 'ReceptionCompleted', reason: 'handler' }), 2);
    assert.equal(await counterValue(s.metrics.eventsConsumed, { type: 'ReceptionCompleted' }), 1);
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 0);
    assert.deepEqual(await outbox(s.db), []);
  });

  test('an effect that always throws is dead-lettered after the retry budget, with the original headers kept', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      serviceName: 'diagnosis',
      retryBudget: 2,
      effect: async (trx, event) => {
        calls += 1;
        await countNote(trx, event);
        throw new Error('diagnosis 7 contradicts reception 7');
      },
    });
    const delivery = deliveryOf(receptionCompleted, 5);
    const before = Date.now();

    assert.equal(await s.handle(delivery), 'dead-lettered');
    assert.equal(calls, 3, 'one attempt and two retries');
    assert.deepEqual(await notes(s.db), [], "the effect's partial writes are rolled back");
    const [inboxRow, ...otherInbox] = await inbox(s.db);
    assert.deepEqual(otherInbox, []);
    assert.equal(inboxRow?.event_id, delivery.headers.ce_id);
    assert.equal(inboxRow?.outcome, 'DEAD_LETTERED');

    const [letter, ...others] = await outbox(s.db);
    assert.deepEqual(others, []);
    assert.ok(letter);
    assert.equal(letter.topic, 'medical.dlq');
    assert.equal(letter.message_key, '7');
    assert.equal(letter.event_type, 'ReceptionCompleted');
    assert.match(letter.event_id, uuidPattern);
    assert.notEqual(letter.event_id, delivery.headers.ce_id);
    assert.equal(letter.payload, delivery.value);
    const headers = JSON.parse(letter.headers) as Record<string, string>;
    for (const [name, value] of Object.entries(delivery.headers)) assert.equal(headers[name], value, `header ${name} kept`);
    assert.match(headers.dlq_reason!, /diagnosis 7 contradicts reception 7/);
    assert.equal(headers.dlq_original_topic, 'medical');
    assert.equal(headers.dlq_original_partition, '0');
    assert.equal(headers.dlq_original_offset, '5');
    assert.equal(headers.dlq_consumer_group, 'diagnosis');
    assert.ok(Date.parse(headers.dlq_failed_at!) >= before - 1000);

    assert.equal(await counterValue(s.metrics.eventsDeadLettered, { type: 'ReceptionCompleted' }), 1);
    assert.equal(await counterValue(s.metrics.eventsFailed, { type: 'ReceptionCompleted', reason: 'handler' }), 3);
    assert.equal(await counterValue(s.metrics.eventsConsumed, {}), 0);

    // The relay publishes the dead letter to the dead-letter topic of the real log.
    const log = new EmbeddedLog({ file: path.join(s.dataDir, 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
    defer(t, () => log.close());
    await relayInto(t, s, log);
    const [published, ...more] = log.read('medical.dlq', 0, 10);
    assert.deepEqual(more, []);
    assert.equal(published?.message_key, '7');
    assert.equal(published?.value, delivery.value);
    assert.deepEqual(JSON.parse(published!.headers), headers);
    assert.deepEqual(log.read('medical', 0, 10), []);

    // A redelivery after the dead letter is a duplicate: the effect is not tried again.
    assert.equal(await s.handle(delivery), 'duplicate');
    assert.equal(calls, 3);
  });

  test('invalid data, an unknown type, a missing id and a value that is not JSON are dead-lettered with the reason', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      retryBudget: 1,
      effect: async () => {
        calls += 1;
      },
    });
    const valid = deliveryOf(receptionCompleted, 1);
    const missingName: Delivery = {
      ...valid,
      offset: '2',
      headers: { ...valid.headers, ce_id: '11111111-1111-4111-8111-111111111111' },
      value: JSON.stringify({ receptionId: 7, patientId: 'P-001', receivedAt: '2025-03-01T09:00:00.000Z' }),
    };
    const unknownType: Delivery = {
      ...valid,
      offset: '3',
      headers: { ...valid.headers, ce_id: '22222222-2222-4222-8222-222222222222', ce_type: 'ReceptionTeleported' },
    };
    const notJson: Delivery = {
      ...valid,
      offset: '4',
      headers: { ...valid.headers, ce_id: '33333333-3333-4333-8333-333333333333' },
      value: '{"receptionId": 7,',
    };
    const { ce_id: _dropped, ...withoutId } = valid.headers;
    const missingId: Delivery = { ...valid, offset: '9', headers: withoutId };

    for (const d of [missingName, unknownType, notJson, missingId]) assert.equal(await s.handle(d), 'dead-lettered');
    assert.equal(calls, 0, 'the effect never sees an event that breaks the contract');

    const letters = await outbox(s.db);
    assert.equal(letters.length, 4);
    const reasons = letters.map((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_reason ?? '');
    assert.match(reasons[0]!, /invalid ReceptionCompleted data/);
    assert.match(reasons[0]!, /patientName/);
    assert.match(reasons[1]!, /unknown event type ReceptionTeleported/);
    assert.match(reasons[2]!, /value is not JSON/);
    assert.match(reasons[3]!, /invalid CloudEvents envelope/);
    assert.deepEqual(
      letters.map((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_original_offset),
      ['2', '3', '4', '9'],
    );
    assert.equal(letters[2]!.payload, notJson.value, 'the dead letter carries the original bytes');

    const recorded = new Map((await inbox(s.db)).map((r) => [r.event_id, r.outcome]));
    assert.equal(recorded.get(missingName.headers.ce_id!), 'DEAD_LETTERED');
    assert.equal(recorded.get(unknownType.headers.ce_id!), 'DEAD_LETTERED');
    assert.equal(recorded.get(notJson.headers.ce_id!), 'DEAD_LETTERED');
    // With no id to deduplicate by, the event's position in the log identifies it.
    assert.equal(recorded.get('medical/0/9'), 'DEAD_LETTERED');
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 4);
    assert.equal(await counterValue(s.metrics.eventsFailed, { reason: 'invalid' }), 8, 'each of 4 events tried twice');
  });

  test(
    'redelivering a dead-lettered invalid event is a duplicate: no second dead letter is counted',
    async (t) => {
      const s = await setup(t, { retryBudget: 1 });
      const valid = deliveryOf(receptionCompleted, 1);
      const invalid: Delivery = { ...valid, value: JSON.stringify({ receptionId: 7 }) };

      assert.equal(await s.handle(invalid), 'dead-lettered');
      assert.equal(await s.handle({ ...invalid, offset: '2' }), 'duplicate');
      assert.equal((await outbox(s.db)).length, 1);
      assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 1);
    },
  );

  test(
    'two services dead-lettering the same poison event both reach the dead-letter topic',
    async (t) => {
      const dataDir = tempDir(t);
      const log = new EmbeddedLog({ file: path.join(dataDir, 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
      defer(t, () => log.close());
      const diagnosis = await setup(t, { serviceName: 'diagnosis', retryBudget: 0, dataDir });
      const examination = await setup(t, { serviceName: 'examination', retryBudget: 0, dataDir });
      const poison: Delivery = { ...deliveryOf(receptionCompleted, 3), value: '"not an object"' };

      assert.equal(await diagnosis.handle(poison), 'dead-lettered');
      assert.equal(await examination.handle(poison), 'dead-lettered');
      await relayInto(t, diagnosis, log);
      await relayInto(t, examination, log);

      const groups = log.read('medical.dlq', 0, 10).map((m) => (JSON.parse(m.headers) as Record<string, string>).dlq_consumer_group);
      assert.deepEqual(groups.sort(), ['diagnosis', 'examination']);
    },
  );

  test('a replay (dlq_replay_of) of an event this service dead-lettered re-claims it: applied once, then duplicate', async (t) => {
    let fixed = false;
    let applied = 0;
    const s = await setup(t, {
      serviceName: 'reception',
      retryBudget: 1,
      effect: async (trx, event) => {
        await countNote(trx, event);
        if (!fixed) throw new Error('DiagnosisCompleted for unknown reception 7');
        applied += 1;
      },
    });
    const delivery = deliveryOf(receptionCompleted, 3);
    assert.equal(await s.handle(delivery), 'dead-lettered');
    const [letter] = await outbox(s.db);
    const letterHeaders = JSON.parse(letter!.headers) as Record<string, string>;
    assert.equal(letterHeaders.dlq_id, letter!.event_id, 'the letter carries its own id, what the command lists and replays');

    // A plain redelivery of the dead-lettered event stays a duplicate, fixed or not.
    fixed = true;
    assert.equal(await s.handle({ ...delivery, offset: '4' }), 'duplicate');
    assert.equal(applied, 0);

    // The operator's replay: same ce_id, original headers, and dlq_replay_of.
    const replay: Delivery = { ...delivery, offset: '9', headers: { ...delivery.headers, dlq_replay_of: letterHeaders.dlq_id! } };
    assert.equal(await s.handle(replay), 'applied');
    assert.equal(applied, 1);
    assert.deepEqual(await notes(s.db), [{ id: '7', count: 1 }]);
    const rows = await inbox(s.db);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.event_id, delivery.headers.ce_id);
    assert.equal(rows[0]!.outcome, 'APPLIED', 'the DEAD_LETTERED row moved to APPLIED with the effect');
    assert.equal(await counterValue(s.metrics.eventsConsumed, { type: 'ReceptionCompleted' }), 1);

    // Replaying the same letter again, or redelivering the replay, is now a duplicate.
    assert.equal(await s.handle({ ...replay, offset: '10' }), 'duplicate');
    assert.equal(await s.handle({ ...delivery, offset: '11' }), 'duplicate');
    assert.equal(applied, 1);
    assert.deepEqual(await notes(s.db), [{ id: '7', count: 1 }]);
    assert.equal((await outbox(s.db)).length, 1, 'no new dead letter');
  });

  test('a replay reaching a service that applied the event is a duplicate: only the group that gave up applies it', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      serviceName: 'patient-management',
      effect: async (trx, event) => {
        calls += 1;
        await countNote(trx, event);
      },
    });
    const delivery = deliveryOf(receptionCompleted, 1);
    assert.equal(await s.handle(delivery), 'applied');
    const replay: Delivery = { ...delivery, offset: '8', headers: { ...delivery.headers, dlq_replay_of: '0b7c5a4e-5b7e-4c55-9d8e-4f1f4c1d2a3b' } };
    assert.equal(await s.handle(replay), 'duplicate');
    assert.equal(calls, 1);
    assert.deepEqual(await notes(s.db), [{ id: '7', count: 1 }]);
    assert.deepEqual((await inbox(s.db)).map((r) => r.outcome), ['APPLIED']);
    assert.equal(await counterValue(s.metrics.eventsConsumed, {}), 1);
  });

  test('a replay that fails again is dead-lettered again, naming the letter it replayed; the inbox keeps DEAD_LETTERED', async (t) => {
    const s = await setup(t, {
      retryBudget: 1,
      effect: async () => {
        throw new Error('still broken');
      },
    });
    const delivery = deliveryOf(receptionCompleted, 2);
    assert.equal(await s.handle(delivery), 'dead-lettered');
    const firstId = (JSON.parse((await outbox(s.db))[0]!.headers) as Record<string, string>).dlq_id!;

    const replay: Delivery = { ...delivery, offset: '5', headers: { ...delivery.headers, dlq_replay_of: firstId } };
    assert.equal(await s.handle(replay), 'dead-lettered');
    const letters = await outbox(s.db);
    assert.equal(letters.length, 2);
    const second = JSON.parse(letters[1]!.headers) as Record<string, string>;
    assert.equal(second.dlq_replay_of, firstId);
    assert.notEqual(second.dlq_id, firstId);
    assert.equal(second.dlq_original_offset, '5');
    assert.deepEqual((await inbox(s.db)).map((r) => r.outcome), ['DEAD_LETTERED']);
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 2);
    // A plain redelivery (no dlq_replay_of) is still a duplicate: only a replay gets another chance.
    assert.equal(await s.handle({ ...delivery, offset: '6' }), 'duplicate');
  });

  test('a replayed invalid event is validated again: applied once a consumer accepts it, dead-lettered again otherwise', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      retryBudget: 0,
      effect: async () => {
        calls += 1;
      },
    });
    const valid = deliveryOf(receptionCompleted, 1);
    const invalid: Delivery = { ...valid, value: JSON.stringify({ receptionId: 7 }) };
    assert.equal(await s.handle(invalid), 'dead-lettered');
    const replayOf = (JSON.parse((await outbox(s.db))[0]!.headers) as Record<string, string>).dlq_id!;
    assert.equal(await s.handle({ ...invalid, offset: '2', headers: { ...invalid.headers, dlq_replay_of: replayOf } }), 'dead-lettered');
    assert.equal((await outbox(s.db)).length, 2);
    // The same event id with data this consumer accepts (as after a contract fix) is applied on replay.
    assert.equal(await s.handle({ ...valid, offset: '3', headers: { ...valid.headers, dlq_replay_of: replayOf } }), 'applied');
    assert.equal(calls, 1);
    assert.deepEqual((await inbox(s.db)).map((r) => r.outcome), ['APPLIED']);
  });

  test('a type the service does not handle is skipped without an inbox row', async (t) => {
    let calls = 0;
    const s = await setup(t, {
      handles: ['DiagnosisCompleted', 'DiagnosisRejected'],
      effect: async () => {
        calls += 1;
      },
    });
    const delivery = deliveryOf(receptionCompleted, 1);
    assert.equal(await s.handle(delivery), 'skipped');
    // Not even read: a type nobody here handles is never dead-lettered by this service.
    assert.equal(await s.handle({ ...delivery, value: 'not json' }), 'skipped');
    assert.equal(calls, 0);
    assert.deepEqual(await inbox(s.db), []);
    assert.deepEqual(await outbox(s.db), []);

    const rejected = deliveryOf({ type: 'DiagnosisRejected', data: { diagnosisId: 3, receptionId: 7, reason: 'no show' } }, 2);
    assert.equal(await s.handle(rejected), 'applied');
    assert.equal(calls, 1);
  });

  test('the effect and the inbox row commit together or not at all', async (t) => {
    let attempts = 0;
    const seenInside: unknown[] = [];
    const s = await setup(t, {
      retryBudget: 0,
      effect: async (trx, event) => {
        attempts += 1;
        await countNote(trx, event);
        seenInside.push(...plain(await (trx as Transaction<Tables>).selectFrom('notes').selectAll().execute()));
        if (event.subject === '8') throw new Error('failed after writing');
      },
    });

    // The effect throws after its write: neither the write nor an APPLIED inbox row remains.
    assert.equal(await s.handle(deliveryOf(receptionCompleted, 1, '8')), 'dead-lettered');
    assert.deepEqual(await notes(s.db), []);
    assert.deepEqual(
      (await inbox(s.db)).map((r) => r.outcome),
      ['DEAD_LETTERED'],
    );

    // The inbox refuses the event's row (it is claimed before the effect runs): no effect, and
    // the store's failure goes to the transport, which delivers the event again.
    const refused = deliveryOf(receptionCompleted, 2, '9');
    refused.headers.ce_id = REFUSED_BY_INBOX;
    await assert.rejects(s.handle(refused), /inbox refused the row/);
    assert.equal(attempts, 1);
    // Inside its transaction the effect saw its own write.
    assert.deepEqual(seenInside, [{ id: '8', count: 1 }]);
    assert.deepEqual(await notes(s.db), []);
    assert.equal((await inbox(s.db)).length, 1);
    assert.equal((await outbox(s.db)).length, 1, 'no dead letter either: the transport will redeliver');
  });
});
