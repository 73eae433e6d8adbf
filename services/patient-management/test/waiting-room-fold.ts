import { project, type ProjectedEvent, type Visit } from '../src/domain/visit.ts';
import { queueChanges, type QueueEntry } from '../src/domain/queue-entries.ts';
import { endedWaits, type StageWait } from '../src/domain/waits.ts';

export type WaitingRoom = { visit: Visit | null; entries: QueueEntry[]; waits: StageWait[] };

/**
 * The waiting room of one visit as the projection keeps it (app/waiting-room.ts), folded in
 * memory: the visit, the entries of the queues (by item) and the waits, each kept once per stage
 * and item as the table keeps them.
 */
export function foldWaitingRoom(events: readonly ProjectedEvent[], fallbackDepartment = 'internal-medicine'): WaitingRoom {
  let visit: Visit | null = null;
  const entries = new Map<string, QueueEntry>();
  const waits = new Map<string, StageWait>();
  for (const e of events) {
    const next = project(visit, e);
    if (!next) continue;
    for (const changed of queueChanges([...entries.values()], visit, next, e)) entries.set(changed.item, changed);
    for (const wait of endedWaits(visit, next, e, fallbackDepartment)) {
      const key = `${wait.stage} ${wait.item}`;
      if (!waits.has(key)) waits.set(key, wait);
    }
    visit = next;
  }
  return { visit, entries: [...entries.values()].sort((a, b) => a.item.localeCompare(b.item)), waits: [...waits.values()] };
}
