import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * The server-sent event streams of the API, read with fetch and eventsource-parser because
 * EventSource cannot send the bearer token, reconnecting with backoff whenever one ends or fails:
 * the staff's live stream of visit changes (`GET /patientManagements/stream`, `connectLiveStream`)
 * and a waiting room's queue (`GET /queues/{department}/stream`, web/src/waitingRoom).
 */
export type LiveEvent =
  /** Sent on every (re)connect: whatever a screen shows may be stale, reload it. */
  | { type: 'ready' }
  /** A visit's view changed; the stream carries no patient data, the screen fetches what it may read. */
  | { type: 'visit'; receptionId: number; stage: string; updatedAt: string };

export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

type StreamOptions<T> = {
  getToken: () => string | null;
  onEvent: (event: T) => void;
  onStatus: (status: LiveStatus) => void;
  onUnauthorized: () => void;
};

export type EventStreamOptions<T> = StreamOptions<T> & {
  path: string;
  /**
   * The event a message is, or undefined for one this reader does not know (skipped). The first
   * event of a connection makes it live: each stream sends one as soon as it opens.
   */
  parse: (message: EventSourceMessage) => T | undefined;
};

const STREAM_PATH = '/patientManagements/stream';
const MIN_DELAY_MS = 1_000;
const MAX_DELAY_MS = 15_000;
/** The server sends a keepalive comment every 15 s; silence for longer means a dead connection. */
const SILENCE_LIMIT_MS = 45_000;

function toLiveEvent(message: EventSourceMessage): LiveEvent | undefined {
  if (message.event === 'ready') return { type: 'ready' };
  if (message.event !== 'visit') return undefined;
  try {
    const data = JSON.parse(message.data) as { receptionId?: unknown; stage?: unknown; updatedAt?: unknown };
    if (typeof data.receptionId !== 'number') return undefined;
    return { type: 'visit', receptionId: data.receptionId, stage: String(data.stage ?? ''), updatedAt: String(data.updatedAt ?? '') };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

/** Reads one connection until it ends; resolves true when it delivered anything (it was live). */
async function readOnce<T>(options: EventStreamOptions<T>, stop: AbortSignal): Promise<boolean> {
  const connection = new AbortController();
  const abortConnection = () => connection.abort();
  stop.addEventListener('abort', abortConnection, { once: true });
  let silence: ReturnType<typeof setTimeout> | undefined;
  const resetSilence = () => {
    clearTimeout(silence);
    silence = setTimeout(abortConnection, SILENCE_LIMIT_MS);
  };
  let delivered = false;
  try {
    const token = options.getToken();
    const response = await fetch(options.path, {
      headers: { Accept: 'text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      cache: 'no-store',
      signal: connection.signal,
    });
    if (response.status === 401) {
      options.onUnauthorized();
      return false;
    }
    if (!response.ok || !response.body) return false;
    const parser = createParser({
      onEvent: (message) => {
        const event = options.parse(message);
        if (event === undefined) return;
        if (!delivered) {
          delivered = true;
          options.onStatus('live');
        }
        options.onEvent(event);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    resetSilence();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      resetSilence();
      parser.feed(value);
    }
  } catch {
    // A network failure or our own abort: the caller decides whether to reconnect.
  } finally {
    clearTimeout(silence);
    stop.removeEventListener('abort', abortConnection);
  }
  return delivered;
}

/** Connects to the stream at `options.path` and keeps reconnecting until the returned function is called. */
export function connectEventStream<T>(options: EventStreamOptions<T>): () => void {
  const stop = new AbortController();
  void (async () => {
    let failures = 0;
    options.onStatus('connecting');
    while (!stop.signal.aborted) {
      const wasLive = await readOnce(options, stop.signal);
      if (stop.signal.aborted || !options.getToken()) return;
      failures = wasLive ? 0 : failures + 1;
      options.onStatus('reconnecting');
      // 1 s, 2 s, 4 s, ... up to 15 s, with some jitter so a restarted gateway is not hit by every console at once.
      const delay = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** failures) * (0.8 + Math.random() * 0.4);
      await sleep(delay, stop.signal);
    }
  })();
  return () => stop.abort();
}

/** The staff's live stream of visit changes. */
export function connectLiveStream(options: StreamOptions<LiveEvent>): () => void {
  return connectEventStream({ ...options, path: STREAM_PATH, parse: toLiveEvent });
}
