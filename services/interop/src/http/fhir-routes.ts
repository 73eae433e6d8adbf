import type { FastifyInstance, FastifyRequest } from 'fastify';
import { endOfHospitalDay, fhirOutcomes, HttpProblem, problemTypes, recordAnswered, startOfHospitalDay, type App, type ServiceContext } from '@medical/platform';
import { readableTypes, readResource, searchResources } from '../app/fhir-reads.ts';
import { capabilityStatementOf, operationOutcomeOf } from '../fhir/index.ts';
import { parseSearch, searchableTypes, type SearchableType } from '../fhir/search.ts';
import type { InteropDatabase } from '../db/schema.ts';
import { fhirBaseOf, fhirConventions, requireScope, sendFhir } from './fhir-plugin.ts';
import { subscriptionRoutes } from './subscription-routes.ts';

type Context = ServiceContext<InteropDatabase>;

/** The day the CapabilityStatement says the API last changed: this release's. */
const CAPABILITY_DATE = '2026-12-07';

/**
 * FHIR R4 at /fhir/R4: the CapabilityStatement, each resource by its id, and the searches of
 * fhir/search.ts, and the subscriptions, in a scope of their own (fhirConventions: FHIR's media type, OperationOutcome
 * errors). Every read says which visits it showed, for the access log.
 */
export async function fhirRoutes(app: App, context: Context, options: { baseUrl?: string | undefined; allowedEndpoints: readonly string[] }): Promise<void> {
  await app.register(fhirOutcomes, { prefix: '/fhir/' });
  await app.register(
    async (fhir: FastifyInstance) => {
      fhirConventions(fhir);
      fhir.get('/metadata', { schema: { hide: true } }, async (request, reply) =>
        sendFhir(reply, capabilityStatementOf({ baseUrl: fhirBaseOf(request, options.baseUrl), date: CAPABILITY_DATE })),
      );
      for (const type of readableTypes) {
        fhir.get<{ Params: { id: string } }>(`/${type}/:id`, { schema: { hide: true } }, async (request, reply) => {
          requireScope(request, type, 'read');
          const found = await readResource(context, type, request.params.id);
          if (found === undefined) {
            return sendFhir(reply, operationOutcomeOf('not-found', `${type}/${request.params.id} is not known`), 404);
          }
          recordAnswered(request, found.visits);
          return sendFhir(reply, found.body);
        });
      }
      for (const type of searchableTypes) {
        fhir.get(`/${type}`, { schema: { hide: true } }, async (request, reply) => {
          requireScope(request, type, 'read');
          const bundle = await search(context, request, type, fhirBaseOf(request, options.baseUrl));
          recordAnswered(request, bundle.visits);
          return sendFhir(reply, bundle.body);
        });
      }
      subscriptionRoutes(fhir, context, options);
    },
    { prefix: '/fhir/R4' },
  );
}

async function search(context: Context, request: FastifyRequest, type: SearchableType, base: string) {
  const query = new URL(request.url, 'http://fhir.invalid').searchParams;
  const parsed = parseSearch(type, query, { dayBounds: (day) => ({ start: startOfHospitalDay(day, context.config.timeZone), end: endOfHospitalDay(day, context.config.timeZone) }) }, { paging: true });
  if (!parsed.ok) {
    throw new HttpProblem({
      status: 400,
      title: 'Bad Request',
      type: problemTypes.validation,
      detail: `${parsed.issue.parameter}: ${parsed.issue.message}`,
      extensions: { errors: [{ field: parsed.issue.parameter, in: 'query', message: parsed.issue.message }] },
    });
  }
  const linkTo = (page: number) => {
    const params = new URLSearchParams([...query].filter(([name]) => name !== '_page' && name !== '_count'));
    params.set('_count', String(parsed.search.count));
    params.set('_page', String(page));
    return `${base}/${type}?${params.toString()}`;
  };
  return searchResources(context, parsed.search, { base, self: linkTo(parsed.search.page), next: linkTo(parsed.search.page + 1) });
}
