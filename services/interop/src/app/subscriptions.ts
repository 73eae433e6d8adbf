import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { endOfHospitalDay, startOfHospitalDay, type ServiceContext } from '@medical/platform';
import { encounterOf, resultOf, serviceRequestOf, taskOf, type CatalogNames, type Resource } from '../fhir/index.ts';
import { matchesFilters, searchValuesOf, type SearchContext, type SearchValues } from '../fhir/search.ts';
import { parseCriteria, parseSubscription, type Criteria, type SubscriptionIssue } from '../fhir/subscription.ts';
import { enqueueDelivery, type Delivery } from '../db/deliveries.ts';
import type { InteropDatabase } from '../db/schema.ts';
import { insertSubscription, liveSubscriptions, setSubscriptionHealth, subscriptionById, type Subscription } from '../db/subscriptions.ts';
import type { Channel, DeliveryOutcome } from './delivery-worker.ts';
import { recordDisclosure } from './disclosures.ts';
import type { ChangeFollower, ProjectedChange } from './projection.ts';

type Context = ServiceContext<InteropDatabase>;

const DESTINATION_PREFIX = 'subscription:';
/** A subscriber's endpoint that has not answered in this long has not taken the notification. */
const NOTIFICATION_TIMEOUT_MS = 10_000;

export function searchContextOf(context: Context): SearchContext {
  const zone = context.config.timeZone;
  return { dayBounds: (day) => ({ start: startOfHospitalDay(day, zone), end: endOfHospitalDay(day, zone) }) };
}

/** Registers a subscription for `owner`, active at once; its notifications start with the next change. */
export async function createSubscription(context: Context, owner: string, body: unknown, allowedEndpoints: readonly string[]): Promise<{ ok: true; subscription: Subscription } | { ok: false; issue: SubscriptionIssue }> {
  const parsed = parseSubscription(body, { allowedEndpoints, search: searchContextOf(context) });
  if (!parsed.ok) return parsed;
  const subscription = await insertSubscription(context.database.db, randomUUID(), owner, parsed.subscription, new Date().toISOString());
  return { ok: true, subscription };
}

/** A changed resource with the values its subscriptions' criteria are matched against. */
type Changed = { resource: Resource; values: SearchValues; type: Criteria['type']; visit: { receptionId: number; patientId: string } };

function changedResources(change: ProjectedChange, catalog: CatalogNames): Changed[] {
  const changed: Changed[] = [];
  const visitOf = (record: { receptionId: number; patientId: string }) => ({ receptionId: record.receptionId, patientId: record.patientId });
  if (change.encounter) changed.push({ type: 'Encounter', resource: encounterOf(change.encounter, catalog), values: searchValuesOf.Encounter(change.encounter), visit: visitOf(change.encounter) });
  for (const request of change.requests) changed.push({ type: 'ServiceRequest', resource: serviceRequestOf(request, catalog), values: searchValuesOf.ServiceRequest(request), visit: visitOf(request) });
  for (const task of change.tasks) {
    changed.push({ type: 'Task', resource: taskOf(task, catalog), values: searchValuesOf.Task(task), visit: visitOf(task) });
    const result = resultOf(task, catalog);
    if (result) changed.push({ type: 'DiagnosticReport', resource: result.report, values: searchValuesOf.DiagnosticReport(task), visit: visitOf(task) });
  }
  return changed;
}

/**
 * Queues a notification for each live subscription whose criteria a changed resource matches, in
 * the transaction of the event that changed it: a subscriber down for an hour finds them all
 * queued, in order, when it returns. The resource is the one of this change, not of the moment
 * it is sent.
 */
export function notifySubscribers(context: Context, wake: () => void): ChangeFollower {
  const parsedCriteria = new Map<string, Criteria | undefined>();
  const criteriaOf = (text: string) => {
    if (!parsedCriteria.has(text)) {
      const parsed = parseCriteria(text, searchContextOf(context));
      parsedCriteria.set(text, parsed.ok ? parsed.criteria : undefined);
    }
    return parsedCriteria.get(text);
  };
  return async (trx: Transaction<InteropDatabase>, change: ProjectedChange) => {
    const changed = changedResources(change, context.config.catalog);
    if (changed.length === 0) return;
    const subscriptions = await liveSubscriptions(trx);
    const now = new Date().toISOString();
    let queued = false;
    for (const subscription of subscriptions) {
      const criteria = criteriaOf(subscription.criteria);
      if (criteria === undefined) continue;
      for (const { resource, values, type, visit } of changed) {
        if (type !== criteria.type || !matchesFilters(values, criteria.filters)) continue;
        const body = subscription.payload === null ? '' : JSON.stringify(resource);
        await enqueueDelivery(trx, { destination: `${DESTINATION_PREFIX}${subscription.id}`, body, contentType: subscription.payload ?? 'application/fhir+json', about: `${resource.resourceType}/${resource.id}`, visit }, now);
        queued = true;
      }
    }
    if (queued) context.afterCommit(trx, wake);
  };
}

/** The rest-hook channel: each notification POSTed to its subscription's endpoint, with its headers. */
export function restHookChannel(context: Context): Channel {
  const db = context.database.db;
  const subscriptionOf = (delivery: Delivery) => subscriptionById(db, delivery.destination.slice(DESTINATION_PREFIX.length));
  return {
    name: 'subscription',
    owns: (destination) => destination.startsWith(DESTINATION_PREFIX),
    async send(delivery): Promise<DeliveryOutcome> {
      const subscription = await subscriptionOf(delivery);
      // Turned off since it was queued: nobody wants it any more.
      if (subscription === undefined || subscription.status === 'off') return { kind: 'delivered' };
      const headers = new Headers();
      for (const header of subscription.headers) {
        const at = header.indexOf(':');
        headers.set(header.slice(0, at).trim(), header.slice(at + 1).trim());
      }
      // After the subscriber's own: the id a receiver tells a notification sent again by is ours.
      headers.set('x-delivery-id', String(delivery.id));
      if (delivery.body !== '') headers.set('content-type', delivery.content_type);
      try {
        const response = await fetch(subscription.endpoint, { method: 'POST', headers, body: delivery.body === '' ? null : delivery.body, redirect: 'manual', signal: AbortSignal.timeout(NOTIFICATION_TIMEOUT_MS) });
        await response.body?.cancel();
        return response.ok ? { kind: 'delivered' } : { kind: 'retry', error: `the endpoint answered ${response.status}` };
      } catch (error) {
        return { kind: 'retry', error: `the endpoint could not be reached (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message})` };
      }
    },
    async after(delivery, outcome) {
      const id = delivery.destination.slice(DESTINATION_PREFIX.length);
      await setSubscriptionHealth(db, id, outcome.kind === 'delivered' ? null : outcome.error, new Date().toISOString());
      // A notification without the resource names it only: nothing of the patient went out.
      if (outcome.kind !== 'delivered' || delivery.body === '') return;
      const subscription = await subscriptionOf(delivery);
      if (subscription === undefined) return;
      const recipient = { subject: subscription.owner, role: 'integration' as const };
      await recordDisclosure(context, delivery, { recipient, method: 'POST', route: '/fhir/R4/Subscription/:id/notification' });
    },
  };
}
