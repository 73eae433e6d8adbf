import type { Logger } from 'pino';
import { EmbeddedLog, embeddedLogFile } from './embedded-log.ts';
import type { EventTransport } from './transport.ts';
import type { TransportConfig } from './transport-config.ts';

/**
 * Picks the transport adapter from the configuration; services never know which one runs.
 * With Kafka configured it resolves once the cluster answered and the topics exist. The Kafka
 * adapter (and its client library, some 60 MB of resident memory) is loaded only then.
 */
export async function openTransport(config: TransportConfig, logger: Logger): Promise<EventTransport> {
  if (config.kafka) {
    const { kafkaTransportOptions, openKafkaTransport } = await import('./kafka.ts');
    return openKafkaTransport(kafkaTransportOptions(config, logger));
  }
  return EmbeddedLog.open({
    file: embeddedLogFile(config.dataDir),
    pollIntervalMs: config.pollIntervalMs,
    retryBaseDelayMs: config.retryBaseDelayMs,
    logger,
  });
}
