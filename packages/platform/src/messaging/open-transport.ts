import type { Logger } from 'pino';
import type { ServiceConfig } from '../config.ts';
import { EmbeddedLog, embeddedLogFile } from './embedded-log.ts';
import { kafkaTransportOptions, openKafkaTransport } from './kafka.ts';
import type { EventTransport } from './transport.ts';

/**
 * Picks the transport adapter from the configuration; services never know which one runs.
 * With Kafka configured it resolves once the cluster answered and the topics exist.
 */
export async function openTransport(config: ServiceConfig, logger: Logger): Promise<EventTransport> {
  if (config.kafka) return openKafkaTransport(kafkaTransportOptions(config, logger));
  return new EmbeddedLog({
    file: embeddedLogFile(config.dataDir),
    pollIntervalMs: config.pollIntervalMs,
    retryBaseDelayMs: config.retryBaseDelayMs,
    logger,
  });
}
