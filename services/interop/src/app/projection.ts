import type { Transaction } from 'kysely';
import type { CloudEvent, EventDataOf } from '@medical/contracts';
import { examinationTypeCode, hospitalDayOf, visitDepartmentCode, type ServiceContext } from '@medical/platform';
import { mergedPatient, registeredPatient } from '../domain/patient-records.ts';
import { openVisit, projectVisit, type ProjectedEvent, type VisitRecords } from '../domain/visit-records.ts';
import type { PatientRecord } from '../fhir/records.ts';
import { loadPatient, loadVisitRecords, savePatient, saveVisitRecords, type ChangedRecords } from '../db/visit-records.ts';
import type { InteropDatabase } from '../db/schema.ts';

type Context = ServiceContext<InteropDatabase>;

/** What one event changed, handed in its transaction to what follows the changes (subscriptions, HL7 feeds). */
export type ProjectedChange = ChangedRecords & {
  event: CloudEvent;
  visit: VisitRecords;
  patients: PatientRecord[];
};
export type ChangeFollower = (trx: Transaction<InteropDatabase>, change: ProjectedChange) => Promise<void>;

/**
 * Folds each event into the FHIR records of its visit and its patient, from the events alone (this
 * service never reads another's database, and keeps answering while they are down), and hands
 * what changed to the followers in the same transaction: a notification or an HL7 message is
 * queued exactly when its change is committed. The inbox applies each event once.
 */
export function projectionEffect(context: Context, followers: readonly ChangeFollower[]) {
  return async (trx: Transaction<InteropDatabase>, event: CloudEvent): Promise<void> => {
    const receptionId = (event.data as { receptionId: number }).receptionId;
    const projected: ProjectedEvent = { type: event.type, data: codedData(context, event), time: event.time };
    const before = await loadVisitRecords(trx, receptionId);
    let after: VisitRecords;
    if (event.type === 'ReceptionCompleted') after = before ?? openVisit(projected.data as EventDataOf<'ReceptionCompleted'>, event.time);
    // Every visit starts with ReceptionCompleted, which precedes the rest of the visit in the log.
    else if (before === undefined) throw new Error(`${event.type} for visit ${receptionId} that has not been received`);
    else after = projectVisit(before, projected);
    const patients = await projectPatients(trx, projected);
    const changed = after === before ? { requests: [], tasks: [] } : await saveVisitRecords(trx, before, after);
    const change: ProjectedChange = { ...changed, event, visit: after, patients };
    for (const follow of followers) await follow(trx, change);
  };
}

/** The patients an event names, saved when it changes them: a registration's, a merge's two. */
async function projectPatients(trx: Transaction<InteropDatabase>, event: ProjectedEvent): Promise<PatientRecord[]> {
  const changed: PatientRecord[] = [];
  const keep = async (current: PatientRecord | undefined, next: PatientRecord) => {
    if (next === current) return;
    await savePatient(trx, next);
    changed.push(next);
  };
  if (event.type === 'ReceptionCompleted' || event.type === 'ReceptionPatientMerged') {
    const d = event.data as EventDataOf<'ReceptionCompleted'>;
    const current = await loadPatient(trx, d.patientId);
    await keep(current, registeredPatient(current, d, event.time));
  }
  if (event.type === 'ReceptionPatientMerged') {
    const d = event.data as EventDataOf<'ReceptionPatientMerged'>;
    const duplicate = await loadPatient(trx, d.previousPatientId);
    await keep(duplicate, mergedPatient(duplicate, d, event.time));
  }
  return changed;
}

/**
 * The event's data with the catalog's codes: a registration's department as a code (old free
 * text read as its alias says, none as the default department) and its queue day, an old
 * free-text examination as the code it meant, as patient-management reads them.
 */
function codedData(context: Context, event: CloudEvent): unknown {
  const { catalog, timeZone } = context.config;
  if (event.type === 'ReceptionCompleted') {
    const d = event.data as EventDataOf<'ReceptionCompleted'>;
    const queueDay = d.queueNumber !== undefined && d.queueDay === undefined ? { queueDay: hospitalDayOf(d.receivedAt, timeZone) } : {};
    return { ...d, department: visitDepartmentCode(catalog, d.department), ...queueDay };
  }
  const data = event.data as { examinationType?: unknown };
  if (typeof data.examinationType !== 'string') return event.data;
  return { ...data, examinationType: examinationTypeCode(catalog, data.examinationType) };
}
