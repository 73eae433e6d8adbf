import type { Transaction } from 'kysely';
import { Counter, Histogram } from 'prom-client';
import type { AccessRecord } from '@medical/contracts';
import type { Database } from '../db/database.ts';
import type { OutboxTables } from '../outbox/tables.ts';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { ACCESS_RECORD_TYPE, accessRecordMessage } from './access-records.ts';

/** The most records written in one transaction: a few hundred rows keep a commit short. */
const MAX_RECORDS_PER_COMMIT = 200;

export type AccessRecorderOptions = {
  database: Pick<Database<OutboxTables>, 'transaction'>;
  /** ACCESS_LOG_TOPIC: where the relay publishes the records, for patient-management to keep. */
  topic: string;
  /** Wakes the outbox relay once a commit wrote records. */
  wakeRelay: () => void;
  metrics: ServiceMetrics;
};

type Waiting = { record: AccessRecord; done: (error?: unknown) => void };

/**
 * Writes access records to the service's outbox, durably, before the answer they describe leaves:
 * `record` resolves once the record's transaction has committed. Records of requests answered at
 * the same time share one commit (group commit): while one commit runs, the records that arrive
 * wait for the next, which takes them all. Under load a read costs a fraction of a commit; alone,
 * one small commit. The relay then publishes them as it publishes events, so a broker outage
 * delays the access log, never a read.
 */
export class AccessRecorder {
  private waiting: Waiting[] = [];
  private writing: Promise<void> | undefined;
  private readonly written: Counter<'action'>;
  private readonly commits: Counter;
  private readonly waits: Histogram;
  private readonly options: AccessRecorderOptions;

  constructor(options: AccessRecorderOptions) {
    this.options = options;
    this.written = new Counter({
      name: 'medical_access_records_total',
      help: 'Access records written to the outbox, by action (read, command, refused)',
      labelNames: ['action'] as const,
      registers: [options.metrics.registry],
    });
    this.commits = new Counter({
      name: 'medical_access_record_commits_total',
      help: 'Transactions that wrote access records: records / commits is the group commit at work',
      registers: [options.metrics.registry],
    });
    this.waits = new Histogram({
      name: 'medical_access_record_wait_seconds',
      help: 'How long an answer waited for its access record to commit: what the access log adds to a request',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [options.metrics.registry],
    });
  }

  /** Resolves once the record is committed; rejects when its transaction failed (nothing was written). */
  record(record: AccessRecord): Promise<void> {
    const waited = this.waits.startTimer();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ record, done: (error) => (error === undefined ? resolve() : reject(error)) });
      // The first write waits for the rest of this turn of the event loop, so the answers being
      // given in it join one commit, even where a commit returns at once (SQLite).
      this.writing ??= new Promise<void>((ready) => setImmediate(ready)).then(() => this.writeWaiting());
    }).finally(() => waited());
  }

  /** Resolves once every record handed in so far is written (or has failed): for a clean stop. */
  async drain(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async writeWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_RECORDS_PER_COMMIT);
      try {
        await this.options.database.transaction((trx) => this.insert(trx, batch.map((w) => w.record)));
      } catch (error) {
        for (const waiting of batch) waiting.done(error);
        continue;
      }
      this.commits.inc();
      for (const waiting of batch) {
        this.written.inc({ action: waiting.record.action });
        waiting.done();
      }
      this.options.wakeRelay();
    }
    this.writing = undefined;
  }

  private async insert(trx: Transaction<OutboxTables>, records: AccessRecord[]): Promise<void> {
    const createdAt = new Date().toISOString();
    await trx
      .insertInto('outbox')
      .values(
        records.map((record) => {
          const message = accessRecordMessage(this.options.topic, record);
          return {
            event_id: record.id,
            topic: message.topic,
            message_key: message.key,
            event_type: ACCESS_RECORD_TYPE,
            headers: JSON.stringify(message.headers),
            payload: message.value,
            created_at: createdAt,
          };
        }),
      )
      .execute();
  }
}
