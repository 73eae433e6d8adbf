import { useCallback, useEffect, useRef, useState } from 'react';
import { BreakGlassDeclined } from '../../api/breakGlass.ts';
import { getDiagnosis } from '../../api/endpoints.ts';
import type { DiagnosisView } from '../../api/types.ts';
import type { LiveEvent } from '../../live/stream.ts';
import type { BreakGlassRun } from './BreakGlass.tsx';

/** The diagnosis on show, and how it was opened. */
export type ShownDiagnosis = {
  view: DiagnosisView;
  /** Opened by breaking the glass (another department's): not reloaded on its own, each reading being recorded. */
  emergency: boolean;
  /** Opened in an emergency, and its visit has changed since (or the stream reconnected): reopen to see it. */
  changed: boolean;
};

export type DiagnosisDetail = {
  selectedId: number | null;
  shown: ShownDiagnosis | undefined;
  /** The last load's failure (404, 403 declined is none, a network failure…). */
  error: unknown;
  loading: boolean;
  /** Opens diagnosis `id` (from the worklist or by its number), asking to break the glass if it is another department's. */
  select: (id: number) => void;
  /** Loads the shown diagnosis again after a live change, unless it was opened in an emergency. */
  reload: () => void;
  /** A command's answer: the diagnosis as it is now. */
  answered: (view: DiagnosisView) => void;
  /** A stream event: notes that a diagnosis opened in an emergency has changed. */
  noticeLive: (event: LiveEvent) => void;
};

type State = { selectedId: number | null; shown: ShownDiagnosis | undefined; error: unknown; loading: boolean };

/**
 * The doctor's selected diagnosis. Selecting one is an action (it may ask for a reason to break
 * the glass, and declining leaves everything as it was), so this is not a plain loader. A
 * diagnosis opened in an emergency is never reloaded behind the doctor's back: every reading of
 * it with the reason would be another recorded emergency access, at every change in the hospital.
 */
export function useDiagnosisDetail(breakGlass: BreakGlassRun): DiagnosisDetail {
  const [state, setState] = useState<State>({ selectedId: null, shown: undefined, error: undefined, loading: false });
  const current = useRef(state);
  current.current = state;
  const inFlight = useRef<AbortController | null>(null);
  // A selection under way (perhaps waiting for the doctor's reason): live reloads wait for it.
  const selecting = useRef(false);

  useEffect(() => () => inFlight.current?.abort(), []);

  const select = useCallback(
    (id: number) => {
      inFlight.current?.abort();
      const controller = new AbortController();
      inFlight.current = controller;
      selecting.current = true;
      const before = current.current;
      setState((now) => ({ ...now, selectedId: id, error: undefined, loading: true }));
      let emergency = false;
      breakGlass(id, (reason) => {
        emergency = reason !== undefined;
        return getDiagnosis(id, controller.signal, reason);
      }).then(
        (view) => {
          if (controller.signal.aborted) return;
          setState({ selectedId: id, shown: { view, emergency, changed: false }, error: undefined, loading: false });
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          // Declined: as it was before, as if the doctor had never asked.
          setState(error instanceof BreakGlassDeclined ? before : (now) => ({ ...now, error, loading: false }));
        },
      ).finally(() => {
        if (inFlight.current === controller) selecting.current = false;
      });
    },
    [breakGlass],
  );

  const reload = useCallback(() => {
    const { selectedId, shown } = current.current;
    if (selecting.current || selectedId === null || shown?.emergency) return;
    inFlight.current?.abort();
    const controller = new AbortController();
    inFlight.current = controller;
    setState((now) => ({ ...now, loading: true }));
    getDiagnosis(selectedId, controller.signal).then(
      (view) => {
        if (controller.signal.aborted) return;
        setState({ selectedId, shown: { view, emergency: false, changed: false }, error: undefined, loading: false });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState((now) => ({ ...now, error, loading: false }));
      },
    );
  }, []);

  const answered = useCallback((view: DiagnosisView) => {
    setState((now) =>
      now.shown?.view.id === view.id ? { ...now, shown: { view, emergency: now.shown.emergency, changed: false }, error: undefined } : now,
    );
  }, []);

  const noticeLive = useCallback((event: LiveEvent) => {
    const shown = current.current.shown;
    if (!shown?.emergency || shown.changed) return;
    const changed =
      event.type === 'ready' ||
      (event.receptionId === shown.view.receptionId && !(Date.parse(event.updatedAt) <= Date.parse(shown.view.updatedAt)));
    if (changed) setState((now) => (now.shown === shown ? { ...now, shown: { ...shown, changed: true } } : now));
  }, []);

  return { ...state, select, reload, answered, noticeLive };
}
