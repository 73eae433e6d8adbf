import type { Kysely, Transaction } from 'kysely';
import type { Actor } from '@medical/contracts';
import type { TimelineStep } from '../domain/timeline.ts';
import type { PatientManagementDatabase } from './schema.ts';

type Db = Kysely<PatientManagementDatabase> | Transaction<PatientManagementDatabase>;

/** Keeps a step, in the projection's transaction; an event already there (by id) is kept once. */
export async function recordTimelineStep(db: Db, step: TimelineStep): Promise<void> {
  await db
    .insertInto('visit_timeline')
    .values({
      event_id: step.eventId,
      reception_id: step.receptionId,
      event_type: step.event,
      occurred_at: step.at,
      service: step.service,
      description: step.description,
      stage: step.stage,
      actor_subject: step.actor?.subject ?? null,
      actor_name: step.actor?.name ?? null,
      actor_role: step.actor?.role ?? null,
    })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
}

/** A visit's steps in time order; steps of the same instant in the order they were applied. */
export async function loadTimeline(db: Db, receptionId: number): Promise<TimelineStep[]> {
  const rows = await db
    .selectFrom('visit_timeline')
    .selectAll()
    .where('reception_id', '=', receptionId)
    .orderBy('occurred_at')
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({
    eventId: row.event_id,
    receptionId: row.reception_id,
    event: row.event_type,
    at: row.occurred_at,
    service: row.service,
    description: row.description,
    stage: row.stage,
    ...(row.actor_subject !== null && row.actor_role !== null
      ? { actor: { subject: row.actor_subject, ...(row.actor_name !== null ? { name: row.actor_name } : {}), role: row.actor_role as Actor['role'] } }
      : {}),
  }));
}

/** Empties every timeline, so that a rebuild replays them with the visits. */
export async function clearTimelines(db: Db): Promise<void> {
  await db.deleteFrom('visit_timeline').execute();
}
