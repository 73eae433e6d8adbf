import { useEffect, useMemo, useRef } from 'react';

/**
 * A version of `action` that runs once, `delayMs` after the last of a burst of calls: a visit
 * moving through several steps in a second reloads a list once, not five times.
 */
export function useDebounced(action: () => void, delayMs = 250): () => void {
  const latest = useRef(action);
  latest.current = action;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useMemo(
    () => () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(() => latest.current(), delayMs);
    },
    [delayMs],
  );
}
