import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../../api/problem.ts';
import { getTicket, type TicketView } from '../api.ts';

export type TicketState = {
  ticket: TicketView | undefined;
  /** The last read's failure; cleared by the next answer. */
  error: unknown;
  /** 'unknown': no such link (404, or a token of the wrong form: 400); 'gone': expired, or the visit ended (410). */
  ended: 'unknown' | 'gone' | undefined;
  /** When the ticket was last read. */
  checkedAt: Date | undefined;
};

/** How often the patient's page reads its ticket again: their turn comes in minutes, not seconds. */
const REFRESH_MS = 10_000;

function endOf(error: unknown): TicketState['ended'] {
  if (!(error instanceof ApiError)) return undefined;
  if (error.status === 404 || error.status === 400) return 'unknown';
  return error.status === 410 ? 'gone' : undefined;
}

/**
 * A ticket by its link's token, read every 10 s and whenever the phone's page is looked at again
 * (focus, or the tab shown), until the link turns out unknown or ended: then it is never asked again.
 */
export function useTicket(token: string): TicketState {
  const [state, setState] = useState<TicketState>({ ticket: undefined, error: undefined, ended: undefined, checkedAt: undefined });
  const ended = useRef(false);
  const inFlight = useRef<AbortController | null>(null);

  const read = useCallback(() => {
    if (ended.current) return;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    getTicket(token, controller.signal).then(
      (ticket) => {
        if (!controller.signal.aborted) setState({ ticket, error: undefined, ended: undefined, checkedAt: new Date() });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        const end = endOf(error);
        if (end) ended.current = true;
        // A network failure keeps the last ticket shown, with a note; an end replaces it.
        setState((current) => ({ ...current, error, ended: end, ...(end ? { ticket: undefined } : {}) }));
      },
    );
  }, [token]);

  useEffect(() => {
    ended.current = false;
    read();
    const timer = setInterval(read, REFRESH_MS);
    const onVisible = () => {
      if (document.visibilityState === 'visible') read();
    };
    window.addEventListener('focus', read);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      window.removeEventListener('focus', read);
      document.removeEventListener('visibilitychange', onVisible);
      inFlight.current?.abort();
    };
  }, [read]);

  return state;
}
