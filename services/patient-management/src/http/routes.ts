import {
  Page,
  ProblemDetails,
  ReceptionIdParams,
  Visit as VisitSchema,
  VisitQuery,
  VisitTimeline,
  visitSeenBy,
  type Role,
  type VisitTimelineView,
  type VisitView,
} from '@medical/contracts';
import { grantedRoles, notFound, type App, type ServiceContext } from '@medical/platform';
import type { Visit } from '../domain/visit.ts';
import { listVisits, loadVisit } from '../db/repository.ts';
import { loadTimeline } from '../db/timeline.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

const tags = ['patient management'];

/**
 * The API answers every resource with a `status`; for a visit that is its stage. The examinations'
 * results only for a caller who reads clinical texts (minimum necessary: contracts' visitSeenBy).
 * The moments the waits are measured between stay in the read model (waiting-times answers them).
 */
function toView(roles: readonly Role[], visit: Visit): VisitView {
  const { receivedAt: _r, firstCalledAt: _f, examinationsEndedAt: _e, concludedAt: _c, queueDay: _d, examinations, ...shown } = visit;
  return visitSeenBy(roles, {
    ...shown,
    examinations: examinations.map(({ prescribedAt: _p, department: _department, ...examination }) => examination),
    status: visit.stage,
  });
}

export function visitRoutes(app: App, context: ServiceContext<PatientManagementDatabase>): void {
  const db = context.database.db;

  app.get(
    '/patientManagements',
    { schema: { tags, summary: 'Every visit and where it stands', querystring: VisitQuery, response: { 200: Page(VisitSchema), 400: ProblemDetails } } },
    async (request) => {
      const page = await listVisits(db, request.query);
      return { ...page, items: page.items.map((visit) => toView(grantedRoles(request), visit)) };
    },
  );

  app.get(
    '/patientManagements/:receptionId',
    {
      schema: {
        tags,
        summary: 'One visit, by its reception id',
        params: ReceptionIdParams,
        response: { 200: VisitSchema, 400: ProblemDetails, 404: ProblemDetails },
      },
    },
    async (request) => {
      const visit = await loadVisit(db, request.params.receptionId);
      if (!visit) throw notFound('visit', request.params.receptionId);
      return toView(grantedRoles(request), visit);
    },
  );

  app.get(
    '/patientManagements/:receptionId/timeline',
    {
      schema: {
        tags,
        summary: 'Every step of a visit, oldest first, with who did it',
        description:
          'One step per event of the visit: when, what, which service, the stage the visit reached, and the actor: ' +
          "the person whose command it was, or the service's system actor (role `system`) for what a service did by itself " +
          '(an examination ordered from a prescription, a compensation). No actor on events written before events carried one.',
        params: ReceptionIdParams,
        response: { 200: VisitTimeline, 400: ProblemDetails, 404: ProblemDetails },
      },
    },
    async (request): Promise<VisitTimelineView> => {
      const { receptionId } = request.params;
      // Reads the visit and its steps without a transaction: the two may be one event apart, as any read of a live view.
      if (!(await visitExists(db, receptionId))) throw notFound('visit', receptionId);
      const steps = await loadTimeline(db, receptionId);
      return { receptionId, steps: steps.map(({ eventId, event, at, service, description, stage, actor }) => ({ at, event, eventId, service, description, stage, ...(actor ? { actor } : {}) })) };
    },
  );
}

async function visitExists(db: ServiceContext<PatientManagementDatabase>['database']['db'], receptionId: number): Promise<boolean> {
  const row = await db.selectFrom('visits').select('reception_id').where('reception_id', '=', receptionId).executeTakeFirst();
  return row !== undefined;
}
