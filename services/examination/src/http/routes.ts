import {
  CallPatientBody,
  CancelExaminationBody,
  EmptyBody,
  Examination,
  ExaminationQuery,
  IdParams,
  Page,
  PerformExaminationBody,
  ProblemDetails,
} from '@medical/contracts';
import { notFound, requestOrigin, type App, type ServiceContext } from '@medical/platform';
import { loadAttachmentSettings, type AttachmentSettings } from '../attachments/settings.ts';
import { attachmentRoutes } from './attachments.ts';
import { callPatient, cancelExamination, markNoShow, performExamination } from '../app/commands.ts';
import { listExaminations, loadExamination } from '../db/repository.ts';
import type { ExaminationDatabase } from '../db/schema.ts';

const problems = { 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['examinations'];

/**
 * The examiners' API. The attachment settings are read from the process's environment at start
 * (ATTACHMENTS_DIR, ATTACHMENT_MAX_BYTES); a test passes its own.
 */
export async function examinationRoutes(
  app: App,
  context: ServiceContext<ExaminationDatabase>,
  attachments: AttachmentSettings = loadAttachmentSettings(process.env, context.config.dataDir),
): Promise<void> {
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
    async (request) => performExamination(context, requestOrigin(request), request.params.id, request.body.result),
  );

  app.post(
    '/examinations/:id/cancel',
    { schema: { tags, summary: 'Cancel a pending examination', params: IdParams, body: CancelExaminationBody, response: { 200: Examination, ...problems } } },
    async (request) => cancelExamination(context, requestOrigin(request), request.params.id, request.body.reason),
  );

  waitingRoomRoutes(app, context);
  await attachmentRoutes(app, context, attachments);
}

/** The examiners' calls of the patient, in the waiting room of the department that performs the examination. */
function waitingRoomRoutes(app: App, context: ServiceContext<ExaminationDatabase>): void {
  app.post(
    '/examinations/:id/call',
    {
      schema: {
        tags,
        summary: 'Call the patient of a pending examination in (again: a recall, to the room of the call before unless another is named)',
        params: IdParams,
        body: CallPatientBody,
        response: { 200: Examination, ...problems },
      },
    },
    async (request) => callPatient(context, requestOrigin(request), request.params.id, request.body.room),
  );

  app.post(
    '/examinations/:id/no-show',
    {
      schema: {
        tags,
        summary: 'Mark the called patient as not come (the examination stays pending: call them again)',
        params: IdParams,
        body: EmptyBody,
        response: { 200: Examination, ...problems },
      },
    },
    async (request) => markNoShow(context, requestOrigin(request), request.params.id),
  );
}
