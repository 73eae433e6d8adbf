/**
 * The progress of an operator's long work (backup, restore, rebuild, dead-letter replay, purge).
 * On a terminal: one line redrawn in place, with the step, a bar, the counts and an estimate of
 * the time left. Elsewhere (a log file, CI, a Kubernetes Job's log): structured lines, one JSON
 * object each, which log collectors parse: a step's start, its counts at most once a second, and
 * notes. Every run ends with a summary: its lines on a terminal, one JSON object otherwise.
 *
 *   const progress = createProgress('backup');
 *   progress.step('base backup', 'kB');
 *   progress.update(1200, 30482);
 *   progress.note('verifying the backup');
 *   progress.finish({ id, sizeKb }, ['backup 20261206T154727Z: 30 MB, 3 attachments']);
 *
 * Progress goes to stderr, so stdout stays for what a program prints as its result.
 */

type Output = { write(text: string): unknown; isTTY?: boolean; columns?: number };

export type Progress = {
  /** A new step: its name and the unit its counts are in ('files', 'kB', 'events'). */
  step(name: string, unit?: string): void;
  /** How far the step is: `done` of `total` (unknown total: no bar, no estimate). */
  update(done: number, total?: number): void;
  /** A line of text between the updates. */
  note(message: string): void;
  /** The end: the summary as data and as the lines a person reads. */
  finish(summary: Record<string, unknown>, lines: readonly string[]): void;
};

export type ProgressOptions = { output?: Output; tty?: boolean; now?: () => number; everyMs?: number };

const BAR_WIDTH = 24;

export function createProgress(task: string, options: ProgressOptions = {}): Progress {
  const output = options.output ?? process.stderr;
  const tty = options.tty ?? Boolean(output.isTTY);
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 1000;
  let step = '';
  let unit = '';
  let stepStarted = now();
  let lastLine = 0;
  let drawn = false;

  const json = (fields: Record<string, unknown>) => output.write(`${JSON.stringify({ task, at: new Date(now()).toISOString(), ...fields })}\n`);
  const clear = () => {
    if (drawn) output.write('\r\x1b[2K');
    drawn = false;
  };

  return {
    step(name, stepUnit = '') {
      step = name;
      unit = stepUnit;
      stepStarted = now();
      lastLine = 0;
      if (tty) {
        clear();
        output.write(`${task}: ${name}\n`);
      } else json({ step: name });
    },
    update(done, total) {
      const at = now();
      const finished = total !== undefined && done >= total;
      if (!finished && at - lastLine < everyMs) return;
      lastLine = at;
      const eta = etaSeconds(done, total, at - stepStarted);
      if (tty) {
        clear();
        output.write(`  ${bar(done, total)} ${done}${total === undefined ? '' : `/${total}`} ${unit}${eta === undefined ? '' : `  ~${formatSeconds(eta)} left`}`.trimEnd());
        drawn = true;
        if (finished) {
          output.write('\n');
          drawn = false;
        }
      } else {
        json({ step, done, ...(total === undefined ? {} : { total, percent: percent(done, total) }), ...(unit ? { unit } : {}), ...(eta === undefined ? {} : { etaSeconds: eta }) });
      }
    },
    note(message) {
      if (tty) {
        clear();
        output.write(`  ${message}\n`);
      } else json({ step, note: message });
    },
    finish(summary, lines) {
      if (tty) {
        clear();
        for (const line of lines) output.write(`${line}\n`);
      } else json({ summary });
    },
  };
}

function percent(done: number, total: number): number {
  return total <= 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

function bar(done: number, total: number | undefined): string {
  if (total === undefined) return '';
  const filled = Math.round((percent(done, total) / 100) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(percent(done, total)).padStart(3)}%`;
}

/** The time left at the step's average rate so far; none before anything is done or without a total. */
export function etaSeconds(done: number, total: number | undefined, elapsedMs: number): number | undefined {
  if (total === undefined || done <= 0 || done >= total || elapsedMs <= 0) return undefined;
  return Math.ceil(((total - done) * elapsedMs) / done / 1000);
}

function formatSeconds(seconds: number): string {
  return seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
