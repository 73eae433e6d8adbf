import { parseSearch, searchableTypes, type SearchableType, type SearchContext, type SearchFilter } from './search.ts';
import type { Resource } from './resources.ts';

/**
 * R4 Subscriptions with the rest-hook channel: what a system may register, read strictly, and the
 * resource this server answers for one. The criteria are a search of this server's (fhir/search.ts),
 * matched against each changed resource with the same parsed filters the searches use.
 */

export type SubscriptionStatus = 'requested' | 'active' | 'error' | 'off';

export type SubscriptionResource = Resource & {
  resourceType: 'Subscription';
  status: SubscriptionStatus;
  reason: string;
  criteria: string;
  error?: string;
  channel: { type: 'rest-hook'; endpoint: string; payload?: string; header?: string[] };
};

/** A subscription as registered: its criteria parsed, its channel checked. */
export type NewSubscription = {
  reason: string;
  criteria: string;
  endpoint: string;
  payload?: string;
  headers: string[];
};

export type Criteria = { type: SearchableType; filters: SearchFilter[] };

/** The payloads a notification may carry: the resource as FHIR JSON, or nothing (the subscriber reads it). */
const PAYLOADS = ['application/fhir+json', 'application/json'];
const MAX_REASON = 500;
const MAX_HEADERS = 10;
const HEADER = /^[A-Za-z0-9-]{1,64}: ?[\x20-\x7e]{1,4096}$/;
/** Headers a subscriber may not set: they are the transport's, not the notification's. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection']);

export type SubscriptionIssue = { expression: string; message: string };

export function parseCriteria(criteria: string, context: SearchContext): { ok: true; criteria: Criteria } | { ok: false; issue: SubscriptionIssue } {
  const [type, query = '', ...rest] = criteria.split('?');
  if (rest.length > 0 || !(searchableTypes as readonly string[]).includes(type!)) {
    return { ok: false, issue: { expression: 'Subscription.criteria', message: `must be a search of ${searchableTypes.join(', ')}, such as Encounter?status=finished` } };
  }
  const parsed = parseSearch(type as SearchableType, new URLSearchParams(query), context, { paging: false });
  if (!parsed.ok) return { ok: false, issue: { expression: 'Subscription.criteria', message: `${parsed.issue.parameter}: ${parsed.issue.message}` } };
  return { ok: true, criteria: { type: type as SearchableType, filters: parsed.search.filters } };
}

/**
 * A Subscription resource a system sent, read strictly: rest-hook only, to an endpoint under one of
 * the prefixes the operator allows (SUBSCRIPTION_ENDPOINT_PREFIXES), since a notification carries
 * patient data to wherever the endpoint points.
 */
export function parseSubscription(body: unknown, options: { allowedEndpoints: readonly string[]; search: SearchContext }): { ok: true; subscription: NewSubscription; criteria: Criteria } | { ok: false; issue: SubscriptionIssue } {
  const fail = (expression: string, message: string) => ({ ok: false as const, issue: { expression, message } });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('Subscription', 'the body must be a Subscription resource');
  const s = body as Record<string, unknown>;
  if (s.resourceType !== 'Subscription') return fail('Subscription.resourceType', 'must be Subscription');
  if (s.status !== 'requested' && s.status !== 'active') return fail('Subscription.status', 'must be requested (or active)');
  if (s.end !== undefined) return fail('Subscription.end', 'is not supported: a subscription lasts until it is deleted');
  if (typeof s.reason !== 'string' || s.reason.trim() === '' || s.reason.length > MAX_REASON) return fail('Subscription.reason', `must be text of 1 to ${MAX_REASON} characters`);
  if (typeof s.criteria !== 'string' || s.criteria.length > 1000) return fail('Subscription.criteria', 'must be a search, such as Encounter?status=finished');
  const criteria = parseCriteria(s.criteria, options.search);
  if (!criteria.ok) return criteria;
  const channel = s.channel as Record<string, unknown> | undefined;
  if (channel === null || typeof channel !== 'object') return fail('Subscription.channel', 'is required');
  if (channel.type !== 'rest-hook') return fail('Subscription.channel.type', 'must be rest-hook');
  const endpoint = endpointOf(channel.endpoint, options.allowedEndpoints);
  if (typeof endpoint !== 'string') return fail('Subscription.channel.endpoint', endpoint.message);
  if (channel.payload !== undefined && !(typeof channel.payload === 'string' && PAYLOADS.includes(channel.payload))) {
    return fail('Subscription.channel.payload', `must be ${PAYLOADS.join(' or ')}, or absent for a notification without the resource`);
  }
  const headers = channel.header ?? [];
  if (!Array.isArray(headers) || headers.length > MAX_HEADERS || !headers.every((h) => typeof h === 'string' && HEADER.test(h))) {
    return fail('Subscription.channel.header', `must be at most ${MAX_HEADERS} headers, each "Name: value"`);
  }
  const reserved = (headers as string[]).find((h) => RESERVED_HEADERS.has(h.split(':')[0]!.toLowerCase()));
  if (reserved !== undefined) return fail('Subscription.channel.header', `may not set ${reserved.split(':')[0]}`);
  const subscription: NewSubscription = { reason: s.reason.trim(), criteria: s.criteria, endpoint, headers: headers as string[] };
  if (typeof channel.payload === 'string') subscription.payload = channel.payload;
  return { ok: true, subscription, criteria: criteria.criteria };
}

function endpointOf(value: unknown, allowed: readonly string[]): string | { message: string } {
  if (typeof value !== 'string' || value.length > 2000) return { message: 'must be an http(s) URL' };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { message: 'must be an http(s) URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { message: 'must be an http(s) URL' };
  if (url.username !== '' || url.password !== '') return { message: 'must not carry credentials (use a header)' };
  if (!allowed.some((prefix) => url.href.startsWith(prefix))) {
    return { message: `is not among the endpoints this hospital allows (SUBSCRIPTION_ENDPOINT_PREFIXES: ${allowed.join(', ') || 'none'})` };
  }
  return url.href;
}

/**
 * A subscription as this server answers it. The values of the channel's headers are not shown
 * again: they are the subscriber's secrets (an Authorization for its endpoint), kept to be sent,
 * not to be read back by whoever holds a token later.
 */
export function subscriptionResourceOf(row: { id: string; status: SubscriptionStatus; reason: string; criteria: string; endpoint: string; payload: string | null; headers: string[]; error: string | null; updatedAt: string }): SubscriptionResource {
  const channel: SubscriptionResource['channel'] = { type: 'rest-hook', endpoint: row.endpoint };
  if (row.payload !== null) channel.payload = row.payload;
  if (row.headers.length > 0) channel.header = row.headers.map((h) => `${h.split(':')[0]}: (kept, not shown)`);
  const resource: SubscriptionResource = { resourceType: 'Subscription', id: row.id, meta: { lastUpdated: row.updatedAt }, status: row.status, reason: row.reason, criteria: row.criteria, channel };
  if (row.error !== null) resource.error = row.error;
  return resource;
}
