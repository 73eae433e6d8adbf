import assert from 'node:assert/strict';
import type { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import type { QueueView } from '@medical/contracts';
import { announceQueueChanges, parseQueueChange } from '../src/app/queue-changes.ts';
import { announceVisitChange, parseVisitChange } from '../src/app/visit-changes.ts';
import type { Visit } from '../src/domain/visit.ts';
import { QueueStreams } from '../src/live/queue-streams.ts';
import { VisitChangeStreams } from '../src/live/visit-change-streams.ts';
import { engines } from './engines.ts';

/**
 * The live stream's fan-out (VisitChangeStreams) over the real database notifications of both
 * engines: a change reaches every stream once its transaction commits, never when it rolls back;
 * and the limits that keep one replica safe from its clients.
 */
const visit = (receptionId: number, stage: Visit['stage'] = 'RECEIVED'): Visit => ({
  receptionId,
  patientId: `P-${receptionId}`,
  patientName: 'Kim Minji',
  receptionStatus: 'RECEIVED',
  examinations: [],
  stage,
  createdAt: '2026-11-26T09:00:00.000Z',
  updatedAt: '2026-11-26T09:00:00.000Z',
});

/** Everything written to `stream` so far, as text (read as it arrives, like a client). */
function collect(stream: PassThrough): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  return () => text;
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const engine of engines('live-stream')) {
  describe(`visit change streams on ${engine.name}`, { skip: engine.skip }, () => {
    test('a committed change reaches every open stream, a rolled-back one none, in commit order', async (t) => {
      const database = await engine.open(t);
      const streams = new VisitChangeStreams();
      await streams.start(database);
      t.after(() => streams.close());
      const first = collect(streams.open()!);
      const second = collect(streams.open()!);
      await until(() => first().length > 0, 'the first event');
      assert.match(first(), /^retry: 2000\nevent: ready\ndata: \{\}\n\n/, 'a stream opens with `ready`');

      await assert.rejects(
        database.transaction(async (trx) => {
          await announceVisitChange(database, trx, visit(1));
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      await database.transaction((trx) => announceVisitChange(database, trx, visit(2, 'WAITING_FOR_DOCTOR')));
      await database.transaction((trx) => announceVisitChange(database, trx, visit(3)));

      for (const text of [first, second]) {
        await until(() => text().includes('"receptionId":3'), 'the third change');
        const changes = text()
          .split('\n\n')
          .filter((block) => block.startsWith('event: visit'))
          .map((block) => parseVisitChange(block.split('\ndata: ')[1]!));
        assert.deepEqual(changes, [
          { receptionId: 2, stage: 'WAITING_FOR_DOCTOR', updatedAt: '2026-11-26T09:00:00.000Z' },
          { receptionId: 3, stage: 'RECEIVED', updatedAt: '2026-11-26T09:00:00.000Z' },
        ]);
        assert.ok(!text().includes('Kim Minji'), 'no patient data');
      }
    });

    test('close ends every stream; a client that stops reading is dropped; beyond the maximum none opens', async (t) => {
      const database = await engine.open(t);
      const streams = new VisitChangeStreams({ maxStreams: 2, maxBufferedBytes: 2_000 });
      await streams.start(database);
      t.after(() => streams.close());
      const reading = streams.open()!;
      const text = collect(reading);
      const stuck = streams.open()!; // never read
      assert.equal(streams.open(), undefined, 'a third stream is refused');
      assert.equal(streams.size, 2);

      for (let n = 1; n <= 40; n++) {
        await database.transaction((trx) => announceVisitChange(database, trx, visit(n)));
        // As events are consumed, with I/O in between: node:sqlite's transactions alone are
        // microtasks only, which would keep even the reading stream from being read.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await until(() => text().includes('"receptionId":40'), 'every change on the stream that reads');
      await until(() => stuck.destroyed, 'the stream nobody reads is dropped');
      assert.equal(streams.size, 1);
      assert.ok(streams.open(), 'its place is free again');

      const ended = new Promise<void>((resolve) => reading.once('end', resolve));
      await streams.close();
      await ended;
      assert.equal(streams.size, 0);
    });

    test('an idle stream gets a keepalive comment', async (t) => {
      const database = await engine.open(t);
      const streams = new VisitChangeStreams({ keepAliveMs: 1_000 });
      await streams.start(database);
      t.after(() => streams.close());
      const text = collect(streams.open()!);
      await until(() => text().includes(': keepalive\n\n'), 'a keepalive', 5_000);
    });
  });
}

for (const engine of engines('queue-stream')) {
  describe(`queue streams on ${engine.name}`, { skip: engine.skip }, () => {
    /** A queue read that says which read of its department it is. */
    function counting(): { read: (department: string) => Promise<QueueView>; reads: Map<string, number> } {
      const reads = new Map<string, number>();
      const read = async (department: string): Promise<QueueView> => {
        const n = (reads.get(department) ?? 0) + 1;
        reads.set(department, n);
        return { department, day: '2026-11-26', calling: [], waiting: [], waitingCount: n, medianWaitMinutes: null };
      };
      return { read, reads };
    }
    const counts = (text: string) =>
      text
        .split('\n\n')
        .filter((block) => block.includes('event: queue'))
        .map((block) => (JSON.parse(block.split('\ndata: ')[1]!) as QueueView).waitingCount);

    test("each stream gets its department's queue at once and after each committed change, never another department's; a burst is one read", async (t) => {
      const database = await engine.open(t);
      const { read, reads } = counting();
      const streams = new QueueStreams(read, pino({ level: 'silent' }), { refreshDelayMs: 100 });
      await streams.start(database);
      t.after(() => streams.close());
      const surgery = collect(streams.open('surgery')!);
      const radiology = collect(streams.open('radiology')!);
      await until(() => counts(surgery()).length === 1 && counts(radiology()).length === 1, 'the queue on opening');
      assert.match(surgery(), /^retry: 2000\n/);

      await assert.rejects(
        database.transaction(async (trx) => {
          await announceQueueChanges(database, trx, ['surgery']);
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      // Three changes in a moment, of surgery and of a department nobody watches.
      for (const departments of [['surgery'], ['surgery', 'surgery'], ['cardiology', 'surgery']]) {
        await database.transaction((trx) => announceQueueChanges(database, trx, departments));
      }
      await until(() => counts(surgery()).length === 2, 'the queue after the changes');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(counts(surgery()), [1, 2], 'one read for the burst');
      assert.deepEqual(counts(radiology()), [1], 'nothing of surgery on radiology');
      assert.equal(reads.get('cardiology'), undefined, 'a department without a screen is never read');
      assert.equal(streams.size, 2);
    });

    test('a read that fails is tried again; close ends every stream', async (t) => {
      const database = await engine.open(t);
      let failing = true;
      const streams = new QueueStreams(
        async (department) => {
          if (failing) throw new Error('database away');
          return { department, day: '2026-11-26', calling: [], waiting: [], waitingCount: 0, medianWaitMinutes: null };
        },
        pino({ level: 'silent' }),
      );
      await streams.start(database);
      t.after(() => streams.close());
      const stream = streams.open('surgery')!;
      const text = collect(stream);
      await new Promise((resolve) => setTimeout(resolve, 200));
      failing = false;
      await until(() => text().includes('event: queue'), 'the queue once the database answers', 5_000);
      const ended = new Promise<void>((resolve) => stream.once('end', resolve));
      await streams.close();
      await ended;
      assert.equal(streams.size, 0);
    });
  });
}

test('a notification that is not a queue change is ignored, not thrown', () => {
  assert.equal(parseQueueChange('not json'), undefined);
  assert.equal(parseQueueChange('{"department":"Not A Code"}'), undefined);
  assert.deepEqual(parseQueueChange('{"department":"radiology","extra":1}'), { department: 'radiology' });
});

test('a notification that is not a visit change is ignored, not thrown', () => {
  assert.equal(parseVisitChange('not json'), undefined);
  assert.equal(parseVisitChange('{"receptionId":"1","stage":"RECEIVED","updatedAt":"x"}'), undefined);
  assert.deepEqual(parseVisitChange('{"receptionId":1,"stage":"RECEIVED","updatedAt":"x","extra":1}'), { receptionId: 1, stage: 'RECEIVED', updatedAt: 'x' });
});
