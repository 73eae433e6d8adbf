import type { Logger } from 'pino';

/**
 * A piece of upkeep a process runs on a timer: deleting what is past its retention, folding
 * rows of changes. Each task runs once at start-up and then every `everyMs`, never twice at
 * once; a failure is logged and the next round tries again. Replicas run the same tasks side by
 * side, so a task must be safe to run concurrently with itself in another process.
 */
export type HousekeepingTask = {
  /** What the task does to its rows, for the log: "purged expired inbox rows". */
  what: string;
  everyMs: number;
  /** Returns how many rows it touched: logged when more than none. */
  run: () => Promise<number>;
  /** The level of the line that says how many rows (default info; a frequent task says debug). */
  logLevel?: 'info' | 'debug';
};

export type Housekeeping = { stop(): Promise<void> };

export function startHousekeeping(tasks: readonly HousekeepingTask[], logger: Logger): Housekeeping {
  const running = new Set<Promise<void>>();
  const timers = tasks.map((task) => {
    let current: Promise<void> | undefined;
    const round = () => {
      if (current) return;
      current = task
        .run()
        .then((rows) => {
          if (rows > 0) logger[task.logLevel ?? 'info']({ rows }, task.what);
        })
        .catch((error: unknown) => logger.warn({ err: error }, `housekeeping failed: ${task.what}`))
        .finally(() => {
          running.delete(current!);
          current = undefined;
        });
      running.add(current);
    };
    round();
    const timer = setInterval(round, task.everyMs);
    timer.unref();
    return timer;
  });
  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.all(running);
    },
  };
}
