import type { FastifyBaseLogger } from 'fastify';
import pino, { type Logger } from 'pino';
import { closeServer, createMetrics, createTracing, installShutdown, loggerOptions, watchCatalog } from '@medical/platform/edge';
import { buildGateway } from './app.ts';
import { loadGatewayConfig, type GatewayConfig } from './config.ts';

export type RunningGateway = {
  url: string;
  config: GatewayConfig;
  logger: FastifyBaseLogger;
  stop(): Promise<void>;
};

/** Starts the gateway in this process: the process entry (main.ts), and tests with their own env on port 0. */
export async function startGateway(env: Record<string, string | undefined> = process.env): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const tracing = createTracing('gateway', config.tracing, pino(loggerOptions('gateway', config.logLevel)));
  const metrics = createMetrics('gateway');
  const app = await buildGateway(config, metrics, tracing);
  // The console's departments and examinations follow the catalog file, as the services' do.
  const stopWatchingCatalog = watchCatalog(config.console.catalog, { intervalMs: config.console.catalogReloadIntervalMs, logger: app.log as Logger, registry: metrics.registry });
  const url = await app.listen({ host: config.host, port: config.port });
  app.log.info({ url, upstreams: config.upstreams }, `gateway listening on ${url}`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Fail readiness first so a load balancer stops sending work, then finish what is in flight.
      app.stopAccepting();
      stopWatchingCatalog();
      // As a service's: idle connections closed until the server is, what is left cut at half the timeout.
      await closeServer(app, config.shutdownTimeoutMs);
      await tracing.shutdown();
      app.log.info('stopped');
    })());
  return { url, config, logger: app.log, stop };
}

/** Entry point of the gateway's process (main.ts): start, and stop cleanly on SIGTERM/SIGINT. */
export async function runGatewayProcess(): Promise<void> {
  try {
    const gateway = await startGateway();
    // Fastify's logger is the pino logger installShutdown expects; its type only hides that.
    installShutdown(gateway.stop, gateway.config.shutdownTimeoutMs, gateway.logger as Logger);
  } catch (error) {
    console.error(`gateway failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
