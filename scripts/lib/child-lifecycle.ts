import type { ChildProcess } from 'node:child_process';

/**
 * What a program does with a child process that serves HTTP, whatever the child is (a service of
 * the system in processes.ts, the bench's nginx): wait until it answers, and end it with a grace
 * period. Here in scripts/ so that both share it: the bench imports the scripts' helpers, never
 * the other way.
 */

const POLL_INTERVAL_MS = 50;
/** One request of the poll: a child that accepts the connection but never answers must not stall it. */
const REQUEST_TIMEOUT_MS = 1_000;

export type ReadinessOutcome = { ready: true } | { ready: false; reason: 'exited' | 'timeout'; lastAnswer: string };

export type ReadinessWatch = {
  timeoutMs: number;
  /** Whether the child has exited already: then there is nothing left to wait for. */
  hasExited(): boolean;
  /** Resolves when the child exits, so that a crash between two polls is noticed at once. */
  exited: Promise<unknown>;
};

/**
 * Polls GET `url` until it answers 200. Gives up as soon as the child has exited, and after
 * `timeoutMs` with the last answer seen: the caller words the error, with what it knows of the child.
 */
export async function pollUntilAnswering(url: string, watch: ReadinessWatch): Promise<ReadinessOutcome> {
  const deadline = Date.now() + watch.timeoutMs;
  let lastAnswer = 'no answer yet';
  while (true) {
    if (watch.hasExited()) return { ready: false, reason: 'exited', lastAnswer };
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const body = await response.text();
      if (response.status === 200) return { ready: true };
      lastAnswer = `HTTP ${response.status} ${body.slice(0, 300)}`;
    } catch (error) {
      lastAnswer = describeFetchError(error);
    }
    if (Date.now() >= deadline) return { ready: false, reason: 'timeout', lastAnswer };
    await Promise.race([sleep(POLL_INTERVAL_MS), watch.exited]);
  }
}

/** fetch's own message says little ("fetch failed"); the cause says why (ECONNREFUSED, a timeout). */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`;
}

/**
 * Sends `signal`, the child's graceful stop, and SIGKILL if it has not exited within
 * `killAfterMs`: a stop that hangs must not hang its caller. Resolves with how the child exited.
 */
export async function endWithGrace<T>(child: ChildProcess, exited: Promise<T>, signal: NodeJS.Signals, killAfterMs: number): Promise<T> {
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
