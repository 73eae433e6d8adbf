import type { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import type { QueueView } from '@medical/contracts';
import type { Database } from '@medical/platform';
import { parseQueueChange, QUEUE_CHANGES_CHANNEL } from '../app/queue-changes.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { frame, listenForChanges, RETRY_LINE, StreamFanOut, type StreamFanOutOptions } from './stream-fan-out.ts';

export type QueueStreamsOptions = StreamFanOutOptions & {
  /** How long after a change's notice the queue is read: the notices of one moment cost one read. */
  refreshDelayMs?: number;
};

/** After a failed read (the database away), the queue is read again this much later. */
const RETRY_READ_MS = 2_000;

type Refresh = { timer?: NodeJS.Timeout; reading: boolean; again: boolean };

/**
 * The call screens' streams of this replica: one database listener of the queue changes, fanned
 * out per department (StreamFanOut, with its limits). A stream gets `queue` with the whole Queue
 * at once on opening and again shortly after every committed change of its department's queue,
 * and a `: keepalive` comment when idle. The queue is read once per burst of changes and
 * department, one read at a time per department, so the screens never see an older queue after
 * a newer one. When listening restarts after a lost connection, every department is read again.
 */
export class QueueStreams {
  private readonly fanOut: StreamFanOut<string>;
  private readonly refreshes = new Map<string, Refresh>();
  private readonly refreshDelayMs: number;
  private readonly read: (department: string) => Promise<QueueView>;
  private readonly logger: Logger;
  private stopListening: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(read: (department: string) => Promise<QueueView>, logger: Logger, options: QueueStreamsOptions = {}) {
    this.read = read;
    this.logger = logger;
    this.fanOut = new StreamFanOut(options);
    this.refreshDelayMs = options.refreshDelayMs ?? 50;
  }

  get size(): number {
    return this.fanOut.size;
  }

  /** Starts listening, and resolves once it listens (or after `waitMs`: see listenForChanges). */
  async start(database: Database<PatientManagementDatabase>, waitMs = 10_000): Promise<void> {
    this.stopListening = await listenForChanges(
      database,
      QUEUE_CHANGES_CHANNEL,
      (payload) => {
        const change = parseQueueChange(payload);
        if (change && this.fanOut.has(change.department)) this.refresh(change.department, this.refreshDelayMs);
      },
      () => this.fanOut.keys().forEach((department) => this.refresh(department, 0)),
      waitMs,
    );
    this.fanOut.startKeepAlive();
  }

  /** A new stream of a department's queue, which gets the queue at once; undefined when this replica serves its maximum. */
  open(department: string): PassThrough | undefined {
    const stream = this.fanOut.open(department, RETRY_LINE);
    // Every stream of the department gets the queue read now: a newer stream never sees an older queue than the others.
    if (stream) this.refresh(department, 0);
    return stream;
  }

  /** Ends every stream and stops listening: for shutdown. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { timer } of this.refreshes.values()) clearTimeout(timer);
    this.refreshes.clear();
    this.fanOut.close();
    await this.stopListening?.();
  }

  /** Reads the department's queue after `delayMs` and sends it, unless a read is due already; one read runs at a time, and a change during it reads again. */
  private refresh(department: string, delayMs: number): void {
    if (this.closed) return;
    let refresh = this.refreshes.get(department);
    if (!refresh) this.refreshes.set(department, (refresh = { reading: false, again: false }));
    if (refresh.reading) {
      refresh.again = true;
      return;
    }
    if (refresh.timer) return;
    refresh.timer = setTimeout(() => void this.readAndSend(department, refresh), delayMs);
  }

  private async readAndSend(department: string, refresh: Refresh): Promise<void> {
    refresh.timer = undefined;
    if (!this.fanOut.has(department)) {
      this.refreshes.delete(department);
      return;
    }
    refresh.reading = true;
    try {
      const queue = await this.read(department);
      this.fanOut.send(department, frame('queue', JSON.stringify(queue)));
    } catch (error) {
      this.logger.warn({ err: error, department }, 'could not read the queue for its live streams; trying again shortly');
      refresh.again = false;
      refresh.reading = false;
      this.refresh(department, RETRY_READ_MS);
      return;
    }
    refresh.reading = false;
    if (refresh.again) {
      refresh.again = false;
      this.refresh(department, this.refreshDelayMs);
    }
  }
}
