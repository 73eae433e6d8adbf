import { Page, ProblemDetails, ReceptionIdParams, Visit as VisitSchema, VisitQuery, type VisitView } from '@medical/contracts';
import { notFound, type App, type ServiceContext } from '@medical/platform';
import type { Visit } from '../domain/visit.ts';
import { listVisits, loadVisit } from '../db/repository.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

const tags = ['patient management'];

/** The API answers every resource with a `status`; for a visit that is its stage. */
function toView(visit: Visit): VisitView {
  return { ...visit, status: visit.stage };
}

export function visitRoutes(app: App, context: ServiceContext<PatientManagementDatabase>): void {
  const db = context.database.db;

  app.get(
    '/patientManagements',
    { schema: { tags, summary: 'Every visit and where it stands', querystring: VisitQuery, response: { 200: Page(VisitSchema), 400: ProblemDetails } } },
    async (request) => {
      const page = await listVisits(db, request.query);
      return { ...page, items: page.items.map(toView) };
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
      return toView(visit);
    },
  );
}
