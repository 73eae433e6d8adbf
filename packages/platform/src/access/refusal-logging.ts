import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { openTransport } from '../transport/open-transport.ts';
import type { TransportConfig } from '../transport/transport-config.ts';
import type { EventTransport } from '../transport/transport.ts';
import { AccessRecordPublisher } from './access-record-publisher.ts';
import { accessRecordOf } from './access-records.ts';

export type RefusalLoggingOptions = {
  /** The name the records carry (`gateway`). */
  service: string;
  transport: TransportConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  shutdownTimeoutMs: number;
};

/**
 * Opens the transport, retrying until it opens or `signal` aborts: the process serves without it
 * meanwhile (Kafka may start after the gateway), and its records wait in the publisher's queue.
 */
async function openWhenReachable(config: TransportConfig, logger: Logger, signal: AbortSignal): Promise<EventTransport> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await openTransport(config, logger);
    } catch (error) {
      if (signal.aborted) throw error;
      logger.warn({ err: error }, 'the access-log transport did not open; retrying');
      await sleep(backoffDelay(attempt, 500, 15_000), signal).catch(() => undefined);
    }
  }
}

/**
 * The access log of the refusals an edge process answers itself (the gateway's 401 and 403: a
 * request it refused never reaches a service, so no service records it). Each is sent to the
 * access-log topic after its answer (access-record-publisher.ts). Register after authentication.
 */
export const refusalLogging = fp<RefusalLoggingOptions>(
  async (app, options) => {
    const closing = new AbortController();
    const transport = openWhenReachable(options.transport, options.logger, closing.signal);
    transport.catch(() => undefined);
    const publisher = new AccessRecordPublisher({ transport, topic: options.transport.accessLogTopic, logger: options.logger, metrics: options.metrics });
    app.addHook('onResponse', async (request, reply) => {
      if (request.refusedWith === undefined) return;
      const record = accessRecordOf(request, reply.statusCode, options.service);
      if (record) publisher.publish(record);
    });
    app.addHook('onClose', async () => {
      await publisher.close(Math.floor(options.shutdownTimeoutMs / 2));
      closing.abort();
      const opened = await Promise.race([transport, sleep(0).then(() => undefined)]).catch(() => undefined);
      await opened?.close();
    });
  },
  { name: 'refusal-logging' },
);
