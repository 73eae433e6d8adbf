import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { tokenStore } from '../auth/session.ts';
import { useSession } from '../auth/SessionContext.tsx';
import { connectLiveStream, type LiveEvent, type LiveStatus } from './stream.ts';

type Listener = (event: LiveEvent) => void;
type LiveState = { status: LiveStatus; subscribe: (listener: Listener) => () => void };

const LiveContext = createContext<LiveState | null>(null);

/**
 * One stream per signed-in console, shared by every screen that listens; none when `enabled` is
 * false (no screen of the console follows it), and listeners then hear nothing.
 */
export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const { session, expire } = useSession();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const listeners = useRef(new Set<Listener>());
  // Connected per signed-in person, not per token: a renewed token must not drop and reopen the
  // stream (and make every screen reload); the stream reads the current token when it reconnects.
  const subject = session ? session.subject : undefined;

  useEffect(() => {
    if (subject === undefined || !enabled) return;
    return connectLiveStream({
      getToken: () => tokenStore.load(),
      onEvent: (event) => listeners.current.forEach((listener) => listener(event)),
      onStatus: setStatus,
      // A 401 on the stream is the same ended session as on any call.
      onUnauthorized: expire,
    });
  }, [subject, enabled, expire]);

  const subscribe = useCallback((listener: Listener) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);
  const value = useMemo<LiveState>(() => ({ status, subscribe }), [status, subscribe]);
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLiveStatus(): LiveStatus {
  const state = useContext(LiveContext);
  if (!state) throw new Error('useLiveStatus outside LiveProvider');
  return state.status;
}

/** Calls `onEvent` for every stream event while the component is mounted (always its latest version). */
export function useLiveEvents(onEvent: (event: LiveEvent) => void): void {
  const state = useContext(LiveContext);
  if (!state) throw new Error('useLiveEvents outside LiveProvider');
  const latest = useRef(onEvent);
  latest.current = onEvent;
  const { subscribe } = state;
  useEffect(() => subscribe((event) => latest.current(event)), [subscribe]);
}
