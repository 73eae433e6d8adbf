import { AccessLogEntry, AccessLogQuery, Page, PatientIdParams, ProblemDetails } from '@medical/contracts';
import { recordAnswered, type App, type ServiceContext } from '@medical/platform';
import { readPatientAccessLog } from '../db/access-log.ts';
import { visitsOfPatient } from '../db/repository.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

/**
 * A patient's access log for the privacy officer: every read of their records, every command on
 * them and every refusal, by whom, newest first. Reading it is itself recorded (it names the
 * patient), like every other request.
 */
export function accessLogRoute(app: App, context: ServiceContext<PatientManagementDatabase>): void {
  const db = context.database.db;
  app.get(
    '/patients/:patientId/access-log',
    {
      schema: {
        tags: ['access log'],
        summary: "Who read or acted on a patient's records, and who was refused",
        description:
          'One entry per access record and visit of the patient it concerned, newest first: reads (a record, a list, a timeline, ' +
          'an attachment), commands and refusals (401, 403), with the route pattern, the answer status, the break-glass reason ' +
          'if the glass was broken, and the request id. Records arrive from every service within moments of the request.',
        params: PatientIdParams,
        querystring: AccessLogQuery,
        response: { 200: Page(AccessLogEntry), 400: ProblemDetails },
      },
    },
    async (request) => {
      const { patientId } = request.params;
      const visits = await visitsOfPatient(db, patientId);
      // It shows who saw the patient's visits, not the visits: recorded as naming the patient.
      recordAnswered(request, []);
      return readPatientAccessLog(db, patientId, visits, { page: request.query.page ?? 0, size: request.query.size ?? 20 });
    },
  );
}
