import {
  BreakGlassHeaders,
  CallPatientBody,
  CompleteDiagnosisBody,
  Diagnosis,
  DiagnosisQuery,
  EmptyBody,
  IdParams,
  Page,
  PrescribeBody,
  ProblemDetails,
  RejectDiagnosisBody,
} from '@medical/contracts';
import { examinationInCatalog, type App, type ServiceContext } from '@medical/platform';
import { deskContext, type DeskContext } from '../app/access.ts';
import { callPatient, completeDiagnosis, markNoShow, prescribeExamination, rejectDiagnosis } from '../app/commands.ts';
import { openDiagnosis, worklist } from '../app/reads.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';
import { requesterOf } from './requester.ts';

/** 403: outside the doctor's departments without a Break-Glass reason (type urn:medical:problem:forbidden/outside-department). */
const problems = { 400: ProblemDetails, 403: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['diagnoses'];

/** The routes that open or act on one diagnosis, where a doctor may break the glass. */
const ONE_DIAGNOSIS_ROUTES = [
  '/diagnoses/:id',
  '/diagnoses/:id/prescriptions',
  '/diagnoses/:id/complete',
  '/diagnoses/:id/reject',
  '/diagnoses/:id/call',
  '/diagnoses/:id/no-show',
] as const;

export function diagnosisRoutes(app: App, serviceContext: ServiceContext<DiagnosisDatabase>): void {
  const context = deskContext(serviceContext, ONE_DIAGNOSIS_ROUTES);
  readRoutes(app, context);
  commandRoutes(app, context);
  waitingRoomRoutes(app, context);
}

/** The worklist and one diagnosis. */
function readRoutes(app: App, context: DeskContext): void {
  app.get(
    '/diagnoses',
    {
      schema: {
        tags,
        summary: "The doctor's worklist: the diagnoses of the doctor's departments (every one for admin)",
        querystring: DiagnosisQuery,
        response: { 200: Page(Diagnosis), 400: ProblemDetails },
      },
    },
    async (request) => worklist(context, requesterOf(request), request.query),
  );

  app.get(
    '/diagnoses/:id',
    {
      schema: { tags, summary: 'One diagnosis with its prescriptions', params: IdParams, headers: BreakGlassHeaders, response: { 200: Diagnosis, ...problems } },
    },
    async (request) => openDiagnosis(context, requesterOf(request), request.params.id),
  );
}

/** The doctor's commands on one diagnosis. */
function commandRoutes(app: App, context: DeskContext): void {
  app.post(
    '/diagnoses/:id/prescriptions',
    {
      schema: { tags, summary: 'Prescribe an examination', params: IdParams, headers: BreakGlassHeaders, body: PrescribeBody, response: { 201: Diagnosis, ...problems } },
    },
    async (request, reply) => {
      const examinationType = examinationInCatalog(context.config.catalog, request.body.examinationType);
      const diagnosis = await prescribeExamination(context, requesterOf(request), request.params.id, { ...request.body, examinationType });
      return reply.code(201).header('location', `/diagnoses/${diagnosis.id}`).send(diagnosis);
    },
  );

  app.post(
    '/diagnoses/:id/complete',
    {
      schema: {
        tags,
        summary: 'End the diagnosis with an opinion',
        params: IdParams,
        headers: BreakGlassHeaders,
        body: CompleteDiagnosisBody,
        response: { 200: Diagnosis, ...problems },
      },
    },
    async (request) => completeDiagnosis(context, requesterOf(request), request.params.id, request.body.opinion),
  );

  app.post(
    '/diagnoses/:id/reject',
    {
      schema: {
        tags,
        summary: 'Reject the diagnosis (cancels pending examinations)',
        params: IdParams,
        headers: BreakGlassHeaders,
        body: RejectDiagnosisBody,
        response: { 200: Diagnosis, ...problems },
      },
    },
    async (request) => rejectDiagnosis(context, requesterOf(request), request.params.id, request.body.reason),
  );
}

/** The doctor's calls of the patient into the consulting room, under the department rule of every command. */
function waitingRoomRoutes(app: App, context: DeskContext): void {
  app.post(
    '/diagnoses/:id/call',
    {
      schema: {
        tags,
        summary: 'Call the patient in (again: a recall, to the room of the call before unless another is named)',
        params: IdParams,
        headers: BreakGlassHeaders,
        body: CallPatientBody,
        response: { 200: Diagnosis, ...problems },
      },
    },
    async (request) => callPatient(context, requesterOf(request), request.params.id, request.body.room),
  );

  app.post(
    '/diagnoses/:id/no-show',
    {
      schema: {
        tags,
        summary: 'Mark the called patient as not come (the diagnosis stays open: call them again)',
        params: IdParams,
        headers: BreakGlassHeaders,
        body: EmptyBody,
        response: { 200: Diagnosis, ...problems },
      },
    },
    async (request) => markNoShow(context, requesterOf(request), request.params.id),
  );
}
