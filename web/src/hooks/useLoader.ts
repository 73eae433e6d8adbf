import { useCallback, useEffect, useRef, useState } from 'react';

export type Loaded<T> = {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping what is shown until the new answer arrives (no flicker on live refreshes). */
  reload: () => void;
};

export type Loader<T> = Loaded<T> & {
  /** Changes what is shown in place (one record refetched, say); the next load replaces it. */
  update: (change: (current: T | undefined) => T | undefined) => void;
};

/**
 * Loads data for a screen and reloads it on demand; a newer load aborts the one in flight, so a
 * burst of live events never lets an older answer overwrite a newer one.
 */
export function useLoader<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loader<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const inFlight = useRef<AbortController | null>(null);
  // The caller lists what `load` depends on, as with useCallback.
  const stableLoad = useCallback(load, deps);

  const reload = useCallback(() => {
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setLoading(true);
    stableLoad(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (reason: unknown) => {
        if (controller.signal.aborted) return;
        setError(reason);
        setLoading(false);
      },
    );
  }, [stableLoad]);

  useEffect(() => {
    reload();
    return () => inFlight.current?.abort();
  }, [reload]);

  return { data, error, loading, reload, update: setData };
}
