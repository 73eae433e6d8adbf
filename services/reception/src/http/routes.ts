import {
  CancelReceptionBody,
  CreateReceptionBody,
  EmptyBody,
  IdParams,
  Page,
  ProblemDetails,
  Reception,
  ReceptionQuery,
} from '@medical/contracts';
import { notFound, requestOrigin, type App, type ServiceContext } from '@medical/platform';
import { cancelReception, confirmReception, registerReception } from '../app/commands.ts';
import { listReceptions, loadReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

const problems = { 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['receptions'];

export function receptionRoutes(app: App, context: ServiceContext<ReceptionDatabase>): void {
  const db = context.database.db;

  app.post(
    '/receptions',
    { schema: { tags, summary: 'Register a visit', body: CreateReceptionBody, response: { 201: Reception, ...problems } } },
    async (request, reply) => {
      const reception = await registerReception(context, requestOrigin(request), request.body);
      return reply.code(201).header('location', `/receptions/${reception.id}`).send(reception);
    },
  );

  app.get(
    '/receptions',
    { schema: { tags, summary: 'List receptions', querystring: ReceptionQuery, response: { 200: Page(Reception), 400: ProblemDetails } } },
    async (request) => listReceptions(db, request.query),
  );

  app.get(
    '/receptions/:id',
    { schema: { tags, summary: 'One reception', params: IdParams, response: { 200: Reception, ...problems } } },
    async (request) => {
      const reception = await loadReception(db, request.params.id);
      if (!reception) throw notFound('reception', request.params.id);
      return reception;
    },
  );

  app.post(
    '/receptions/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel a reception that is still waiting',
        params: IdParams,
        body: CancelReceptionBody,
        response: { 200: Reception, ...problems },
      },
    },
    async (request) => cancelReception(context, requestOrigin(request), request.params.id, request.body?.reason),
  );

  app.post(
    '/receptions/:id/confirm',
    {
      schema: {
        tags,
        summary: "Confirm the doctor's outcome",
        params: IdParams,
        body: EmptyBody,
        response: { 200: Reception, ...problems },
      },
    },
    async (request) => confirmReception(context, requestOrigin(request), request.params.id),
  );
}
