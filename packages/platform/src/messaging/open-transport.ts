import type { Logger } from 'pino';
import type { ServiceConfig } from '../config.ts';
import { EmbeddedLog, embeddedLogFile } from './embedded-log.ts';
import type { EventTransport } from './transport.ts';

/** Picks the transport adapter from the configuration; services never know which one runs. */
export function openTransport(config: ServiceConfig, logger: Logger): EventTransport {
  return new EmbeddedLog({
    file: embeddedLogFile(config.dataDir),
    pollIntervalMs: config.pollIntervalMs,
    retryBaseDelayMs: config.retryBaseDelayMs,
    logger,
  });
}
