import { openEventLog, type EventRecord } from '../event-log.ts';

/**
 * Every message of a system's event topic with its CloudEvents id. The id is what tells the two
 * kinds of "twice" apart:
 *
 * - the same event (same ce_id) on the log twice: the outbox relay published it again after a
 *   crash or an outage between its publish and the deletion of the row: at-least-once transport,
 *   which DESIGN.md section 4 allows and the consumers' inboxes absorb;
 * - two events of one type with different ids where the visit implies one: an effect applied
 *   twice, which the design forbids.
 */
export type { EventRecord };

type Env = Record<string, string | undefined>;

/** The messages of the event topic of the system whose services got `env`. */
export async function readEventRecords(env: Env): Promise<EventRecord[]> {
  const log = await openEventLog(env);
  try {
    return await log.eventRecords();
  } finally {
    await log.close();
  }
}

/** The records of each key (reception id), in log order. */
export function recordsByKey(records: EventRecord[]): Map<string, EventRecord[]> {
  const byKey = new Map<string, EventRecord[]>();
  for (const record of records) byKey.set(record.key, [...(byKey.get(record.key) ?? []), record]);
  return byKey;
}
