import {
  CancelReceptionBody,
  CreateReceptionBody,
  EmptyBody,
  IdParams,
  Page,
  ProblemDetails,
  Reception,
  ReceptionQuery,
  receptionSeenBy,
  type ReceptionView,
} from '@medical/contracts';
import { grantedRoles, notFound, requestOrigin, type App, type ServiceContext } from '@medical/platform';
import { cancelReception, confirmReception, registerReception } from '../app/commands.ts';
import { listReceptions, loadReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';
import { loadRegistrySettings, type RegistrySettings } from '../registry-settings.ts';

const problems = { 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails };
const tags = ['receptions'];

/** Every answer's reception as the caller may see it: the desk sees the doctor's outcome, not the opinion (contracts' receptionSeenBy). */
const seenBy = (request: Parameters<typeof grantedRoles>[0]) => (reception: ReceptionView) => receptionSeenBy(grantedRoles(request), reception);

export function receptionRoutes(app: App, context: ServiceContext<ReceptionDatabase>, settings: RegistrySettings = loadRegistrySettings(process.env)): void {
  const db = context.database.db;

  app.post(
    '/receptions',
    { schema: { tags, summary: 'Register a visit', body: CreateReceptionBody, response: { 201: Reception, ...problems } } },
    async (request, reply) => {
      const reception = await registerReception(context, requestOrigin(request), request.body, settings);
      return reply.code(201).header('location', `/receptions/${reception.id}`).send(seenBy(request)(reception));
    },
  );

  app.get(
    '/receptions',
    { schema: { tags, summary: 'List receptions', querystring: ReceptionQuery, response: { 200: Page(Reception), 400: ProblemDetails } } },
    async (request) => {
      const page = await listReceptions(db, request.query);
      return { ...page, items: page.items.map(seenBy(request)) };
    },
  );

  app.get(
    '/receptions/:id',
    { schema: { tags, summary: 'One reception', params: IdParams, response: { 200: Reception, ...problems } } },
    async (request) => {
      const reception = await loadReception(db, request.params.id);
      if (!reception) throw notFound('reception', request.params.id);
      return seenBy(request)(reception);
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
    async (request) => seenBy(request)(await cancelReception(context, requestOrigin(request), request.params.id, request.body?.reason)),
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
    async (request) => seenBy(request)(await confirmReception(context, requestOrigin(request), request.params.id)),
  );
}
