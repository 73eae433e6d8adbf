import {
  CancelExaminationBody,
  Examination,
  ExaminationQuery,
  IdParams,
  Page,
  PerformExaminationBody,
  ProblemDetails,
} from '@medical/contracts';
import { notFound, type App, type ServiceContext } from '@medical/platform';
import { cancelExamination, performExamination } from '../app/commands.ts';
import { listExaminations, loadExamination } from '../db/repository.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

const problems = { 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['examinations'];

export function examinationRoutes(app: App, context: ServiceContext<ExaminationDatabase>): void {
  const db = context.database.db;

  app.get(
    '/examinations',
    { schema: { tags, summary: "The examiners' worklist", querystring: ExaminationQuery, response: { 200: Page(Examination), 400: ProblemDetails } } },
    async (request) => listExaminations(db, request.query),
  );

  app.get(
    '/examinations/:id',
    { schema: { tags, summary: 'One examination', params: IdParams, response: { 200: Examination, ...problems } } },
    async (request) => {
      const examination = await loadExamination(db, request.params.id);
      if (!examination) throw notFound('examination', request.params.id);
      return examination;
    },
  );

  app.post(
    '/examinations/:id/perform',
    { schema: { tags, summary: 'Record the result of a pending examination', params: IdParams, body: PerformExaminationBody, response: { 200: Examination, ...problems } } },
    async (request) => performExamination(context, request.params.id, request.body.result),
  );

  app.post(
    '/examinations/:id/cancel',
    { schema: { tags, summary: 'Cancel a pending examination', params: IdParams, body: CancelExaminationBody, response: { 200: Examination, ...problems } } },
    async (request) => cancelExamination(context, request.params.id, request.body.reason),
  );
}
