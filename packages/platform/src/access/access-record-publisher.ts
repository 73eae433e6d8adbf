import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import type { AccessRecord } from '@medical/contracts';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import type { EventTransport } from '../transport/transport.ts';
import { accessRecordMessage } from './access-records.ts';

/** The most records one publish carries. */
const MAX_RECORDS_PER_PUBLISH = 500;

export type AccessRecordPublisherOptions = {
  /** The transport, once open: the gateway opens it in the background, so it starts without the broker. */
  transport: Promise<Pick<EventTransport, 'publish'>>;
  topic: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /**
   * The most records held while the transport is away. Past it new records are counted
   * (`medical_access_records_dropped_total`) and not kept: a process without a database cannot
   * hold an outage's worth of refusals, and a flood of refusals must not exhaust its memory.
   */
  maxQueued?: number;
  retryBaseDelayMs?: number;
};

/**
 * Sends access records straight to the access-log topic, for a process with no database of its
 * own (the gateway, for the 401 and 403 it answers itself). The refusal is answered at once; its
 * record follows within moments, in batches, retried while the transport is away. Nothing was
 * shown by a refused request, so its record may trail the answer; a read's never does (the
 * services write theirs durably first, access-recorder.ts).
 */
export class AccessRecordPublisher {
  private readonly queue: AccessRecord[] = [];
  private sending: Promise<void> | undefined;
  private closed = false;
  private readonly options: Required<Omit<AccessRecordPublisherOptions, 'transport'>> & Pick<AccessRecordPublisherOptions, 'transport'>;
  private readonly published: Counter;
  private readonly dropped: Counter;

  constructor(options: AccessRecordPublisherOptions) {
    this.options = { maxQueued: 10_000, retryBaseDelayMs: 200, ...options };
    const registers = [options.metrics.registry];
    this.published = new Counter({ name: 'medical_access_records_published_total', help: 'Access records this process sent to the access-log topic itself', registers });
    this.dropped = new Counter({ name: 'medical_access_records_dropped_total', help: 'Access records not kept: the queue was full while the transport was away', registers });
    const queue = this.queue;
    new Gauge({ name: 'medical_access_records_queued', help: 'Access records waiting to be sent', registers, collect() { this.set(queue.length); } });
  }

  publish(record: AccessRecord): void {
    if (this.closed || this.queue.length >= this.options.maxQueued) {
      this.dropped.inc();
      return;
    }
    this.queue.push(record);
    this.sending ??= this.sendQueued();
  }

  /** Sends what is queued, for at most `timeoutMs`; what is left then is counted as dropped. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const deadline = sleep(timeoutMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.sending ?? Promise.resolve(), deadline])) === 'timeout') {
      this.options.logger.warn({ records: this.queue.length }, 'access records not sent before the stop');
      this.dropped.inc(this.queue.length);
      this.queue.length = 0;
    }
  }

  private async sendQueued(): Promise<void> {
    let failures = 0;
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, MAX_RECORDS_PER_PUBLISH);
      try {
        const transport = await this.options.transport;
        await transport.publish(batch.map((record) => accessRecordMessage(this.options.topic, record)));
      } catch (error) {
        failures += 1;
        if (failures === 1) this.options.logger.warn({ err: error, records: this.queue.length }, 'access records not sent yet; retrying');
        if (this.closed && failures > 3) break;
        await sleep(backoffDelay(failures - 1, this.options.retryBaseDelayMs, 5_000));
        continue;
      }
      failures = 0;
      this.queue.splice(0, batch.length);
      this.published.inc(batch.length);
    }
    this.sending = undefined;
  }
}
