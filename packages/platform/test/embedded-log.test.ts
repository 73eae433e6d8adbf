import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { EmbeddedLog } from '../src/transport/embedded-log.ts';
import type { Delivery, Subscription, TransportMessage } from '../src/transport/transport.ts';
import { defer, silentLogger, startWorker, tempDir, waitFor, type Worker } from './helpers.ts';
import { appendRawToLog, bytes } from './raw-messages.ts';

const topic = 'medical';

function message(id: string, options: { key?: string; value?: unknown; topic?: string } = {}): TransportMessage {
  return {
    topic: options.topic ?? topic,
    key: options.key ?? 'visit-1',
    headers: { ce_id: id, ce_type: 'Test' },
    value: JSON.stringify(options.value ?? { id }),
  };
}

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m-${from + i}`);

function openLog(t: TestContext, file: string): EmbeddedLog {
  const log = new EmbeddedLog({ file, pollIntervalMs: 5, retryBaseDelayMs: 1, logger: silentLogger });
  defer(t, () => log.close());
  return log;
}

/** A handler that records deliveries and can hold one of them until the test lets it go. */
function recorder() {
  const seen: Delivery[] = [];
  let holdAt = Infinity;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    seen,
    seenIds: () => seen.map((d) => d.headers.ce_id),
    /** The handler of message number `n` (1-based) waits until `release()`. */
    holdAt(n: number) {
      holdAt = n;
    },
    release: () => release(),
    handle: async (delivery: Delivery) => {
      seen.push(delivery);
      if (seen.length === holdAt) await held;
    },
  };
}

/** Consumes exactly `n` messages with a fresh subscription, then stops it (committing the n-th). */
async function consumeExactly(log: EmbeddedLog, group: string, n: number): Promise<Delivery[]> {
  const r = recorder();
  r.holdAt(n);
  const subscription = await log.subscribe({ group, topic, handle: r.handle });
  await waitFor(`${n} deliveries to ${group}`, () => r.seen.length === n);
  const stopped = subscription.stop();
  r.release();
  await stopped;
  return r.seen;
}

describe('EmbeddedLog', () => {
  test('four processes publishing concurrently append exactly 1000 messages in one total order', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    const producers = [0, 1, 2, 3].map((i) => startWorker('log-producer.ts', [file, topic, `p${i}`, '250']));
    defer(t, () => {
      for (const p of producers) p.child.kill('SIGKILL');
    });
    await waitFor('every producer to open the log', () => producers.every((p) => p.lines.includes('ready')), 20_000);
    for (const p of producers) p.send('go');
    const codes = await Promise.all(producers.map((p) => p.exited));
    assert.deepEqual(codes, [0, 0, 0, 0], producers.map((p) => p.stderr()).join('\n'));

    const log = openLog(t, file);
    const rows = log.read(topic, 0, 5000);
    assert.equal(rows.length, 1000);
    for (let i = 1; i < rows.length; i++) {
      assert.ok(rows[i]!.offset > rows[i - 1]!.offset, `offset ${rows[i]!.offset} follows ${rows[i - 1]!.offset}`);
    }
    const byProducer = new Map<string, number[]>();
    for (const row of rows) {
      const { producer, seq } = JSON.parse(row.value) as { producer: string; seq: number };
      assert.equal(JSON.parse(row.headers).ce_id, `${producer}-${seq}`);
      assert.equal(row.message_key, `visit-${producer}`);
      byProducer.set(producer, [...(byProducer.get(producer) ?? []), seq]);
    }
    const expected = Array.from({ length: 250 }, (_, i) => i);
    for (const producer of ['p0', 'p1', 'p2', 'p3']) {
      assert.deepEqual(byProducer.get(producer), expected, `${producer}'s messages in its publish order`);
    }
    assert.equal(log.endOffset(topic), rows.at(-1)!.offset);
  });

  test('re-publishing a message id is ignored, within a batch and across batches', async (t) => {
    const log = openLog(t, path.join(tempDir(t), 'events.sqlite'));
    await log.publish([message('m-1', { value: { first: true } }), message('m-2')]);
    await log.publish([message('m-1', { value: { first: false } })]);
    await log.publish([message('m-3'), message('m-3', { value: { again: true } }), message('m-2')]);
    // The id is unique per topic: the same id on another topic is another message.
    await log.publish([message('m-1', { topic: 'medical.dlq' })]);

    const rows = log.read(topic, 0, 100);
    assert.deepEqual(
      rows.map((r) => JSON.parse(r.headers).ce_id),
      ['m-1', 'm-2', 'm-3'],
    );
    assert.deepEqual(JSON.parse(rows[0]!.value), { first: true });
    assert.deepEqual(JSON.parse(rows[2]!.value), { id: 'm-3' });
    assert.equal(log.read('medical.dlq', 0, 100).length, 1);
  });

  test('a restarted subscription continues after the committed offset and sees no message twice', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    // Closed by the test itself, half-way: a service process that stops and starts again.
    const first = new EmbeddedLog({ file, pollIntervalMs: 5, logger: silentLogger });
    await first.publish(ids(1, 30).map((id) => message(id)));

    const before = await consumeExactly(first, 'g', 12);
    assert.deepEqual(
      before.map((d) => d.headers.ce_id),
      ids(1, 12),
    );
    assert.equal(first.committedOffset('g', topic), Number(before.at(-1)!.offset));
    await first.close();

    const second = openLog(t, file);
    const r = recorder();
    const subscription = await second.subscribe({ group: 'g', topic, handle: r.handle });
    defer(t, () => subscription.stop());
    await waitFor('the remaining 18 messages', () => r.seen.length >= 18);
    assert.deepEqual(r.seenIds(), ids(13, 30));
    const offsets = [...before, ...r.seen].map((d) => Number(d.offset));
    assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b));
    assert.equal(new Set(offsets).size, 30);
    await waitFor('the last offset to be committed', () => second.committedOffset('g', topic) === offsets.at(-1));
  });

  test('a handler that throws gets the same message again, and later messages wait behind it', async (t) => {
    const log = openLog(t, path.join(tempDir(t), 'events.sqlite'));
    await log.publish(ids(1, 5).map((id) => message(id)));
    let failing = true;
    const attempts: Delivery[] = [];
    const subscription = await log.subscribe({
      group: 'g',
      topic,
      handle: async (delivery) => {
        attempts.push(delivery);
        if (delivery.headers.ce_id === 'm-3' && failing) throw new Error('store unavailable');
      },
    });
    defer(t, () => subscription.stop());

    await waitFor('m-3 to be attempted three times', () => attempts.filter((d) => d.headers.ce_id === 'm-3').length >= 3);
    const third = attempts.filter((d) => d.headers.ce_id === 'm-3');
    assert.equal(new Set(third.map((d) => d.offset)).size, 1, 'the same message (same offset) is redelivered');
    assert.ok(!attempts.some((d) => ['m-4', 'm-5'].includes(d.headers.ce_id!)), 'm-4 and m-5 wait behind m-3');
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 3 }]);

    failing = false;
    await waitFor('m-5 to be handled', () => attempts.some((d) => d.headers.ce_id === 'm-5'));
    const order = attempts.map((d) => d.headers.ce_id);
    assert.deepEqual(order.slice(0, 2), ['m-1', 'm-2']);
    assert.deepEqual(order.slice(-3), ['m-3', 'm-4', 'm-5']);
    assert.ok(order.slice(2, -3).every((id) => id === 'm-3'));
    await waitFor('the group to catch up', async () => (await log.lag('g', topic))[0]!.lag === 0);
  });

  test('two processes in one group: one consumes at a time; a SIGKILLed holder is replaced promptly', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    const log = openLog(t, file);
    const group = 'pm';
    const members = [0, 1].map(() => startWorker('log-consumer.ts', [file, topic, group, '15']));
    defer(t, () => {
      for (const m of members) m.child.kill('SIGKILL');
    });
    await waitFor('both members to subscribe', () => members.every((m) => m.lines.includes('subscribed')), 20_000);
    type Handled = { pid: number; offset: number; id: string };
    const handledBy = (m: Worker): Handled[] => m.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Handled);
    const handled = () => members.flatMap(handledBy);

    await log.publish(ids(1, 40).map((id) => message(id)));
    await waitFor('40 messages handled', () => handled().length >= 40, 10_000);
    const holder = members.find((m) => handledBy(m).length > 0)!;
    const other = members.find((m) => m !== holder)!;
    assert.equal(handledBy(holder).length, 40, 'the lease holder handled every message');
    assert.equal(handledBy(other).length, 0, 'the other member consumed nothing meanwhile');
    assert.deepEqual(
      handledBy(holder).map((h) => h.id),
      ids(1, 40),
    );
    assert.equal(await log.groupIsActive(group, topic), true);

    await log.publish(ids(41, 100).map((id) => message(id)));
    await waitFor('the holder to be half-way through the second batch', () => handledBy(holder).length >= 55, 10_000);
    holder.child.kill('SIGKILL');
    await holder.exited;
    const killedAt = Date.now();
    const lastOfHolder = handledBy(holder).at(-1)!.offset;

    await waitFor('the other member to finish the rest', () => new Set(handled().map((h) => h.id)).size === 100, 8_000);
    const takeover = Date.now() - killedAt;
    // The lease lasts 10 s and was renewed at most 3.3 s before the kill: waiting for it to expire takes 6.7 s or more.
    assert.ok(takeover < 5_000, `took over after ${takeover} ms`);

    const rest = handledBy(other);
    assert.ok(rest.length > 0);
    assert.ok(
      rest[0]!.offset === lastOfHolder || rest[0]!.offset === lastOfHolder + 1,
      `the new holder starts after the committed offset (holder's last ${lastOfHolder}, new first ${rest[0]!.offset})`,
    );
    for (let i = 1; i < rest.length; i++) assert.equal(rest[i]!.offset, rest[i - 1]!.offset + 1);
    const counts = new Map<string, number>();
    for (const h of handled()) counts.set(h.id, (counts.get(h.id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    // Only the message in hand at the kill (handled, not yet committed) may be seen again.
    assert.ok(twice.length <= 1 && twice.every(([, n]) => n === 2), `redelivered: ${JSON.stringify(twice)}`);
    assert.deepEqual([...counts.keys()].sort(), ids(1, 100).sort());

    assert.equal(await log.groupIsActive(group, topic), true);
    other.send('stop');
    assert.equal(await other.exited, 0, other.stderr());
    assert.equal(await log.groupIsActive(group, topic), false, 'a member that stops releases the lease');
    assert.deepEqual(await log.lag(group, topic), [{ partition: 0, lag: 0 }]);
  });

  test('two in-process subscriptions of one group never both consume', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    const a = openLog(t, file);
    const b = openLog(t, file);
    await a.publish(ids(1, 50).map((id) => message(id)));
    const seenA = recorder();
    const seenB = recorder();
    const subscriptions: Subscription[] = [
      await a.subscribe({ group: 'g', topic, handle: seenA.handle }),
      await b.subscribe({ group: 'g', topic, handle: seenB.handle }),
    ];
    defer(t, () => Promise.all(subscriptions.map((s) => s.stop())).then(() => undefined));
    await waitFor('50 deliveries', () => seenA.seen.length + seenB.seen.length >= 50);
    await b.publish(ids(51, 60).map((id) => message(id)));
    await waitFor('60 deliveries', () => seenA.seen.length + seenB.seen.length >= 60);
    assert.deepEqual([...seenA.seenIds(), ...seenB.seenIds()].sort(), ids(1, 60).sort());
    assert.ok(seenA.seen.length === 0 || seenB.seen.length === 0, 'one member holds the lease');
  });

  test('a member whose handler outlives its lease stops at once; the new holder finishes without moving the offset back', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    const leaseMs = 300;
    const open = () => {
      const log = new EmbeddedLog({ file, pollIntervalMs: 5, retryBaseDelayMs: 1, logger: silentLogger, leaseMs });
      defer(t, () => log.close());
      return log;
    };
    const a = open();
    const b = open();
    await a.publish(ids(1, 40).map((id) => message(id)));
    const slow = recorder();
    slow.holdAt(10); // the 10th message takes longer than the lease: a paused member
    const fast = recorder();
    const first = await a.subscribe({ group: 'g', topic, handle: slow.handle });
    await waitFor('the first member to hold message 10', () => slow.seen.length === 10);
    const second = await b.subscribe({ group: 'g', topic, handle: fast.handle });
    defer(t, () => Promise.all([first.stop(), second.stop()]).then(() => undefined));
    await waitFor('the second member to finish the group', () => fast.seenIds().includes('m-40'));
    slow.release();
    // The first member may not commit message 10 nor deliver anything after it.
    await new Promise((resolve) => setTimeout(resolve, 3 * leaseMs));
    assert.deepEqual(slow.seenIds(), ids(1, 10));
    // Offsets are committed per batch (or every 100 ms), so the new holder starts at the first
    // message whose commit the paused member had not made: at the latest the one in its hand.
    const firstRedelivered = Number(fast.seenIds()[0]!.slice('m-'.length));
    assert.ok(firstRedelivered >= 1 && firstRedelivered <= 10, `redelivery starts at m-${firstRedelivered}`);
    assert.deepEqual(fast.seenIds(), ids(firstRedelivered, 40), 'from there on, every message once and in order');
    assert.deepEqual(await b.lag('g', topic), [{ partition: 0, lag: 0 }]);
  });

  test('a batch handler gets consecutive messages of at most maxBatch; a store of its own says where it resumes, ahead of or behind the log', async (t) => {
    const file = path.join(tempDir(t), 'log.sqlite');
    const log = openLog(t, file);
    await log.publish(ids(1, 7).map((id) => message(id)));
    const batches: string[][] = [];
    const first = await log.subscribe({
      group: 'batches',
      topic,
      maxBatch: 3,
      handleBatch: async (deliveries) => void batches.push(deliveries.map((d) => d.headers.ce_id!)),
    });
    await waitFor('seven messages', () => batches.flat().length === 7);
    await first.stop();
    assert.deepEqual(batches, [ids(1, 3), ids(4, 6), ['m-7']]);

    // The subscriber's own store is ahead of the log's offset (its commit was lost in a crash):
    // it resumes where the store says.
    await log.rewind('batches', topic);
    const ahead: string[] = [];
    const second = await log.subscribe({
      group: 'batches',
      topic,
      maxBatch: 10,
      resumeFrom: async (partitions) => new Map(partitions.map((p) => [p, 6n])),
      handleBatch: async (deliveries) => void ahead.push(...deliveries.map((d) => d.headers.ce_id!)),
    });
    await waitFor('the messages after the stored position', () => ahead.length === 2);
    await second.stop();
    assert.deepEqual(ahead, ['m-6', 'm-7']);
    assert.deepEqual(await log.lag('batches', topic), [{ partition: 0, lag: 0 }]);

    // Behind it (the store restored from a backup): the messages since are delivered again.
    const behind: string[] = [];
    const third = await log.subscribe({
      group: 'batches',
      topic,
      maxBatch: 10,
      resumeFrom: async () => new Map([[0, 4n]]),
      handleBatch: async (deliveries) => void behind.push(...deliveries.map((d) => d.headers.ce_id!)),
    });
    await waitFor('the messages after the restored position', () => behind.length === 4);
    await third.stop();
    assert.deepEqual(behind, ids(4, 7));
  });

  test('a second group independently sees every message', async (t) => {
    const log = openLog(t, path.join(tempDir(t), 'events.sqlite'));
    await log.publish(ids(1, 20).map((id) => message(id)));
    const first = await consumeExactly(log, 'reception', 20);
    assert.deepEqual(
      first.map((d) => d.headers.ce_id),
      ids(1, 20),
    );
    const second = await consumeExactly(log, 'diagnosis', 20);
    assert.deepEqual(
      second.map((d) => d.headers.ce_id),
      ids(1, 20),
    );
    assert.deepEqual(
      second.map((d) => d.offset),
      first.map((d) => d.offset),
    );
    assert.equal(log.committedOffset('reception', topic), log.committedOffset('diagnosis', topic));
    assert.deepEqual(await log.lag('reception', topic), [{ partition: 0, lag: 0 }]);
  });

  test('lag counts the messages after the committed offset; rewind replays everything; groupIsActive follows a live holder', async (t) => {
    const log = openLog(t, path.join(tempDir(t), 'events.sqlite'));
    await log.publish(ids(1, 10).map((id) => message(id)));
    await log.publish([message('other-topic', { topic: 'medical.dlq' })]);
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 10 }]);
    assert.equal(await log.groupIsActive('g', topic), false);

    const r = recorder();
    r.holdAt(4);
    const subscription = await log.subscribe({ group: 'g', topic, handle: r.handle });
    await waitFor('4 deliveries', () => r.seen.length === 4);
    assert.equal(await log.groupIsActive('g', topic), true);
    assert.equal(await log.groupIsActive('someone-else', topic), false);
    const stopped = subscription.stop();
    r.release();
    await stopped;
    assert.equal(await log.groupIsActive('g', topic), false);
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 6 }]);
    await log.publish(ids(11, 12).map((id) => message(id)));
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 8 }]);

    await log.rewind('g', topic);
    assert.equal(log.committedOffset('g', topic), 0);
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 12 }]);
    const replay = await consumeExactly(log, 'g', 12);
    assert.deepEqual(
      replay.map((d) => d.headers.ce_id),
      ids(1, 12),
    );
    assert.deepEqual(await log.lag('g', topic), [{ partition: 0, lag: 0 }]);
  });

  test('bytes that are not UTF-8, a NUL, a BLOB and headers that are not a JSON object of strings reach the handler, decoded and flagged, in order', async (t) => {
    const file = path.join(tempDir(t), 'events.sqlite');
    const log = openLog(t, file);
    // Through publish: text with NUL everywhere, which SQLite stores and gives back as it is.
    await log.publish([{ topic, key: 'visit\u00001', headers: { ce_id: 'm-1', 'x-note': 'a\u0000b' }, value: '{"a":"\u0000"}' }]);
    appendRawToLog(file, [
      { topic, key: bytes('visit-', [0xff]), headers: '{"ce_id":"m-2"}', value: bytes('{"name":"Kim', [0xc3, 0x28], '"}') },
      { topic, key: 'visit-3', headers: bytes('{"ce_id":"m-3","x-raw":"', [0xfe], '"}'), value: '{}' },
      { topic, key: 'visit-4', headers: 'not json', value: '{}' },
      { topic, key: 'visit-5', headers: '{"ce_id":"m-5","ce_time":5}', value: '{}' },
      { topic, key: 'visit-6', headers: '{"ce_id":"m-6"}', value: '{"stored":"as a blob"}', storage: 'blob' },
    ]);
    await log.publish([message('m-7')]);

    const seen: Delivery[] = [];
    const subscription = await log.subscribe({ group: 'g', topic, handle: async (d) => void seen.push(d) });
    defer(t, () => subscription.stop());
    await waitFor('all seven messages', () => seen.length >= 7);
    const view = (d: Delivery) => ({
      key: d.key,
      headers: d.headers,
      value: d.value,
      undecodable: d.undecodable?.map((p) => ({ part: p.part, ...(p.name === undefined ? {} : { name: p.name }), problem: p.problem, bytes: Buffer.from(p.bytes).toString('hex') })),
    });
    assert.deepEqual(seen.map(view), [
      { key: 'visit\u00001', headers: { ce_id: 'm-1', 'x-note': 'a\u0000b' }, value: '{"a":"\u0000"}', undecodable: undefined },
      {
        key: 'visit-\ufffd',
        headers: { ce_id: 'm-2' },
        value: '{"name":"Kim\ufffd("}',
        undecodable: [
          { part: 'key', problem: 'is not UTF-8', bytes: bytes('visit-', [0xff]).toString('hex') },
          { part: 'value', problem: 'is not UTF-8', bytes: bytes('{"name":"Kim', [0xc3, 0x28], '"}').toString('hex') },
        ],
      },
      {
        key: 'visit-3',
        headers: { ce_id: 'm-3', 'x-raw': '\ufffd' },
        value: '{}',
        undecodable: [{ part: 'headers', problem: 'are not UTF-8', bytes: bytes('{"ce_id":"m-3","x-raw":"', [0xfe], '"}').toString('hex') }],
      },
      {
        key: 'visit-4',
        headers: {},
        value: '{}',
        undecodable: [{ part: 'headers', problem: 'are not a JSON object of strings', bytes: Buffer.from('not json').toString('hex') }],
      },
      {
        key: 'visit-5',
        headers: { ce_id: 'm-5' },
        value: '{}',
        undecodable: [{ part: 'headers', problem: 'are not a JSON object of strings', bytes: Buffer.from('{"ce_id":"m-5","ce_time":5}').toString('hex') }],
      },
      { key: 'visit-6', headers: { ce_id: 'm-6' }, value: '{"stored":"as a blob"}', undecodable: undefined },
      { key: 'visit-1', headers: { ce_id: 'm-7', ce_type: 'Test' }, value: '{"id":"m-7"}', undecodable: undefined },
    ]);
    await waitFor('the group to commit past all of them', async () => (await log.lag('g', topic))[0]!.lag === 0);
  });
});
