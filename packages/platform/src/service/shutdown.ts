import type { Logger } from 'pino';

/**
 * Stops the process gracefully on SIGTERM/SIGINT: the service stops taking work, finishes
 * what it holds, and exits; if that takes longer than the bound, it exits anyway so an
 * orchestrator's kill never finds it half-stopped.
 */
export function installShutdown(stop: () => Promise<void>, timeoutMs: number, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
