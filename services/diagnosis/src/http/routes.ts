import {
  CompleteDiagnosisBody,
  Diagnosis,
  DiagnosisQuery,
  IdParams,
  Page,
  PrescribeBody,
  ProblemDetails,
  RejectDiagnosisBody,
} from '@medical/contracts';
import { notFound, requestOrigin, type App, type ServiceContext } from '@medical/platform';
import { completeDiagnosis, prescribeExamination, rejectDiagnosis } from '../app/commands.ts';
import { listDiagnoses, loadDiagnosis } from '../db/repository.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';

const problems = { 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['diagnoses'];

export function diagnosisRoutes(app: App, context: ServiceContext<DiagnosisDatabase>): void {
  const db = context.database.db;

  app.get(
    '/diagnoses',
    { schema: { tags, summary: "The doctor's worklist", querystring: DiagnosisQuery, response: { 200: Page(Diagnosis), 400: ProblemDetails } } },
    async (request) => listDiagnoses(db, request.query),
  );

  app.get(
    '/diagnoses/:id',
    { schema: { tags, summary: 'One diagnosis with its prescriptions', params: IdParams, response: { 200: Diagnosis, ...problems } } },
    async (request) => {
      const diagnosis = await loadDiagnosis(db, request.params.id);
      if (!diagnosis) throw notFound('diagnosis', request.params.id);
      return diagnosis;
    },
  );

  app.post(
    '/diagnoses/:id/prescriptions',
    { schema: { tags, summary: 'Prescribe an examination', params: IdParams, body: PrescribeBody, response: { 201: Diagnosis, ...problems } } },
    async (request, reply) => {
      const diagnosis = await prescribeExamination(context, requestOrigin(request), request.params.id, request.body);
      return reply.code(201).header('location', `/diagnoses/${diagnosis.id}`).send(diagnosis);
    },
  );

  app.post(
    '/diagnoses/:id/complete',
    { schema: { tags, summary: 'End the diagnosis with an opinion', params: IdParams, body: CompleteDiagnosisBody, response: { 200: Diagnosis, ...problems } } },
    async (request) => completeDiagnosis(context, requestOrigin(request), request.params.id, request.body.opinion),
  );

  app.post(
    '/diagnoses/:id/reject',
    { schema: { tags, summary: 'Reject the diagnosis (cancels pending examinations)', params: IdParams, body: RejectDiagnosisBody, response: { 200: Diagnosis, ...problems } } },
    async (request) => rejectDiagnosis(context, requestOrigin(request), request.params.id, request.body.reason),
  );
}
