import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { dueHeads, enqueueDelivery, lease, markDelivered, markFailed, pendingCounts, purgeDelivered, setAside, type Delivery } from '../src/db/deliveries.ts';
import { migrations } from '../src/db/migrations.ts';
import type { InteropDatabase } from '../src/db/schema.ts';
import { DeliveryWorker, type Channel, type DeliveryOutcome, type DeliveryWorkerOptions } from '../src/app/delivery-worker.ts';
import { databaseEngines, silentLogger, waitFor } from '../../../packages/platform/test/helpers.ts';

/**
 * The delivery queue (db/deliveries.ts) and its worker (app/delivery-worker.ts) on SQLite and
 * PostgreSQL: each destination's line in order behind its head, retries with backoff, refusals set
 * aside, leases between replicas. The destinations are a test double of a Channel that records what
 * it was sent and answers as each test scripts it: the channel is the world outside.
 */

type Db = Kysely<InteropDatabase>;

const engines = databaseEngines<InteropDatabase>('interop-deliveries', { name: 'interop', migrations });

const inMs = (ms: number, from = Date.now()) => new Date(from + ms).toISOString();

/** Queues a message in a transaction of its own (the projection queues it in the event's) and gives its id. */
async function enqueue(db: Db, destination: string, about: string, now = new Date().toISOString()): Promise<number> {
  await db.transaction().execute((trx) => enqueueDelivery(trx, { destination, body: `{"about":"${about}"}`, contentType: 'application/fhir+json', about, visit: { receptionId: 1, patientId: '00000018' } }, now));
  const row = await db.selectFrom('interop_deliveries').select('id').where('about', '=', about).executeTakeFirstOrThrow();
  return Number(row.id);
}

const rowOf = async (db: Db, id: number) => db.selectFrom('interop_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

type Call = { id: number; destination: string; about: string; attempts: number; at: number };

/** A Channel double owning every destination: records each message sent, answers what `answer` says. */
function recordingChannel(answer: (delivery: Delivery, calls: readonly Call[]) => DeliveryOutcome | Promise<DeliveryOutcome>, after?: Channel['after']) {
  const calls: Call[] = [];
  const channel: Channel = {
    name: 'subscription',
    owns: () => true,
    async send(delivery) {
      calls.push({ id: delivery.id, destination: delivery.destination, about: delivery.about, attempts: delivery.attempts, at: Date.now() });
      return answer(delivery, calls);
    },
    ...(after ? { after } : {}),
  };
  return { channel, calls, sent: (about: string) => calls.filter((c) => c.about === about).length };
}

function workerOf(db: Db, channel: Channel, options: Partial<DeliveryWorkerOptions> = {}): DeliveryWorker {
  return new DeliveryWorker({ db, channels: [channel], logger: silentLogger, registry: new Registry(), pollMs: 10, retryBaseMs: 20, retryMaxMs: 100, maxRefusals: 3, leaseMs: 5_000, ...options });
}

/** Runs `body` with the workers woken (as a commit that queued something wakes them), and stops them before the database closes. */
async function withWorkers(workers: DeliveryWorker[], body: () => Promise<void>): Promise<void> {
  try {
    for (const worker of workers) worker.wake();
    await body();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const delivered = (db: Db, ids: number[]) => async () => {
  const rows = await db.selectFrom('interop_deliveries').select('id').where('id', 'in', ids).where('delivered_at', 'is not', null).execute();
  return rows.length === ids.length;
};

for (const engine of engines) {
  describe(`the delivery queue (${engine.name})`, { skip: engine.skip }, () => {
    test("dueHeads: the head of each destination's line, once due; the rest of a line waits behind it", async (t) => {
      const db = (await engine.open(t)).db;
      const now = new Date().toISOString();
      const a1 = await enqueue(db, 'subscription:a', 'a1', now);
      const a2 = await enqueue(db, 'subscription:a', 'a2', now);
      const h1 = await enqueue(db, 'hl7', 'h1', now);
      const c1 = await enqueue(db, 'subscription:c', 'c1', now);
      const heads = async (at: string) => (await dueHeads(db, at)).map((d) => d.about);
      assert.deepEqual(await heads(now), ['a1', 'h1', 'c1']);
      assert.deepEqual(await heads(inMs(-60_000)), [], 'nothing is due before it was queued');

      // a1 failed: its line waits until it is due again, a2 with it.
      await markFailed(db, a1, 'the endpoint answered 503', inMs(60_000));
      assert.deepEqual(await heads(inMs(1_000)), ['h1', 'c1']);
      assert.deepEqual(await heads(inMs(61_000)), ['a1', 'h1', 'c1']);
      const failed = await rowOf(db, a1);
      assert.deepEqual([failed.attempts, failed.last_error, failed.delivered_at, failed.set_aside_at], [1, 'the endpoint answered 503', null, null]);

      // Delivered or set aside, a head leaves its line to the next.
      await markDelivered(db, a1, now);
      await setAside(db, c1, 'AR: unknown patient', now);
      assert.deepEqual(await heads(inMs(1_000)), ['a2', 'h1']);
      const [taken, setAsideRow] = [await rowOf(db, a1), await rowOf(db, c1)];
      assert.deepEqual([taken.attempts, taken.last_error, taken.delivered_at !== null], [2, null, true]);
      assert.deepEqual([setAsideRow.attempts, setAsideRow.last_error, setAsideRow.set_aside_at !== null, setAsideRow.delivered_at], [1, 'AR: unknown patient', true, null]);
      const head = (await dueHeads(db, inMs(1_000)))[0]!;
      assert.deepEqual({ ...head, created_at: undefined }, { id: a2, destination: 'subscription:a', body: '{"about":"a2"}', content_type: 'application/fhir+json', about: 'a2', attempts: 0, created_at: undefined, reception_id: 1, patient_id: '00000018' });
      // Reading the heads takes nothing: h1 is as it was queued.
      const untouched = await rowOf(db, h1);
      assert.deepEqual([untouched.attempts, untouched.leased_by, untouched.last_error], [0, null, null]);
    });

    test('a lease taken by one holder is not taken by another until it expires, and its line waits meanwhile', async (t) => {
      const db = (await engine.open(t)).db;
      const now = Date.now();
      const a1 = await enqueue(db, 'subscription:a', 'a1', inMs(0, now));
      await enqueue(db, 'subscription:a', 'a2', inMs(0, now));
      assert.equal(await lease(db, a1, 'replica-1', inMs(0, now), inMs(60_000, now)), true);
      assert.equal(await lease(db, a1, 'replica-2', inMs(1_000, now), inMs(61_000, now)), false);
      assert.deepEqual(await dueHeads(db, inMs(1_000, now)), [], 'the leased head is being sent, and a2 waits behind it');
      // Expired (its holder died mid-send): another takes it.
      assert.equal(await lease(db, a1, 'replica-2', inMs(60_001, now), inMs(120_000, now)), true);
      assert.equal((await rowOf(db, a1)).leased_by, 'replica-2');
      // Delivered, it is nobody's to take.
      await markDelivered(db, a1, inMs(60_002, now));
      assert.equal(await lease(db, a1, 'replica-1', inMs(200_000, now), inMs(260_000, now)), false);
      assert.deepEqual((await dueHeads(db, inMs(60_003, now))).map((d) => d.about), ['a2']);
    });

    test('pendingCounts: per channel, neither delivered nor set aside; purgeDelivered: the delivered older than the cut only', async (t) => {
      const db = (await engine.open(t)).db;
      assert.deepEqual(await pendingCounts(db), []);
      const ids = [];
      for (const [destination, about] of [['subscription:a', 'a1'], ['subscription:a', 'a2'], ['subscription:b', 'b1'], ['hl7', 'h1'], ['hl7', 'h2'], ['hl7', 'h3']] as const) ids.push(await enqueue(db, destination, about));
      const sorted = (counts: { channel: string; pending: number }[]) => [...counts].sort((x, y) => x.channel.localeCompare(y.channel));
      assert.deepEqual(sorted(await pendingCounts(db)), [{ channel: 'hl7', pending: 3 }, { channel: 'subscription', pending: 3 }]);
      const [a1, , b1, h1, h2] = ids as [number, number, number, number, number, number];
      await markDelivered(db, a1, '2026-01-01T00:00:00.000Z');
      await markDelivered(db, h1, '2026-01-01T00:00:00.000Z');
      await markDelivered(db, b1, '2026-03-01T00:00:00.000Z');
      await setAside(db, h2, 'AR', '2026-01-01T00:00:00.000Z');
      assert.deepEqual(sorted(await pendingCounts(db)), [{ channel: 'hl7', pending: 1 }, { channel: 'subscription', pending: 1 }]);

      assert.equal(await purgeDelivered(db, '2026-02-01T00:00:00.000Z'), 2);
      const left = await db.selectFrom('interop_deliveries').select('about').orderBy('id').execute();
      assert.deepEqual(left.map((r) => r.about), ['a2', 'b1', 'h2', 'h3'], 'the pending, the set aside and the recently delivered stay');
      assert.equal(await purgeDelivered(db, '2026-02-01T00:00:00.000Z'), 0);
    });

    test('the worker: a failing head keeps the next of its line waiting, while another destination goes on; sent again until taken', async (t) => {
      const db = (await engine.open(t)).db;
      const a = [await enqueue(db, 'subscription:a', 'a1'), await enqueue(db, 'subscription:a', 'a2')];
      const b = [await enqueue(db, 'hl7', 'b1'), await enqueue(db, 'hl7', 'b2'), await enqueue(db, 'hl7', 'b3')];
      // a1 is not taken until the whole of b's line has been.
      const double = recordingChannel((d, calls) => (d.about === 'a1' && calls.filter((c) => c.about.startsWith('b')).length < 3 ? { kind: 'retry', error: 'the endpoint answered 503' } : { kind: 'delivered' }));
      const worker = workerOf(db, double.channel, { retryBaseMs: 10, retryMaxMs: 20 });
      await withWorkers([worker], async () => {
        await waitFor('every message delivered', delivered(db, [...a, ...b]));
      });
      const order = double.calls.map((c) => c.about);
      assert.ok(double.sent('a1') >= 2, 'a1 was refused at first and sent again');
      assert.deepEqual([double.sent('a2'), double.sent('b1'), double.sent('b2'), double.sent('b3')], [1, 1, 1, 1]);
      assert.ok(order.indexOf('a2') > order.lastIndexOf('a1'), `a2 waited for a1: ${order.join(' ')}`);
      assert.ok(order.indexOf('b3') < order.lastIndexOf('a1'), `b's line went on meanwhile: ${order.join(' ')}`);
      assert.deepEqual(order.filter((x) => x.startsWith('b')), ['b1', 'b2', 'b3']);
      // Each send saw the attempts so far.
      assert.deepEqual(double.calls.filter((c) => c.about === 'a1').map((c) => c.attempts), [...Array(double.sent('a1')).keys()]);
      const a1 = await rowOf(db, a[0]!);
      assert.deepEqual([a1.attempts, a1.last_error, a1.leased_by], [double.sent('a1'), null, null]);
    });

    test('the worker: each retry waits its backoff, doubling to the cap; a message not taken is never set aside', async (t) => {
      const db = (await engine.open(t)).db;
      const id = await enqueue(db, 'subscription:a', 'a1');
      const waits: { attempts: number; waitMs: number }[] = [];
      const double = recordingChannel(
        (_d, calls) => (calls.length <= 4 ? { kind: 'retry', error: `down ${calls.length}` } : { kind: 'delivered' }),
        async (delivery, outcome) => {
          if (outcome.kind !== 'retry') return;
          const row = await rowOf(db, delivery.id);
          waits.push({ attempts: row.attempts, waitMs: Date.parse(row.next_attempt_at) - Date.now() });
        },
      );
      const base = 40;
      const cap = 100;
      const worker = workerOf(db, double.channel, { retryBaseMs: base, retryMaxMs: cap, maxRefusals: 2 });
      await withWorkers([worker], async () => {
        await waitFor('the message delivered', delivered(db, [id]));
      });
      assert.deepEqual(waits.map((w) => w.attempts), [1, 2, 3, 4], 'each try counted');
      waits.forEach(({ waitMs }, i) => {
        const ceiling = Math.min(cap, base * 2 ** i);
        // Between half the ceiling and the ceiling (backoffDelay), less the time the row took to read.
        assert.ok(waitMs <= ceiling && waitMs >= ceiling / 2 - 30, `retry ${i + 1} waits ${waitMs} ms, not within ${ceiling / 2}..${ceiling}`);
      });
      // And each was sent no sooner than its row said.
      for (let i = 1; i < double.calls.length; i++) assert.ok(double.calls[i]!.at - double.calls[i - 1]!.at >= Math.min(cap, base * 2 ** (i - 1)) / 2 - 5, `try ${i + 1} came too soon`);
      const row = await rowOf(db, id);
      assert.deepEqual([row.attempts, row.set_aside_at, row.delivered_at !== null], [5, null, true]);
    });

    test('the worker: a message refused maxRefusals times is set aside, and its line goes on', async (t) => {
      const db = (await engine.open(t)).db;
      const [a1, a2] = [await enqueue(db, 'hl7', 'ADT^A04 7'), await enqueue(db, 'hl7', 'ORM^O01 7')];
      const double = recordingChannel((d) => (d.about === 'ADT^A04 7' ? { kind: 'refused', error: 'AR: PID-3 is required' } : { kind: 'delivered' }));
      const worker = workerOf(db, double.channel, { maxRefusals: 3, retryBaseMs: 10, retryMaxMs: 20 });
      await withWorkers([worker], async () => {
        await waitFor('the next of the line delivered', delivered(db, [a2]));
      });
      assert.deepEqual(double.calls.map((c) => c.about), ['ADT^A04 7', 'ADT^A04 7', 'ADT^A04 7', 'ORM^O01 7']);
      const refused = await rowOf(db, a1);
      assert.deepEqual([refused.attempts, refused.last_error, refused.set_aside_at !== null, refused.delivered_at], [3, 'AR: PID-3 is required', true, null]);
      assert.deepEqual(await pendingCounts(db), []);
    });

    test("the worker leaves a head another replica holds until the lease expires; a channel's error is a retry", async (t) => {
      const db = (await engine.open(t)).db;
      const id = await enqueue(db, 'subscription:a', 'a1');
      const expires = Date.now() + 150;
      assert.ok(await lease(db, id, 'another-replica', new Date().toISOString(), new Date(expires).toISOString()));
      const double = recordingChannel((_d, calls) => {
        if (calls.length === 1) throw new Error('socket hang up');
        return { kind: 'delivered' };
      });
      const worker = workerOf(db, double.channel, { retryBaseMs: 10, retryMaxMs: 20 });
      await withWorkers([worker], async () => {
        await waitFor('the message delivered', delivered(db, [id]));
      });
      assert.equal(double.calls.length, 2);
      assert.ok(double.calls[0]!.at >= expires, 'not sent while another held it');
    });

    test('two workers on one database deliver each message once, each line in order', async (t) => {
      const db = (await engine.open(t)).db;
      const ids: number[] = [];
      const lines = ['subscription:a', 'subscription:b', 'hl7'];
      for (let i = 0; i < 8; i++) for (const line of lines) ids.push(await enqueue(db, line, `${line} #${i}`));
      // Both send through one recorder (the one outside world), each taking a moment to answer.
      const double = recordingChannel(async () => {
        await delay(2);
        return { kind: 'delivered' };
      });
      const workers = [workerOf(db, double.channel), workerOf(db, double.channel)];
      await withWorkers(workers, async () => {
        await waitFor('every message delivered', delivered(db, ids), 10_000);
        // A poll or two more, in which nothing may be sent again.
        await delay(30);
      });
      assert.deepEqual([...double.calls.map((c) => c.id)].sort((x, y) => x - y), ids, 'each message sent exactly once');
      for (const line of lines) {
        const sent = double.calls.filter((c) => c.destination === line).map((c) => c.id);
        assert.deepEqual(sent, [...sent].sort((x, y) => x - y), `${line} in order`);
      }
    });

    test('the gauge of pending messages per channel, and the counter of outcomes', async (t) => {
      const db = (await engine.open(t)).db;
      await enqueue(db, 'subscription:a', 'a1');
      await enqueue(db, 'hl7', 'h1');
      await enqueue(db, 'hl7', 'h2');
      const registry = new Registry();
      const double = recordingChannel((d) => (d.about === 'h1' ? { kind: 'retry', error: 'down' } : { kind: 'delivered' }));
      const worker = new DeliveryWorker({ db, channels: [double.channel], logger: silentLogger, registry, pollMs: 10, retryBaseMs: 60_000, retryMaxMs: 60_000, maxRefusals: 3, leaseMs: 5_000 });
      const pending = async () => Object.fromEntries((await registry.getSingleMetric('medical_interop_deliveries_pending')!.get()).values.map((v) => [v.labels.channel, v.value]));
      assert.deepEqual(await pending(), { subscription: 1, hl7: 2 });
      await withWorkers([worker], async () => {
        await waitFor('a1 sent and h1 tried', () => double.sent('a1') === 1 && double.sent('h1') === 1);
        await waitFor('the outcomes recorded', async () => (await pending()).subscription === undefined);
      });
      assert.deepEqual(await pending(), { hl7: 2 }, 'h1 waits its retry, h2 behind it');
      const outcomes = (await registry.getSingleMetric('medical_interop_deliveries_total')!.get()).values.map((v) => [v.labels.outcome, v.value]);
      assert.deepEqual(outcomes.sort(), [['delivered', 1], ['retry', 1]]);
    });
  });
}
