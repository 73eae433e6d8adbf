import type { Transaction } from 'kysely';
import type { ServiceContext } from '@medical/platform';
import { queueChanges, type QueueEntry } from '../domain/queue-entries.ts';
import type { ProjectedEvent, Visit } from '../domain/visit.ts';
import { endedWaits } from '../domain/waits.ts';
import { queueEntriesOfVisit, saveQueueEntries, saveTicket } from '../db/queue-entries.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';
import { recordWaits } from '../db/waits.ts';
import { announceQueueChanges } from './queue-changes.ts';
import { waitHistogram } from './waiting-room-metrics.ts';

type Context = ServiceContext<PatientManagementDatabase>;

/** The events that may move an entry of a queue: the others never load the visit's entries. */
const queueEvents: ReadonlySet<string> = new Set([
  'ReceptionCompleted',
  'ReceptionPatientMerged',
  'ReceptionCancelled',
  'ReceptionConfirmed',
  'PatientCalled',
  'PatientNoShow',
  'ExaminationPrescribed',
  'ExaminationRequested',
  'ExaminationPerformed',
  'ExaminationCancelled',
  'DiagnosisCompleted',
  'DiagnosisRejected',
  'DiagnosisCancelled',
]);

/**
 * The waiting room's part of the projection, in its transaction: the visit's entries in the
 * queues (domain/queue-entries.ts) and the notice of each department whose queue changed, sent
 * with the commit; the ticket a registration names; and the waits the event ended, each kept once
 * and counted in `medical_wait_seconds` once committed.
 */
export function waitingRoomEffect(context: Context) {
  const waited = waitHistogram(context.metrics.registry);
  return async (trx: Transaction<PatientManagementDatabase>, before: Visit | null, after: Visit, event: ProjectedEvent): Promise<void> => {
    if (queueEvents.has(event.type)) await followQueues(context, trx, before, after, event);
    const ticketDigest = (event.data as { ticketDigest?: string }).ticketDigest;
    if (event.type === 'ReceptionCompleted' && !before && ticketDigest !== undefined && after.queueNumber !== undefined) {
      await saveTicket(trx, ticketDigest, after.receptionId);
    }
    const added = await recordWaits(trx, endedWaits(before, after, event, context.config.catalog.defaultDepartment));
    if (added.length > 0) context.afterCommit(trx, () => added.forEach((wait) => waited.observe({ department: wait.department, stage: wait.stage }, wait.seconds)));
  };
}

async function followQueues(context: Context, trx: Transaction<PatientManagementDatabase>, before: Visit | null, after: Visit, event: ProjectedEvent): Promise<void> {
  const entries = await queueEntriesOfVisit(trx, after.receptionId);
  const changed = queueChanges(entries, before, after, event);
  if (changed.length === 0) return;
  await saveQueueEntries(trx, changed);
  // An entry that moved to another department's queue leaves the one it was in.
  const was = (entry: QueueEntry) => entries.find((e) => e.item === entry.item)?.department;
  await announceQueueChanges(context.database, trx, changed.flatMap((entry) => [entry.department, was(entry) ?? entry.department]));
}
