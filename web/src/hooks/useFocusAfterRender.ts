import { useCallback, useEffect, useRef, type RefObject } from 'react';

/**
 * Asks for the focus to move to an element once React has rendered the change that shows it
 * (an element that appears with the change is not there yet when the change is asked for). The
 * effect runs after every render of the component, after the removed parts' clean-ups: a dialog
 * that hands the focus back to its opener as it closes does so first, and this wins.
 */
export function useFocusAfterRender(): (target: RefObject<HTMLElement | null>) => void {
  const pending = useRef<RefObject<HTMLElement | null> | null>(null);
  useEffect(() => {
    const target = pending.current;
    pending.current = null;
    target?.current?.focus();
  });
  return useCallback((target) => {
    pending.current = target;
  }, []);
}
