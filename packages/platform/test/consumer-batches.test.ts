import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { sql, type Transaction } from 'kysely';
import type { CloudEvent, MedicalEvent } from '@medical/contracts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { createIdempotentConsumer, REPLAY_FOR_HEADER, REPLAY_OF_HEADER, type EventEffect } from '../src/inbox/consumer.ts';
import { purgeInbox } from '../src/inbox/inbox-retention.ts';
import { encodeCloudEvent, toCloudEvent } from '../src/transport/envelope.ts';
import type { Delivery } from '../src/transport/transport.ts';
import { databaseKinds, openTestDatabase, type DatabaseKind, type Tables } from './consumer-databases.ts';
import { counterValue, defer, silentLogger, tempDir } from './helpers.ts';

/**
 * The consumer's batch path (handleBatch), on both databases: a run of plain events of one
 * partition is one transaction with its inbox claim and the partition's position; a poison event
 * is isolated and dead-lettered alone; resumeFrom reads the positions back.
 */

const completed = (receptionId: number): MedicalEvent => ({
  type: 'ReceptionCompleted',
  data: { receptionId, patientId: `P-${receptionId}`, patientName: 'Kim Minji', receivedAt: '2025-03-01T09:00:00.000Z' },
});
const confirmed = (receptionId: number): MedicalEvent => ({ type: 'ReceptionConfirmed', data: { receptionId, outcome: 'COMPLETED' } });

function deliveryOf(event: MedicalEvent, offset: number, partition = 1): Delivery {
  const subject = String((event.data as { receptionId: number }).receptionId);
  return { ...encodeCloudEvent('medical', toCloudEvent(event, subject)), partition, offset: String(offset) };
}

/** Appends the event's subject to its note, so the order of the effects shows. */
async function noteOrder(trx: Transaction<Tables>, event: CloudEvent): Promise<void> {
  await trx
    .insertInto('notes')
    .values({ id: 'order', count: Number(event.subject) })
    .onConflict((oc) => oc.column('id').doUpdateSet({ count: sql<number>`notes.count * 100 + excluded.count` }))
    .execute();
}

async function setup(kind: DatabaseKind, t: TestContext, options: { effect?: EventEffect<Transaction<Tables>>; handles?: 'all' | ['ReceptionCompleted'] } = {}) {
  const database = await openTestDatabase(t, kind, { serviceName: 'batch-test', dataDir: tempDir(t) });
  const metrics = createMetrics('batch-test');
  const abort = new AbortController();
  defer(t, () => abort.abort());
  let transactions = 0;
  const consumer = createIdempotentConsumer({
    serviceName: 'batch-test',
    db: database.db,
    ownTables: (trx) => trx,
    transaction: (work) => {
      transactions += 1;
      return database.transaction(work);
    },
    logger: silentLogger,
    metrics,
    deadLetterTopic: 'medical.dlq',
    retryBudget: 1,
    retryBaseDelayMs: 1,
    handles: options.handles ?? 'all',
    effect: options.effect ?? noteOrder,
    afterCommit: () => {},
    signal: abort.signal,
    group: 'batch-test',
  });
  const order = async () => (await database.db.selectFrom('notes').select('count').where('id', '=', 'order').executeTakeFirst())?.count;
  const inboxRows = async () => (await database.db.selectFrom('inbox').select(['event_id', 'outcome']).execute()).map((r) => ({ ...r }));
  return { database, metrics, consumer, order, inboxRows, transactions: () => transactions };
}

for (const { kind, skip } of databaseKinds) {
  describe(`the consumer's batches on ${kind}`, { skip }, () => {
    test('a run of events is one transaction: claimed in the inbox together, applied in order, with the position after the last', async (t) => {
      const s = await setup(kind, t);
      const batch = [1, 2, 3, 4].map((n) => deliveryOf(completed(n), 10 + n));
      await s.consumer.handleBatch(batch);
      assert.equal(s.transactions(), 1, 'one transaction for the whole run');
      assert.equal(await s.order(), 1020304, 'applied once each, in log order');
      assert.equal((await s.inboxRows()).length, 4);
      assert.equal(await counterValue(s.metrics.eventsConsumed, { type: 'ReceptionCompleted' }), 4);
      assert.deepEqual(await s.consumer.resumeFrom('medical', [0, 1, 2]), new Map([[1, 15n]]), 'partition 1 resumes after offset 14');

      // The same events again (a redelivery), one of them twice in the batch, and a new one: each applied once.
      await s.consumer.handleBatch([...batch, batch[2]!, deliveryOf(completed(5), 15)]);
      assert.equal(await s.order(), 102030405);
      assert.equal(await counterValue(s.metrics.eventsConsumed, { type: 'ReceptionCompleted' }), 5);
      assert.deepEqual(await s.consumer.resumeFrom('medical', [1]), new Map([[1, 16n]]));
    });

    test('a poison event in a run: the run is rolled back and handled one at a time, the poison dead-lettered alone, the rest applied in order', async (t) => {
      const s = await setup(kind, t, {
        effect: async (trx, event) => {
          if (event.subject === '3') throw new Error('reception 3 contradicts itself');
          await noteOrder(trx, event);
        },
      });
      await s.consumer.handleBatch([1, 2, 3, 4, 5].map((n) => deliveryOf(completed(n), n)));
      assert.equal(await s.order(), 1020405, 'every other event applied once, in order');
      const outcomes = (await s.inboxRows()).map((r) => r.outcome).sort();
      assert.deepEqual(outcomes, ['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED', 'DEAD_LETTERED']);
      assert.equal(await counterValue(s.metrics.eventsDeadLettered, { type: 'ReceptionCompleted' }), 1);
      const letters = await s.database.db.selectFrom('outbox').select(['topic', 'message_key']).execute();
      assert.deepEqual(letters.map((l) => ({ ...l })), [{ topic: 'medical.dlq', message_key: '3' }]);
      // The rest of the batch went one at a time: its position is written with the next run.
      await s.consumer.handleBatch([deliveryOf(completed(6), 6)]);
      assert.deepEqual(await s.consumer.resumeFrom('medical', [1]), new Map([[1, 7n]]));
    });

    test('a replay goes alone, between the runs before and after it, each run with its own position', async (t) => {
      const s = await setup(kind, t);
      const replayed = deliveryOf(completed(2), 2);
      replayed.headers[REPLAY_OF_HEADER] = 'letter-1';
      await s.consumer.handleBatch([deliveryOf(completed(1), 1), replayed, deliveryOf(completed(3), 3)]);
      assert.equal(await s.order(), 10203);
      assert.deepEqual(await s.consumer.resumeFrom('medical', [1]), new Map([[1, 4n]]));
    });

    test('a replay addressed to other groups is skipped whatever the inbox holds; one addressed to this group among others is applied', async (t) => {
      const s = await setup(kind, t);
      const forOther = deliveryOf(completed(8), 1);
      forOther.headers[REPLAY_OF_HEADER] = 'letter-8';
      forOther.headers[REPLAY_FOR_HEADER] = 'another-service';
      assert.equal(await s.consumer(forOther), 'duplicate');
      assert.equal(await s.order(), undefined, 'not applied, though no inbox row says it was');
      const forThis = { ...forOther, headers: { ...forOther.headers, [REPLAY_FOR_HEADER]: 'another-service,batch-test' } };
      assert.equal(await s.consumer(forThis), 'applied');
      assert.equal(await s.order(), 8);
    });

    test('the inbox forgets applied events past the retention, and keeps what was dead-lettered', async (t) => {
      const s = await setup(kind, t);
      const old = '2026-01-01T00:00:00.000Z';
      await s.database.db
        .insertInto('inbox')
        .values([
          { event_id: 'old-applied', event_type: 'ReceptionCompleted', outcome: 'APPLIED', processed_at: old },
          { event_id: 'old-dead', event_type: 'ReceptionCompleted', outcome: 'DEAD_LETTERED', processed_at: old },
          { event_id: 'recent', event_type: 'ReceptionCompleted', outcome: 'APPLIED', processed_at: new Date().toISOString() },
        ])
        .execute();
      assert.equal(await purgeInbox(s.database.db, new Date(Date.now() - 30 * 24 * 3600 * 1000)), 1);
      assert.deepEqual((await s.inboxRows()).map((r) => r.event_id).sort(), ['old-dead', 'recent']);
    });

    test('types this service does not handle pass without a transaction; a long gap of them moves the position', async (t) => {
      const s = await setup(kind, t, { handles: ['ReceptionCompleted'] });
      await s.consumer.handleBatch([deliveryOf(completed(1), 1), deliveryOf(confirmed(1), 2)]);
      assert.equal(s.transactions(), 1);
      assert.deepEqual(await s.consumer.resumeFrom('medical', [1]), new Map([[1, 3n]]), 'the run takes the passes after it along');
      await s.consumer.handleBatch([deliveryOf(confirmed(1), 3), deliveryOf(confirmed(1), 4)]);
      assert.equal(s.transactions(), 1, 'a few passes write nothing');
      await s.consumer.handleBatch([deliveryOf(confirmed(1), 600)]);
      assert.equal(s.transactions(), 2, 'a gap of 500 or more is written');
      assert.deepEqual(await s.consumer.resumeFrom('medical', [1]), new Map([[1, 601n]]));
    });
  });
}
