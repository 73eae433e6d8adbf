import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import {
  accessActionOf,
  accessResourcesOf,
  anonymousActor,
  matchPermission,
  MAX_ANSWERED_VISITS,
  type AccessRecord,
  type Actor,
  type AnsweredVisit,
  type Role,
} from '@medical/contracts';
import type { TransportMessage } from '../transport/transport.ts';

/**
 * One access record per API request about patient data (contracts' access-log.ts): who asked,
 * what the route named, what the answer showed. Built from the request once it is answered; the
 * routes say what they showed with `recordAnswered`, the authentication says who was refused.
 */

/**
 * What a request's answer showed, as its route said (recordAnswered), else as its body shows
 * (access-logging.ts); and the break-glass reason it was opened with (recordBreakGlass).
 */
export type AnsweredAccess = { visits?: AnsweredVisit[]; breakGlassReason?: string };

/** Who a verified token names, set before the route's roles are checked: a refused person is named too. */
export type Caller = { subject: string; name?: string; roles: readonly Role[] };

declare module 'fastify' {
  interface FastifyRequest {
    /** The visits the answer showed, and the break-glass reason they were opened with. */
    accessAnswered?: AnsweredAccess;
    /** The person the token names, once it verified (authentication). */
    caller?: Caller;
    /** The status the authentication refused the request with (401, 403), when it did. */
    refusedWith?: 401 | 403;
  }
}

/**
 * Says which visits a route's answer shows, where its body does not say it the usual way (see
 * access-logging.ts); `[]` for an answer that shows none. Called again, it adds.
 */
export function recordAnswered(request: FastifyRequest, visits: Iterable<AnsweredVisit>): void {
  const answered = (request.accessAnswered ??= {});
  const kept = (answered.visits ??= []);
  for (const visit of visits) if (kept.length < MAX_ANSWERED_VISITS) kept.push(visit);
}

/** Says the request was let through by breaking the glass, with the reason it gave. */
export function recordBreakGlass(request: FastifyRequest, reason: string): void {
  (request.accessAnswered ??= {}).breakGlassReason = reason;
}

/** Who the record names: the person in the role the route was acted in, else as the token named them, else nobody verified. */
function actorOf(request: FastifyRequest): Actor {
  if (request.actor) return request.actor;
  const caller = request.caller;
  if (!caller) return anonymousActor;
  return { subject: caller.subject, ...(caller.name !== undefined ? { name: caller.name } : {}), role: caller.roles[0] ?? 'anonymous' };
}

/**
 * The record of a request answered with `status`, or undefined for a request outside the API's
 * routes (a probe, the console's files, an unknown path): those concern no patient.
 */
export function accessRecordOf(request: FastifyRequest, status: number, service: string): AccessRecord | undefined {
  const matched = matchPermission(request.method, request.url);
  if (!matched) return undefined;
  const query = typeof request.query === 'object' && request.query !== null ? (request.query as Record<string, unknown>) : {};
  const action = accessActionOf(request.method, status);
  const answered = action === 'refused' ? undefined : request.accessAnswered;
  return {
    id: randomUUID(),
    at: new Date().toISOString(),
    service,
    actor: actorOf(request),
    action,
    method: request.method,
    route: matched.permission.path,
    status,
    resources: accessResourcesOf(matched.permission.path, matched.params, query),
    answered: answered?.visits ?? [],
    ...(answered?.breakGlassReason !== undefined ? { breakGlassReason: answered.breakGlassReason } : {}),
    requestId: String(request.id),
    ...(request.clientRequestId !== undefined ? { clientRequestId: request.clientRequestId } : {}),
  };
}

/** The outbox's and the transport's name for an access record (not a clinical event type). */
export const ACCESS_RECORD_TYPE = 'access-record';

/** The message an access record travels as: JSON, keyed by its id (no order between records is needed). */
export function accessRecordMessage(topic: string, record: AccessRecord): TransportMessage {
  return {
    id: record.id,
    topic,
    key: record.id,
    headers: { 'content-type': 'application/json', 'medical-record-type': ACCESS_RECORD_TYPE },
    value: JSON.stringify(record),
  };
}
