import { useCallback, useEffect, useRef, useState } from 'react';
import { getVisit, listVisits } from '../../api/endpoints.ts';
import { ApiError } from '../../api/problem.ts';
import type { VisitView } from '../../api/types.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';

export type VisitBoard = { visits: Map<number, VisitView>; loading: boolean; error: unknown };

/** Of two views of one visit, the later one: answers may arrive out of order. */
function newer(current: VisitView | undefined, incoming: VisitView): boolean {
  return !current || incoming.updatedAt >= current.updatedAt;
}

/**
 * Every visit, kept current by the stream: a `visit` event refetches that one visit and moves it
 * to its new stage in place; `ready` (every (re)connect) reloads them all, since events may have
 * been missed while disconnected.
 */
export function useVisitBoard(): VisitBoard {
  const [visits, setVisits] = useState<Map<number, VisitView>>(new Map());
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const fullLoad = useRef<AbortController | null>(null);

  const loadAll = useCallback(() => {
    fullLoad.current?.abort();
    const controller = new AbortController();
    fullLoad.current = controller;
    setLoading(true);
    listVisits(controller.signal).then(
      (all) => {
        if (controller.signal.aborted) return;
        setVisits(new Map(all.map((visit) => [visit.receptionId, visit])));
        setError(undefined);
        setLoading(false);
      },
      (reason: unknown) => {
        if (controller.signal.aborted) return;
        setError(reason);
        setLoading(false);
      },
    );
  }, []);

  const refreshOne = useCallback((receptionId: number) => {
    getVisit(receptionId).then(
      (visit) =>
        setVisits((current) => {
          if (!newer(current.get(receptionId), visit)) return current;
          return new Map(current).set(receptionId, visit);
        }),
      (reason: unknown) => {
        // A visit that is gone from the read model (rebuilt without it) leaves the board.
        if (reason instanceof ApiError && reason.status === 404)
          setVisits((current) => {
            const next = new Map(current);
            next.delete(receptionId);
            return next;
          });
      },
    );
  }, []);

  useEffect(() => {
    loadAll();
    return () => fullLoad.current?.abort();
  }, [loadAll]);

  useLiveEvents((event) => {
    if (event.type === 'ready') loadAll();
    else refreshOne(event.receptionId);
  });

  return { visits, loading, error };
}
