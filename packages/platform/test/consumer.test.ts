import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Kysely, Transaction } from 'kysely';
import pino from 'pino';
import type { MedicalEvent } from '@medical/contracts';
import type { Database } from '../src/db/database.ts';
import { createMetrics, type ServiceMetrics } from '../src/telemetry/metrics.ts';
import { createIdempotentConsumer, type EventEffect, type IdempotentConsumerOptions } from '../src/inbox/consumer.ts';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import { encodeCloudEvent, toCloudEvent } from '../src/transport/envelope.ts';
import { OutboxRelay } from '../src/outbox/outbox.ts';
import type { Delivery } from '../src/transport/transport.ts';
import {
  countNote,
  DEAD_LETTER_REFUSAL,
  databaseKinds,
  openTestDatabase,
  REFUSED_BY_INBOX,
  refuseDeadLetters,
  type DatabaseKind,
  type Tables,
} from './consumer-databases.ts';
import { counterValue, defer, silentLogger, tempDir, uuidPattern, waitFor } from './helpers.ts';

const receptionCompleted: MedicalEvent = {
  type: 'ReceptionCompleted',
  data: { receptionId: 7, patientId: 'P-001', patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
};

function deliveryOf(event: MedicalEvent, offset: number, subject = '7'): Delivery {
  return { ...encodeCloudEvent('medical', toCloudEvent(event, subject)), partition: 0, offset: String(offset) };
}

/** An effect that writes nothing (a test that only counts the effect's calls). */
const nothing: EventEffect<Transaction<Tables>> = async () => {};

type Setup = {
  database: Database<Tables>;
  db: Kysely<Tables>;
  metrics: ServiceMetrics;
  handle: ReturnType<typeof createIdempotentConsumer>;
  afterCommits: () => number;
  /** How many times the effect ran (each attempt counts). */
  effectCalls: () => number;
  dataDir: string;
  /** What the consumer logged at warn level and above. */
  warnings: () => Array<{ msg: string; eventType?: string }>;
};

type SetupOptions = Partial<Pick<IdempotentConsumerOptions<Transaction<Tables>>, 'serviceName' | 'retryBudget' | 'retryBaseDelayMs' | 'handles'>> & {
  /** What the consumer applies (default countNote, which counts the events of each reception). */
  effect?: EventEffect<Transaction<Tables>>;
  dataDir?: string;
};

async function setupOn(kind: DatabaseKind, t: TestContext, options: SetupOptions = {}): Promise<Setup> {
  const serviceName = options.serviceName ?? 'consumer-test';
  const dataDir = options.dataDir ?? tempDir(t);
  const database = await openTestDatabase(t, kind, { serviceName, dataDir });
  const metrics = createMetrics(serviceName);
  const abort = new AbortController();
  defer(t, () => abort.abort());
  let afterCommits = 0;
  let effectCalls = 0;
  const effect = options.effect ?? countNote;
  const counted: EventEffect<Transaction<Tables>> = async (trx, event) => {
    effectCalls += 1;
    await effect(trx, event);
  };
  const logged: Array<{ msg: string; eventType?: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const handle = createIdempotentConsumer({
    serviceName,
    db: database.db,
    ownTables: (trx) => trx,
    transaction: (work) => database.transaction(work),
    logger,
    metrics,
    deadLetterTopic: 'medical.dlq',
    retryBudget: options.retryBudget ?? 2,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1,
    handles: options.handles ?? 'all',
    effect: counted,
    afterCommit: () => {
      afterCommits += 1;
    },
    signal: abort.signal,
  });
  return { database, db: database.db, metrics, handle, afterCommits: () => afterCommits, effectCalls: () => effectCalls, dataDir, warnings: () => logged };
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

for (const { kind, skip } of databaseKinds) describe(`createIdempotentConsumer on ${kind}`, { skip }, () => {
  const setup = (t: TestContext, options: SetupOptions = {}) => setupOn(kind, t, options);

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
    assert.equal(s.afterCommits(), 0, "an applied event wakes no relay itself: the events its effect emits do (the service's emit)");
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
    const s = await setup(t, {
      serviceName: 'diagnosis',
      retryBudget: 2,
      effect: async (trx, event) => {
        await countNote(trx, event);
        throw new Error('diagnosis 7 contradicts reception 7');
      },
    });
    const delivery = deliveryOf(receptionCompleted, 5);
    const before = Date.now();

    assert.equal(await s.handle(delivery), 'dead-lettered');
    assert.equal(s.effectCalls(), 3, 'one attempt and two retries');
    assert.equal(s.afterCommits(), 1, 'the dead letter in the outbox wakes the relay after its commit');
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
    assert.equal(s.effectCalls(), 3);
  });

  test('invalid data, a missing id and a value that is not JSON are dead-lettered with the reason', async (t) => {
    const s = await setup(t, { retryBudget: 1, effect: nothing });
    const valid = deliveryOf(receptionCompleted, 1);
    const missingName: Delivery = {
      ...valid,
      offset: '2',
      headers: { ...valid.headers, ce_id: '11111111-1111-4111-8111-111111111111' },
      value: JSON.stringify({ receptionId: 7, patientId: 'P-001', receivedAt: '2025-03-01T09:00:00.000Z' }),
    };
    const notJson: Delivery = {
      ...valid,
      offset: '4',
      headers: { ...valid.headers, ce_id: '33333333-3333-4333-8333-333333333333' },
      value: '{"receptionId": 7,',
    };
    const { ce_id: _dropped, ...withoutId } = valid.headers;
    const missingId: Delivery = { ...valid, offset: '9', headers: withoutId };

    for (const d of [missingName, notJson, missingId]) assert.equal(await s.handle(d), 'dead-lettered');
    assert.equal(s.effectCalls(), 0, 'the effect never sees an event that breaks the contract');

    const letters = await outbox(s.db);
    assert.equal(letters.length, 3);
    const reasons = letters.map((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_reason ?? '');
    assert.match(reasons[0]!, /invalid ReceptionCompleted data/);
    assert.match(reasons[0]!, /patientName/);
    assert.match(reasons[1]!, /value is not JSON/);
    assert.match(reasons[2]!, /invalid CloudEvents envelope/);
    assert.deepEqual(
      letters.map((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_original_offset),
      ['2', '4', '9'],
    );
    assert.equal(letters[1]!.payload, notJson.value, 'the dead letter carries the original bytes');

    const recorded = new Map((await inbox(s.db)).map((r) => [r.event_id, r.outcome]));
    assert.equal(recorded.get(missingName.headers.ce_id!), 'DEAD_LETTERED');
    assert.equal(recorded.get(notJson.headers.ce_id!), 'DEAD_LETTERED');
    // With no id to deduplicate by, the event's position in the log identifies it.
    assert.equal(recorded.get('medical/0/9'), 'DEAD_LETTERED');
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 3);
    assert.equal(await counterValue(s.metrics.eventsFailed, { reason: 'invalid' }), 6, 'each of 3 events tried twice');
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
    const s = await setup(t, { serviceName: 'patient-management' });
    const delivery = deliveryOf(receptionCompleted, 1);
    assert.equal(await s.handle(delivery), 'applied');
    const replay: Delivery = { ...delivery, offset: '8', headers: { ...delivery.headers, dlq_replay_of: '0b7c5a4e-5b7e-4c55-9d8e-4f1f4c1d2a3b' } };
    assert.equal(await s.handle(replay), 'duplicate');
    assert.equal(s.effectCalls(), 1);
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
    const s = await setup(t, { retryBudget: 0, effect: nothing });
    const valid = deliveryOf(receptionCompleted, 1);
    const invalid: Delivery = { ...valid, value: JSON.stringify({ receptionId: 7 }) };
    assert.equal(await s.handle(invalid), 'dead-lettered');
    const replayOf = (JSON.parse((await outbox(s.db))[0]!.headers) as Record<string, string>).dlq_id!;
    assert.equal(await s.handle({ ...invalid, offset: '2', headers: { ...invalid.headers, dlq_replay_of: replayOf } }), 'dead-lettered');
    assert.equal((await outbox(s.db)).length, 2);
    // The same event id with data this consumer accepts (as after a contract fix) is applied on replay.
    assert.equal(await s.handle({ ...valid, offset: '3', headers: { ...valid.headers, dlq_replay_of: replayOf } }), 'applied');
    assert.equal(s.effectCalls(), 1);
    assert.deepEqual((await inbox(s.db)).map((r) => r.outcome), ['APPLIED']);
  });

  test('a type the service does not handle is skipped without an inbox row', async (t) => {
    const s = await setup(t, { handles: ['DiagnosisCompleted', 'DiagnosisRejected'], effect: nothing });
    const delivery = deliveryOf(receptionCompleted, 1);
    assert.equal(await s.handle(delivery), 'skipped');
    // Not even read: a type nobody here handles is never dead-lettered by this service.
    assert.equal(await s.handle({ ...delivery, value: 'not json' }), 'skipped');
    assert.equal(s.effectCalls(), 0);
    assert.deepEqual(await inbox(s.db), []);
    assert.deepEqual(await outbox(s.db), []);

    const rejected = deliveryOf({ type: 'DiagnosisRejected', data: { diagnosisId: 3, receptionId: 7, reason: 'no show' } }, 2);
    assert.equal(await s.handle(rejected), 'applied');
    assert.equal(s.effectCalls(), 1);
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

  test('an event from a service that does not produce its type is dead-lettered, never applied, with that reason', async (t) => {
    const s = await setup(t, { retryBudget: 0 });
    const valid = deliveryOf(receptionCompleted, 1);
    const forged = { ...valid, headers: { ...valid.headers, ce_source: '/diagnosis' } };
    assert.equal(await s.handle(forged), 'dead-lettered');
    assert.equal(s.effectCalls(), 0);
    const [letter] = await outbox(s.db);
    assert.match((JSON.parse(letter!.headers) as Record<string, string>).dlq_reason!, /ReceptionCompleted must come from \/reception, not from \/diagnosis/);
    assert.equal(await s.handle({ ...valid, offset: '2', headers: { ...valid.headers, ce_id: '11111111-1111-4111-8111-111111111111' } }), 'applied', 'the producer itself is heard');
  });

  test('NUL in the event id, the type, an attribute, the key, a header or the value: dead-lettered in forms every database stores, and the next event applied', async (t) => {
    const s = await setup(t, { retryBudget: 1 });
    const valid = deliveryOf(receptionCompleted, 1);
    const id = (n: number) => `${String(n).repeat(8)}-${String(n).repeat(4)}-4${String(n).repeat(3)}-8${String(n).repeat(3)}-${String(n).repeat(12)}`;
    const noPatientName = JSON.stringify({ receptionId: 7, patientId: 'P-001', receivedAt: '2025-03-01T09:00:00.000Z' });
    const poisons: Record<string, Delivery> = {
      id: { ...valid, offset: '2', headers: { ...valid.headers, ce_id: `${id(1)}\u0000` } },
      type: { ...valid, offset: '3', headers: { ...valid.headers, ce_id: id(2), ce_type: 'Reception\u0000Completed' } },
      source: { ...valid, offset: '4', headers: { ...valid.headers, ce_id: id(3), ce_source: '/recep\u0000tion' } },
      key: { ...valid, offset: '5', key: '7\u0000', headers: { ...valid.headers, ce_id: id(4) }, value: noPatientName },
      header: { ...valid, offset: '6', headers: { ...valid.headers, ce_id: id(5), 'x-note': 'a\u0000b' }, value: noPatientName },
      value: { ...valid, offset: '7', headers: { ...valid.headers, ce_id: id(6) }, value: '{"receptionId": 7\u0000}' },
      data: {
        ...valid,
        offset: '8',
        headers: { ...valid.headers, ce_id: id(7) },
        value: JSON.stringify({ ...receptionCompleted.data, patientName: 'Kim\u0000Minji' }),
      },
    };
    for (const [what, poison] of Object.entries(poisons)) assert.equal(await s.handle(poison), 'dead-lettered', `NUL in the ${what}`);
    assert.equal(await s.handle({ ...valid, offset: '9' }), 'applied', 'the next event goes through');
    assert.equal(s.effectCalls(), 1, 'no effect ran for an event holding NUL, so SQLite and PostgreSQL end the same');

    const letters = await outbox(s.db);
    assert.equal(letters.length, 7);
    const headersOf = (offset: string) => {
      const letter = letters.find((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_original_offset === offset)!;
      return { letter, headers: JSON.parse(letter.headers) as Record<string, string> };
    };
    // The id is not a sane string: the inbox knows the event by its position.
    const recorded = new Map((await inbox(s.db)).map((r) => [r.event_id, r]));
    assert.equal(recorded.get('medical/0/2')?.outcome, 'DEAD_LETTERED');
    assert.equal(headersOf('2').headers.ce_id, poisons.id!.headers.ce_id, 'the letter keeps the original id');
    assert.equal(await s.handle({ ...poisons.id!, offset: '2' }), 'duplicate', 'a redelivery is recognised by its position');
    assert.match(headersOf('2').headers.dlq_reason!, /invalid CloudEvents envelope: \/id/);
    // A type that is not a type name is stored and counted as '(invalid)'; the header keeps it.
    assert.equal(headersOf('3').letter.event_type, '(invalid)');
    assert.equal(recorded.get(id(2))?.event_type, '(invalid)');
    assert.equal(headersOf('3').headers.ce_type, 'Reception\u0000Completed');
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, { type: '(invalid)' }), 1);
    assert.match(headersOf('4').headers.dlq_reason!, /\/source must not contain control characters/);
    // The key and the value holding NUL are stored as base64, and the letter says so.
    const keyed = headersOf('5');
    assert.equal(keyed.headers.dlq_key_encoding, 'base64');
    assert.equal(Buffer.from(keyed.letter.message_key, 'base64').toString('utf8'), '7\u0000');
    assert.equal(keyed.headers.dlq_value_encoding, undefined);
    assert.equal(keyed.letter.payload, noPatientName);
    assert.equal(headersOf('6').headers['x-note'], 'a\u0000b', 'a header keeps its NUL (the outbox stores headers as JSON)');
    const valued = headersOf('7');
    assert.equal(valued.headers.dlq_value_encoding, 'base64');
    assert.equal(Buffer.from(valued.letter.payload, 'base64').toString('utf8'), poisons.value!.value);
    assert.match(valued.headers.dlq_reason!, /value is not JSON/);
    assert.match(headersOf('8').headers.dlq_reason!, /invalid ReceptionCompleted data: \/patientName must not contain the NUL character/);

    // The relay publishes every letter; read back, each is what the outbox holds.
    const log = new EmbeddedLog({ file: path.join(s.dataDir, 'events.sqlite'), pollIntervalMs: 5, logger: silentLogger });
    defer(t, () => log.close());
    await relayInto(t, s, log);
    const published = log.read('medical.dlq', 0, 20);
    assert.deepEqual(
      published.map((m) => ({ key: m.message_key, headers: JSON.parse(m.headers) as unknown, value: m.value })),
      letters.map((l) => ({ key: l.message_key, headers: JSON.parse(l.headers) as unknown, value: l.payload })),
    );
  });

  test('bytes a transport could not decode as UTF-8 are dead-lettered, the letter keeping the original bytes', async (t) => {
    const s = await setup(t, { retryBudget: 0, effect: nothing });
    const valid = deliveryOf(receptionCompleted, 1);
    // As a transport delivers them: decoded the lenient way, the original bytes beside them.
    const badValue = Buffer.concat([Buffer.from(valid.value.slice(0, -1)), Buffer.from([0xff, 0x7d])]);
    const badId = Buffer.from([0x31, 0xc3, 0x28]);
    const badKey = Buffer.from([0x37, 0x80]);
    const undecodable: Delivery = {
      ...valid,
      offset: '2',
      key: badKey.toString('utf8'),
      headers: { ...valid.headers, ce_id: badId.toString('utf8') },
      value: badValue.toString('utf8'),
      undecodable: [
        { part: 'header', name: 'ce_id', problem: 'is not UTF-8', bytes: badId },
        { part: 'key', problem: 'is not UTF-8', bytes: badKey },
        { part: 'value', problem: 'is not UTF-8', bytes: badValue },
      ],
    };
    assert.equal(await s.handle(undecodable), 'dead-lettered');
    assert.equal(s.effectCalls(), 0, 'text decoded from bytes that were not UTF-8 is not the event its producer sent');
    assert.equal(await s.handle({ ...valid, offset: '3' }), 'applied');

    const [letter, ...others] = await outbox(s.db);
    assert.deepEqual(others, []);
    const headers = JSON.parse(letter!.headers) as Record<string, string>;
    assert.equal(headers.dlq_reason, 'undecodable message: header "ce_id" is not UTF-8; key is not UTF-8; value is not UTF-8');
    assert.equal(headers.dlq_value_encoding, 'base64');
    assert.deepEqual(Buffer.from(letter!.payload, 'base64'), badValue);
    assert.equal(headers.dlq_key_encoding, 'base64');
    assert.deepEqual(Buffer.from(letter!.message_key, 'base64'), badKey);
    assert.deepEqual(JSON.parse(headers.dlq_undecodable!), [{ part: 'header', name: 'ce_id', problem: 'is not UTF-8', base64: badId.toString('base64') }]);
    assert.equal(headers.ce_id, badId.toString('utf8'));
    const rows = await inbox(s.db);
    assert.deepEqual(rows.map((r) => [r.event_id, r.outcome]).sort(), [
      [valid.headers.ce_id, 'APPLIED'],
      ['medical/0/2', 'DEAD_LETTERED'],
    ]);
  });

  test('an event of a type outside the contract is skipped and counted, never retried nor dead-lettered, and logged once per type', async (t) => {
    const s = await setup(t, { retryBudget: 3, retryBaseDelayMs: 50, effect: nothing });
    const valid = deliveryOf(receptionCompleted, 1);
    const ofType = (type: string, offset: number, headers: Record<string, string> = {}): Delivery => ({
      ...valid,
      offset: String(offset),
      headers: { ...valid.headers, ce_id: crypto.randomUUID(), ce_type: type, ...headers },
      value: JSON.stringify({ receptionId: 7, to: 'the moon' }),
    });
    const started = Date.now();
    for (const d of [ofType('ReceptionTeleported', 2), ofType('ReceptionTeleported', 3), ofType('com.example.VisitArchived.v2', 4)]) {
      assert.equal(await s.handle(d), 'skipped');
    }
    assert.ok(Date.now() - started < 150, 'skipped at once: no backoff between attempts');
    assert.equal(s.effectCalls(), 0);
    assert.deepEqual(await inbox(s.db), []);
    assert.deepEqual(await outbox(s.db), []);
    assert.equal(await counterValue(s.metrics.eventsSkipped, { type: 'ReceptionTeleported', reason: 'unknown-type' }), 2);
    assert.equal(await counterValue(s.metrics.eventsSkipped, { type: 'com.example.VisitArchived.v2', reason: 'unknown-type' }), 1);
    assert.equal(await counterValue(s.metrics.eventsFailed, {}), 0);
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 0);
    const warned = s.warnings().filter((w) => /skipping events this version cannot read/.test(w.msg));
    assert.deepEqual(warned.map((w) => w.eventType), ['ReceptionTeleported', 'com.example.VisitArchived.v2']);

    // Not a newer producer's event but a broken one: an envelope without its time is poison,
    // whatever its type; and so is a known type whose data breaks its schema.
    const { ce_time: _time, ...timeless } = ofType('ReceptionTeleported', 5).headers;
    assert.equal(await s.handle({ ...valid, offset: '5', headers: timeless }), 'dead-lettered');
    assert.equal(await s.handle({ ...valid, offset: '6', value: JSON.stringify({ receptionId: 7 }) }), 'dead-lettered');
    assert.equal((await outbox(s.db)).length, 2);
    assert.equal(await counterValue(s.metrics.eventsSkipped, {}), 3);
  });

  test('the data schema version: written by producers, optional on consumption, an unknown version skipped and counted, a wrong one dead-lettered', async (t) => {
    const s = await setup(t, { retryBudget: 0 });
    const current = deliveryOf(receptionCompleted, 1);
    assert.equal(current.headers.ce_dataschema, 'urn:medical:events:ReceptionCompleted:1');
    assert.equal(await s.handle(current), 'applied');

    // An older producer's event has no dataschema: read as before.
    const { ce_dataschema: _schema, ...older } = deliveryOf(receptionCompleted, 2).headers;
    assert.equal(await s.handle({ ...deliveryOf(receptionCompleted, 2), headers: older }), 'applied');
    assert.equal(s.effectCalls(), 2);

    // A newer producer's version 2, whose data this version's schema would refuse: skipped.
    const newer = deliveryOf(receptionCompleted, 3);
    newer.headers.ce_dataschema = 'urn:medical:events:ReceptionCompleted:2';
    newer.value = JSON.stringify({ receptionId: 7, patient: { id: 'P-001', name: 'Kim Minji' } });
    assert.equal(await s.handle(newer), 'skipped');
    assert.equal(await counterValue(s.metrics.eventsSkipped, { type: 'ReceptionCompleted', reason: 'unknown-version' }), 1);

    // A dataschema naming another type, or not of the contract's form, breaks the envelope.
    const otherType = deliveryOf(receptionCompleted, 4);
    otherType.headers.ce_dataschema = 'urn:medical:events:ReceptionCancelled:1';
    const notOurs = deliveryOf(receptionCompleted, 5);
    notOurs.headers.ce_dataschema = 'https://example.com/schemas/reception-completed.json';
    assert.equal(await s.handle(otherType), 'dead-lettered');
    assert.equal(await s.handle(notOurs), 'dead-lettered');
    assert.equal(s.effectCalls(), 2);
    const reasons = (await outbox(s.db)).map((l) => (JSON.parse(l.headers) as Record<string, string>).dlq_reason);
    assert.deepEqual(reasons, [
      'invalid CloudEvents envelope: dataschema "urn:medical:events:ReceptionCancelled:1" is not urn:medical:events:ReceptionCompleted:<version>',
      'invalid CloudEvents envelope: dataschema "https://example.com/schemas/reception-completed.json" is not urn:medical:events:ReceptionCompleted:<version>',
    ]);
  });

  test('a dead-letter write that fails is tried again with backoff, and the letter is written once the store takes it', async (t) => {
    const s = await setup(t, { retryBudget: 0, retryBaseDelayMs: 40 });
    const invalid: Delivery = { ...deliveryOf(receptionCompleted, 1), value: JSON.stringify({ receptionId: 7 }) };
    await refuseDeadLetters(s.db, true);
    const handled = s.handle(invalid);
    await waitFor('two refused dead-letter writes', async () => (await counterValue(s.metrics.eventsFailed, { reason: 'dead-letter' })) >= 2);
    await refuseDeadLetters(s.db, false);

    assert.equal(await handled, 'dead-lettered');
    assert.equal((await outbox(s.db)).length, 1);
    assert.deepEqual((await inbox(s.db)).map((r) => r.outcome), ['DEAD_LETTERED']);
    assert.equal(await counterValue(s.metrics.eventsDeadLettered, {}), 1);
    const retried = s.warnings().filter((w) => w.msg === 'could not write the dead letter; trying again');
    assert.ok(retried.length >= 2, `each refused write is logged: ${JSON.stringify(s.warnings())}`);
    assert.equal(await s.handle(deliveryOf(receptionCompleted, 2)), 'applied', 'and the consumer goes on');
  });

  test('a dead-letter write that keeps failing fails the delivery to the transport, which delivers it again: one letter in the end', async (t) => {
    const s = await setup(t, { retryBudget: 0 });
    const invalid: Delivery = { ...deliveryOf(receptionCompleted, 1), value: JSON.stringify({ receptionId: 7 }) };
    await refuseDeadLetters(s.db, true);
    await assert.rejects(s.handle(invalid), new RegExp(DEAD_LETTER_REFUSAL));
    assert.equal(await counterValue(s.metrics.eventsFailed, { reason: 'dead-letter' }), 4, 'four tries before giving the delivery back');
    assert.deepEqual(await outbox(s.db), []);
    assert.deepEqual(await inbox(s.db), [], 'nothing recorded: the redelivery starts afresh');

    await refuseDeadLetters(s.db, false);
    assert.equal(await s.handle(invalid), 'dead-lettered');
    assert.equal(await s.handle(invalid), 'duplicate');
    assert.equal((await outbox(s.db)).length, 1);
  });
});
