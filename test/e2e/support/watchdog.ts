import { spawn } from 'node:child_process';

/**
 * A clean-up that runs even when this test process dies without running its own (SIGKILL, an
 * out-of-memory kill, the runner's timeout): a detached shell that checks once a second whether
 * this process is still alive and, once it is not, runs `script`. The dedicated broker and
 * PostgreSQL cluster the outage tests start would otherwise outlive the test as orphans (the
 * JVM holds ~400 MB, and pg_ctl detaches the postmaster by design).
 *
 * `disarm()` ends the watchdog (by its process group id) once the test has cleaned up itself.
 */
export type Watchdog = { disarm(): void };

export function watchOwner(script: string): Watchdog {
  const owner = process.pid;
  const child = spawn('sh', ['-c', `while kill -0 ${owner} 2>/dev/null; do sleep 1; done; ${script}`], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  let armed = true;
  return {
    disarm() {
      if (!armed || child.pid === undefined) return;
      armed = false;
      try {
        // Detached: the shell leads its own process group, which holds its `sleep` too.
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
}

/** Quotes a value for a POSIX shell command line. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
