import type { Transaction } from 'kysely';
import { isDepartmentCode } from '@medical/contracts';
import type { Database } from '@medical/platform';
import type { PatientManagementDatabase } from '../db/schema.ts';

/**
 * The notice that a department's queue changed, as the call screens' streams hear it: the
 * department alone. A stream reads the queue again on hearing it (live/queue-streams.ts), so
 * several changes of one moment cost one read, and the notice itself carries no patient.
 */
export type QueueChange = { department: string };

/** The database notification channel of the queue changes (per service: see Database.notify). */
export const QUEUE_CHANGES_CHANNEL = 'queue_changes';

/** Announces the queues of `departments` as changed once `trx` commits: to every replica's streams, never for a rolled-back change. */
export async function announceQueueChanges(database: Database<PatientManagementDatabase>, trx: Transaction<PatientManagementDatabase>, departments: Iterable<string>): Promise<void> {
  for (const department of new Set(departments)) {
    const change: QueueChange = { department };
    await database.notify(trx, QUEUE_CHANGES_CHANNEL, JSON.stringify(change));
  }
}

/** The department a notification names, or undefined for a payload that is not a queue change (never thrown at a listener). */
export function parseQueueChange(payload: string): QueueChange | undefined {
  try {
    const value = JSON.parse(payload) as Partial<QueueChange>;
    if (isDepartmentCode(value.department)) return { department: value.department };
  } catch {
    // Not JSON: ignored like any other stranger on the channel.
  }
  return undefined;
}
