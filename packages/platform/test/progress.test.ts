import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProgress, etaSeconds } from '../src/lib/progress.ts';

/** The operator tools' progress (platform lib/progress.ts): a bar on a terminal, JSON lines elsewhere. */

function capture(tty: boolean) {
  const written: string[] = [];
  let clock = Date.parse('2026-12-06T09:00:00Z');
  const progress = createProgress('backup', { output: { write: (text: string) => written.push(text) }, tty, now: () => clock });
  return { progress, written, advance: (ms: number) => (clock += ms) };
}

test('not on a terminal: one JSON object a line, counts at most once a second, the summary last', () => {
  const { progress, written, advance } = capture(false);
  progress.step('base backup', 'kB');
  progress.update(100, 1000);
  advance(200);
  progress.update(200, 1000); // within the second: not written
  advance(900);
  progress.update(550, 1000);
  progress.note('verifying');
  progress.update(1000, 1000); // the end of a step is always written
  progress.finish({ id: 'x' }, ['backup x']);
  const lines = written.join('').trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines.map((l) => l.step ?? 'summary'), ['base backup', 'base backup', 'base backup', 'base backup', 'base backup', 'summary']);
  assert.deepEqual(lines.filter((l) => 'done' in l).map((l) => l.done), [100, 550, 1000]);
  const middle = lines.find((l) => l.done === 550);
  assert.deepEqual({ total: middle.total, percent: middle.percent, unit: middle.unit, etaSeconds: middle.etaSeconds }, { total: 1000, percent: 55, unit: 'kB', etaSeconds: 1 });
  assert.equal(lines[3].note, 'verifying');
  assert.deepEqual(lines.at(-1).summary, { id: 'x' });
  assert.ok(lines.every((l) => l.task === 'backup' && !Number.isNaN(Date.parse(l.at))));
});

test('on a terminal: a bar redrawn in place with the estimate, notes between, the summary as lines', () => {
  const { progress, written, advance } = capture(true);
  progress.step('attachments', 'files');
  progress.update(1, 4);
  advance(3000);
  progress.update(2, 4);
  progress.note('a file was skipped');
  progress.update(4, 4);
  progress.finish({}, ['4 files', 'done']);
  const screen = written.join('');
  assert.match(screen, /backup: attachments\n/);
  assert.match(screen, /\[#{12}-{12}\]  50% 2\/4 files {2}~3 s left/);
  assert.match(screen, /\r\x1b\[2K {2}a file was skipped\n/);
  assert.match(screen, /\[#{24}\] 100% 4\/4 files\n/);
  assert.ok(screen.endsWith('4 files\ndone\n'));
});

test('the estimate: the step\'s own rate, none before anything is done or without a total', () => {
  assert.equal(etaSeconds(25, 100, 10_000), 30);
  assert.equal(etaSeconds(0, 100, 10_000), undefined);
  assert.equal(etaSeconds(10, undefined, 10_000), undefined);
  assert.equal(etaSeconds(100, 100, 10_000), undefined);
});
