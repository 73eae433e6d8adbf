import { useEffect, useRef, useState } from 'react';
import type { EventSourceMessage } from 'eventsource-parser';
import { tokenStore } from '../../auth/session.ts';
import { useSession } from '../../auth/SessionContext.tsx';
import { connectEventStream, type LiveStatus } from '../../live/stream.ts';
import { getQueue, queueStreamPath, type QueueView } from '../api.ts';

export type QueueState = {
  queue: QueueView | undefined;
  /** Why the last load failed, until a queue arrives. */
  error: unknown;
  status: LiveStatus;
};

/**
 * While the stream is down, the queue is asked for this often: the stream brings each call within
 * a second, this only keeps a screen whose stream cannot connect from going stale.
 */
const FALLBACK_POLL_MS = 30_000;

function toQueue(message: EventSourceMessage): QueueView | undefined {
  if (message.event !== 'queue') return undefined;
  try {
    const queue = JSON.parse(message.data) as Partial<QueueView>;
    return Array.isArray(queue.calling) && Array.isArray(queue.waiting) ? (queue as QueueView) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A department's queue: read once, then pushed by its stream (the whole queue on each connect and
 * after each change), and read every 30 s while the stream is not live. A read answered after the
 * stream has delivered a newer queue is dropped, so the screen never steps back.
 */
export function useQueue(department: string): QueueState {
  const { expire } = useSession();
  const [state, setState] = useState<QueueState>({ queue: undefined, error: undefined, status: 'connecting' });
  const status = useRef<LiveStatus>('connecting');

  useEffect(() => {
    const stop = new AbortController();
    let pushed = 0;
    const read = () => {
      const pushedBefore = pushed;
      getQueue(department, stop.signal).then(
        (queue) => {
          if (!stop.signal.aborted && pushed === pushedBefore) setState((current) => ({ ...current, queue, error: undefined }));
        },
        (error: unknown) => {
          if (!stop.signal.aborted) setState((current) => ({ ...current, error }));
        },
      );
    };
    read();
    const disconnect = connectEventStream({
      path: queueStreamPath(department),
      parse: toQueue,
      getToken: () => tokenStore.load(),
      onEvent: (queue) => {
        pushed += 1;
        setState((current) => ({ ...current, queue, error: undefined }));
      },
      onStatus: (next) => {
        status.current = next;
        setState((current) => ({ ...current, status: next }));
      },
      // A 401 on the stream is the same ended session as on any call.
      onUnauthorized: expire,
    });
    const poll = setInterval(() => {
      if (status.current !== 'live') read();
    }, FALLBACK_POLL_MS);
    return () => {
      stop.abort();
      disconnect();
      clearInterval(poll);
    };
  }, [department, expire]);

  return state;
}
