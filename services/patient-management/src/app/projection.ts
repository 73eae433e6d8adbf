import type { Transaction } from 'kysely';
import { Histogram } from 'prom-client';
import type { CloudEvent, EventDataOf } from '@medical/contracts';
import { examinationTypeCode, hospitalDayOf, visitDepartmentCode, type ServiceContext } from '@medical/platform';
import { project, type ProjectedEvent } from '../domain/visit.ts';
import { timelineStep } from '../domain/timeline.ts';
import { loadVisit, saveVisit } from '../db/repository.ts';
import { recordTimelineStep } from '../db/timeline.ts';
import { announceVisitChange } from './visit-changes.ts';
import { waitingRoomEffect } from './waiting-room.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

type Context = ServiceContext<PatientManagementDatabase>;

/**
 * Folds every event into the visit it belongs to, and keeps it as a step of the visit's timeline
 * (even an event that changes nothing in the view happened, and someone did it), and follows the
 * waiting room (app/waiting-room.ts). The view is built from events only: this service never
 * calls the others, so it keeps answering while they are down. The inbox applies each event once;
 * the timeline's row, the queues and the waits are written in its transaction.
 */
export function projectionEffect(context: Context) {
  const stageReached = visitStageHistogram(context);
  const waitingRoom = waitingRoomEffect(context);
  return async (trx: Transaction<PatientManagementDatabase>, event: CloudEvent): Promise<void> => {
    const receptionId = (event.data as { receptionId: number }).receptionId;
    const current = await loadVisit(trx, receptionId);
    const projected: ProjectedEvent = { type: event.type, data: withDepartments(context, coded(context, event), event.type), time: event.time };
    const next = project(current, projected);
    // Every visit starts with ReceptionCompleted, which precedes the rest of the visit in the log.
    if (next === null) throw new Error(`${event.type} for visit ${receptionId} that has not been received`);
    await recordTimelineStep(trx, timelineStep(event, receptionId, next.stage));
    await waitingRoom(trx, current, next, projected);
    if (next === current) return;
    await saveVisit(trx, next);
    // The live stream's notice, sent with the commit (and only with it).
    await announceVisitChange(context.database, trx, next);
    if (next.stage !== current?.stage) {
      // Counted once the view has it: an effect rolled back and run again counts once.
      const seconds = Math.max(0, (Date.parse(event.time) - Date.parse(next.createdAt)) / 1000);
      context.afterCommit(trx, () => stageReached.observe({ stage: next.stage }, seconds));
    }
  };
}

/**
 * The event's data with an old free-text examination ("X-ray", written before the catalog had
 * codes) read as the code the catalog says it meant, so the view, rebuilt after `npm run
 * catalog:migrate` rewrote the services' tables, shows the codes they show. Text the catalog does
 * not know stays as it is; the timeline keeps the event as it was written.
 */
function coded(context: Context, event: CloudEvent): unknown {
  const data = event.data as { examinationType?: unknown };
  if (typeof data.examinationType !== 'string') return event.data;
  const code = examinationTypeCode(context.config.catalog, data.examinationType);
  return code === data.examinationType ? event.data : { ...data, examinationType: code };
}

/**
 * The departments as the waiting room needs them: a registration's department as a code of the
 * catalog (old free text read as its alias says, and none or an unknown one as the default
 * department, as the diagnosis service reads it) and its queue day (the hospital day of its
 * registration, when the event has a number without one); a prescription with the department
 * that performs the examination, when the catalog names one.
 */
function withDepartments(context: Context, data: unknown, type: string): unknown {
  const { catalog, timeZone } = context.config;
  if (type === 'ReceptionCompleted') {
    const d = data as EventDataOf<'ReceptionCompleted'>;
    const department = visitDepartmentCode(catalog, d.department);
    const queueDay = d.queueNumber !== undefined && d.queueDay === undefined ? { queueDay: hospitalDayOf(d.receivedAt, timeZone) } : {};
    return { ...d, department, ...queueDay };
  }
  if (type === 'ExaminationPrescribed') {
    const d = data as EventDataOf<'ExaminationPrescribed'>;
    const performedBy = catalog.examination(d.examinationType)?.department;
    return performedBy !== undefined ? { ...d, department: performedBy } : d;
  }
  return data;
}

/**
 * `medical_visit_stage_seconds{stage}`: how long after the reception a visit reached each stage,
 * by the events' own times. The count per stage is the visit funnel (how many got that far);
 * the buckets span an outpatient day, from seconds to eight hours.
 */
function visitStageHistogram(context: Context): Histogram<'stage'> {
  return new Histogram({
    name: 'medical_visit_stage_seconds',
    help: "Time from the reception of a visit to its reaching each stage, by the events' own times",
    labelNames: ['stage'] as const,
    buckets: [1, 10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800],
    registers: [context.metrics.registry],
  });
}
