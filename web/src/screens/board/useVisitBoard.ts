import { getVisit, listVisits } from '../../api/endpoints.ts';
import { ApiError } from '../../api/problem.ts';
import type { VisitView } from '../../api/types.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';

type Visits = Map<number, VisitView>;

export type VisitBoard = { visits: Visits; loading: boolean; error: unknown };

// One instance, so the board's memos see the same (empty) map until the first load lands.
const noVisits: Visits = new Map();

/** Of two views of one visit, the later one: answers may arrive out of order. */
function newer(current: VisitView | undefined, incoming: VisitView): boolean {
  return !current || incoming.updatedAt >= current.updatedAt;
}

async function loadVisits(signal: AbortSignal): Promise<Visits> {
  const all = await listVisits(signal);
  return new Map(all.map((visit) => [visit.receptionId, visit]));
}

/**
 * Every visit, kept current by the stream: a `visit` event refetches that one visit and moves it
 * to its new stage in place; `ready` (every (re)connect) reloads them all, since events may have
 * been missed while disconnected.
 */
export function useVisitBoard(): VisitBoard {
  const board = useLoader(loadVisits, []);

  function refreshOne(receptionId: number) {
    getVisit(receptionId).then(
      (visit) =>
        board.update((current = noVisits) => {
          if (!newer(current.get(receptionId), visit)) return current;
          return new Map(current).set(receptionId, visit);
        }),
      (reason: unknown) => {
        // A visit that is gone from the read model (rebuilt without it) leaves the board.
        if (reason instanceof ApiError && reason.status === 404)
          board.update((current = noVisits) => {
            const next = new Map(current);
            next.delete(receptionId);
            return next;
          });
      },
    );
  }

  useLiveEvents((event) => {
    if (event.type === 'ready') board.reload();
    else refreshOne(event.receptionId);
  });

  return { visits: board.data ?? noVisits, loading: board.loading, error: board.error };
}
