import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem, problemTypes, type ServiceContext } from '@medical/platform';
import { createSubscription } from '../app/subscriptions.ts';
import { operationOutcomeOf, searchsetOf } from '../fhir/index.ts';
import { subscriptionResourceOf } from '../fhir/subscription.ts';
import { findSubscription, subscriptionsOf, turnOff, type Subscription } from '../db/subscriptions.ts';
import type { InteropDatabase } from '../db/schema.ts';
import { fhirBaseOf, requireScope, sendFhir } from './fhir-plugin.ts';

type Context = ServiceContext<InteropDatabase>;

/** Who registered a subscription: the token's subject, the system's client. */
function ownerOf(request: FastifyRequest): string {
  return request.actor?.subject ?? 'anonymous';
}

const resourceOf = (s: Subscription) => subscriptionResourceOf(s);

/**
 * Subscription create, read, search (a system's own) and delete (turns it off). A system sees and
 * turns off only the subscriptions it registered; another's is not found.
 */
export function subscriptionRoutes(fhir: FastifyInstance, context: Context, options: { baseUrl?: string | undefined; allowedEndpoints: readonly string[] }): void {
  fhir.post('/Subscription', { schema: { hide: true } }, async (request, reply) => {
    requireScope(request, 'Subscription', 'write');
    const created = await createSubscription(context, ownerOf(request), request.body, options.allowedEndpoints);
    if (!created.ok) {
      throw new HttpProblem({
        status: 400,
        title: 'Bad Request',
        type: problemTypes.validation,
        detail: `${created.issue.expression} ${created.issue.message}`,
        extensions: { errors: [{ field: created.issue.expression, in: 'body', message: created.issue.message }] },
      });
    }
    reply.header('location', `${fhirBaseOf(request, options.baseUrl)}/Subscription/${created.subscription.id}`);
    return sendFhir(reply, resourceOf(created.subscription), 201);
  });
  fhir.get('/Subscription', { schema: { hide: true } }, async (request, reply) => {
    requireScope(request, 'Subscription', 'read');
    const base = fhirBaseOf(request, options.baseUrl);
    const mine = await subscriptionsOf(context.database.db, ownerOf(request));
    return sendFhir(reply, searchsetOf({ base, self: `${base}/Subscription`, total: mine.length, matches: mine.map(resourceOf) }));
  });
  fhir.get<{ Params: { id: string } }>('/Subscription/:id', { schema: { hide: true } }, async (request, reply) => {
    requireScope(request, 'Subscription', 'read');
    const found = await findSubscription(context.database.db, request.params.id, ownerOf(request));
    if (found === undefined) return sendFhir(reply, operationOutcomeOf('not-found', `Subscription/${request.params.id} is not known`), 404);
    return sendFhir(reply, resourceOf(found));
  });
  fhir.delete<{ Params: { id: string } }>('/Subscription/:id', { schema: { hide: true } }, async (request, reply) => {
    requireScope(request, 'Subscription', 'write');
    const turnedOff = await context.database.db.transaction().execute((trx) => turnOff(trx, request.params.id, ownerOf(request), new Date().toISOString()));
    if (!turnedOff) return sendFhir(reply, operationOutcomeOf('not-found', `Subscription/${request.params.id} is not known`), 404);
    return reply.code(204).send();
  });
}
