import type { Transaction } from 'kysely';
import type { CloudEvent } from '@medical/contracts';
import type { ServiceContext } from '@medical/platform';
import { project } from '../domain/visit.ts';
import { loadVisit, saveVisit } from '../db/repository.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

type Context = ServiceContext<PatientManagementDatabase>;

/**
 * Folds every event into the visit it belongs to. The view is built from events only: this
 * service never calls the others, so it keeps answering while they are down.
 */
export function projectionEffect(_context: Context) {
  return async (trx: Transaction<PatientManagementDatabase>, event: CloudEvent): Promise<void> => {
    const receptionId = (event.data as { receptionId: number }).receptionId;
    const current = await loadVisit(trx, receptionId);
    const next = project(current, { type: event.type, data: event.data, time: event.time });
    // Every visit starts with ReceptionCompleted, which precedes the rest of the visit in the log.
    if (next === null) throw new Error(`${event.type} for visit ${receptionId} that has not been received`);
    if (next !== current) await saveVisit(trx, next);
  };
}
