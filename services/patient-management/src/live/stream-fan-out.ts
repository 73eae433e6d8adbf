import { PassThrough } from 'node:stream';
import type { Database } from '@medical/platform';
import type { PatientManagementDatabase } from '../db/schema.ts';

export type StreamFanOutOptions = {
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

/** `retry` tells an EventSource how long to wait before it reconnects. */
export const RETRY_LINE = 'retry: 2000\n';

/**
 * The server-sent event streams of one kind this replica serves, grouped by what they follow (the
 * visit changes: one group; a department's queue: a group per department), with what keeps one
 * replica safe from its clients: a maximum of streams, a `: keepalive` comment on a stream idle
 * for keepAliveMs, and a client that stops reading dropped once it has maxBufferedBytes waiting
 * (it reconnects and reloads), so one stuck tablet cannot grow this process's memory.
 */
export class StreamFanOut<K> {
  private readonly groups = new Map<K, Set<PassThrough>>();
  private readonly keepAliveMs: number;
  private readonly maxStreams: number;
  private readonly maxBufferedBytes: number;
  private keepAlive: NodeJS.Timeout | undefined;
  private lastWrite = new WeakMap<PassThrough, number>();
  private count = 0;

  constructor(options: StreamFanOutOptions = {}) {
    this.keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
    this.maxStreams = options.maxStreams ?? 1_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.count;
  }

  /** The groups that have a stream open. */
  keys(): K[] {
    return [...this.groups.keys()];
  }

  has(key: K): boolean {
    return this.groups.has(key);
  }

  startKeepAlive(): void {
    this.keepAlive = setInterval(() => this.keepIdleStreamsOpen(), Math.max(1_000, Math.floor(this.keepAliveMs / 3)));
    this.keepAlive.unref();
  }

  /** A new stream of group `key`, already holding `first`; undefined when this replica serves its maximum. */
  open(key: K, first: string): PassThrough | undefined {
    if (this.count >= this.maxStreams) return undefined;
    const stream = new PassThrough();
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = new Set()));
    group.add(stream);
    this.count += 1;
    stream.once('close', () => this.forget(key, stream));
    if (first) this.write(stream, first);
    return stream;
  }

  /** `text` to every stream of group `key`. */
  send(key: K, text: string): void {
    for (const stream of this.groups.get(key) ?? []) this.write(stream, text);
  }

  broadcast(text: string): void {
    for (const key of this.groups.keys()) this.send(key, text);
  }

  /**
   * Ends every stream (clients reconnect to another replica): for shutdown. A stream whose client
   * stopped reading cannot finish its end, and the server's close would wait for its connection
   * until the shutdown timeout: it is cut after CLOSE_GRACE_MS.
   */
  close(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const group of this.groups.values()) {
      for (const stream of group) {
        stream.end();
        setTimeout(() => stream.destroy(), CLOSE_GRACE_MS).unref();
      }
    }
    this.groups.clear();
    this.count = 0;
  }

  private forget(key: K, stream: PassThrough): void {
    const group = this.groups.get(key);
    if (!group?.delete(stream)) return;
    this.count -= 1;
    if (group.size === 0) this.groups.delete(key);
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
    for (const group of this.groups.values()) {
      for (const stream of group) if ((this.lastWrite.get(stream) ?? 0) <= idleSince) this.write(stream, ': keepalive\n\n');
    }
  }
}

/**
 * Listens on a database channel (Database.listen, so what any replica commits arrives, in commit
 * order), and resolves once it listens, or after `waitMs` if the database is slow to answer:
 * listening then starts in the background, and its `onListening` tells the streams opened
 * meanwhile. `onListening` runs again whenever listening restarts after a lost connection.
 * Returns the stop.
 */
export async function listenForChanges(
  database: Database<PatientManagementDatabase>,
  channel: string,
  onPayload: (payload: string) => void,
  onListening: () => void,
  waitMs: number,
): Promise<() => Promise<void>> {
  let listening!: () => void;
  const started = new Promise<void>((resolve) => (listening = resolve));
  const stop = await database.listen(channel, onPayload, () => {
    listening();
    onListening();
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([started, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  return stop;
}

/** One event in text/event-stream framing; `data` is one line of JSON (JSON.stringify never breaks lines). */
export function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
