import { PassThrough } from 'node:stream';
import type { Database } from '@medical/platform';
import { parseVisitChange, VISIT_CHANGES_CHANNEL } from '../app/visit-changes.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

export type VisitChangeStreamsOptions = {
  /** How often an idle stream gets a comment line, so proxies and load balancers keep it open. */
  keepAliveMs?: number;
  /** Streams this replica serves at most; more are refused (503) rather than exhaust it. */
  maxStreams?: number;
  /** Bytes a stream may have waiting for a client that does not read before it is dropped. */
  maxBufferedBytes?: number;
};

/** How long a stream being closed for shutdown may take to finish before it is cut. */
const CLOSE_GRACE_MS = 1_000;

/** Comfortably under the gateway's 45 s idle limit on streams and the usual 60 s of proxies. */
export const KEEP_ALIVE_MS = 15_000;

/**
 * The server-sent event streams of visit changes this replica serves: one database listener
 * (Database.listen, so changes committed by any replica arrive, in commit order) fanned out to
 * every open stream. Events, in text/event-stream framing:
 * - `ready` when a stream opens, and to every stream again when listening restarts after a lost
 *   database connection: what changed meanwhile is not known, so clients reload what they show;
 * - `visit` with a VisitChange for every committed change of a visit's view;
 * - a `: keepalive` comment when a stream has been idle for KEEP_ALIVE_MS.
 * A client that stops reading is dropped once it has maxBufferedBytes waiting (it reconnects and
 * reloads), so one stuck tablet cannot grow this process's memory.
 */
export class VisitChangeStreams {
  private readonly streams = new Set<PassThrough>();
  private readonly keepAliveMs: number;
  private readonly maxStreams: number;
  private readonly maxBufferedBytes: number;
  private stopListening: (() => Promise<void>) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private lastWrite = new WeakMap<PassThrough, number>();

  constructor(options: VisitChangeStreamsOptions = {}) {
    this.keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
    this.maxStreams = options.maxStreams ?? 1_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * Starts listening, and resolves once it listens (or after `waitMs`, if the database is slow to
   * answer: listening then starts in the background, and its `ready` tells the streams opened meanwhile).
   */
  async start(database: Database<PatientManagementDatabase>, waitMs = 10_000): Promise<void> {
    let listening!: () => void;
    const started = new Promise<void>((resolve) => (listening = resolve));
    this.stopListening = await database.listen(
      VISIT_CHANGES_CHANNEL,
      (payload) => {
        const change = parseVisitChange(payload);
        if (change) this.broadcast(frame('visit', JSON.stringify(change)));
      },
      () => {
        listening();
        this.broadcast(frame('ready', '{}'));
      },
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([started, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
    this.keepAlive = setInterval(() => this.keepIdleStreamsOpen(), Math.max(1_000, Math.floor(this.keepAliveMs / 3)));
    this.keepAlive.unref();
  }

  /** A new stream, already holding its `ready` event; undefined when this replica serves its maximum. */
  open(): PassThrough | undefined {
    if (this.streams.size >= this.maxStreams) return undefined;
    const stream = new PassThrough();
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    // `retry` tells an EventSource how long to wait before it reconnects.
    this.write(stream, `retry: 2000\n${frame('ready', '{}')}`);
    return stream;
  }

  /**
   * Ends every stream (clients reconnect to another replica) and stops listening: for shutdown.
   * A stream whose client stopped reading cannot finish its end, and the server's close would
   * wait for its connection until the shutdown timeout: it is cut after CLOSE_GRACE_MS.
   */
  async close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const stream of this.streams) {
      stream.end();
      setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.streams.clear();
    await this.stopListening?.();
  }

  private broadcast(text: string): void {
    for (const stream of this.streams) this.write(stream, text);
  }

  private write(stream: PassThrough, text: string): void {
    // Both sides of the PassThrough: what waits to be read by the response, and what waits behind that.
    if (stream.writableLength + stream.readableLength > this.maxBufferedBytes) {
      stream.destroy();
      return;
    }
    stream.write(text);
    this.lastWrite.set(stream, Date.now());
  }

  private keepIdleStreamsOpen(): void {
    const idleSince = Date.now() - this.keepAliveMs;
    for (const stream of this.streams) {
      if ((this.lastWrite.get(stream) ?? 0) <= idleSince) this.write(stream, ': keepalive\n\n');
    }
  }
}

/** One event in text/event-stream framing; `data` is one line of JSON (JSON.stringify never breaks lines). */
function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
