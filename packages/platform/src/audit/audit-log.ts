import type { Kysely, Transaction } from 'kysely';
import type { FastifyRequest } from 'fastify';
import { anonymousActor, systemActor, type Actor, type CloudEvent } from '@medical/contracts';
import type {} from '../auth/request-actor.ts';
import { auditChainFields, type ChainedAuditColumns } from './chained-fields.ts';
import { chainHash, lockChainTail } from './hash-chain.ts';
import type { AuditTables } from './tables.ts';

/**
 * The audit trail: one row per command a service executed, in that service's own `audit_log`,
 * written in the transaction of the command's state change and events, so a change is never
 * committed without its row nor a row without its change. Append-only: the database refuses
 * UPDATE, DELETE (and TRUNCATE on PostgreSQL) of the table (see `createAuditLog` in tables.ts),
 * and each row is linked to the one before it by a hash (hash-chain.ts), so a change made around
 * the service shows (`npm run audit:verify`).
 */

/**
 * Why a command runs and on whose behalf: a person's request (the actor the authentication set
 * on the request, and the request id the gateway forwards as x-request-id) or the service itself
 * reacting to an event (its system actor and the id of the event that caused it).
 */
export type CommandOrigin = {
  actor: Actor;
  /** The HTTP request's id (Fastify's request.id, the gateway's x-request-id). */
  requestId?: string;
  /** The X-Request-Id the client sent, kept beside the gateway's own. */
  clientRequestId?: string;
  /** The id of the event a reaction answers. */
  causationId?: string;
  /**
   * Set when a person acted outside their own scope in an emergency ("breaking the glass": a
   * doctor on a diagnosis of another department): the reason they gave, kept on the audit row so
   * the privacy officer can review each such access. Never set for an access within scope.
   */
  breakGlassReason?: string;
};

/** How long a request id may be in the trail: it comes from a header a client can set. */
const MAX_REQUEST_ID_LENGTH = 255;

/**
 * The origin of a command sent over HTTP: the request's authenticated actor or, when the request
 * has none (authentication is not enabled), the `anonymousActor` placeholder, never a made-up person.
 */
export function requestOrigin(request: FastifyRequest): CommandOrigin {
  return {
    actor: request.actor ?? anonymousActor,
    requestId: String(request.id).slice(0, MAX_REQUEST_ID_LENGTH),
    ...(request.clientRequestId !== undefined ? { clientRequestId: request.clientRequestId } : {}),
  };
}

/** The origin of what `service` does by itself in reaction to `event` (a compensation, an automatic step). */
export function reactionOrigin(service: string, event: Pick<CloudEvent, 'id'>): CommandOrigin {
  return { actor: systemActor(service), causationId: event.id };
}

/** One executed command as the trail keeps it. */
export type AuditEntry = {
  origin: CommandOrigin;
  /** `<service>.<command>`: reception.cancel, diagnosis.prescribe, examination.compensate, ... */
  command: string;
  /** The id of the aggregate the command changed (a reception, a diagnosis, an examination). */
  aggregateId: number | string;
  /** The visit it belongs to. */
  receptionId?: number;
  /** The ids of the events the command emitted: the link to the visit's timeline. */
  eventIds?: readonly string[];
  /** When: now, unless given. */
  at?: string;
};

export type AuditRecord = {
  id: number;
  at: string;
  command: string;
  aggregateId: string;
  receptionId?: number;
  actor: Actor;
  requestId?: string;
  causationId?: string;
  breakGlassReason?: string;
  eventIds: string[];
  clientRequestId?: string;
};

/** Appends one row to the trail, in the command's transaction, linked to the row before it (hash-chain.ts). */
export async function recordAudit(trx: Transaction<AuditTables>, entry: AuditEntry): Promise<void> {
  const { actor, requestId, clientRequestId, causationId, breakGlassReason } = entry.origin;
  const row: ChainedAuditColumns = {
    recorded_at: entry.at ?? new Date().toISOString(),
    command: entry.command,
    aggregate_id: String(entry.aggregateId),
    reception_id: entry.receptionId ?? null,
    actor_subject: actor.subject,
    actor_name: actor.name ?? null,
    actor_role: actor.role,
    request_id: requestId ?? null,
    client_request_id: clientRequestId ?? null,
    causation_id: causationId ?? null,
    break_glass_reason: breakGlassReason ?? null,
    event_ids: JSON.stringify(entry.eventIds ?? []),
  };
  const prevHash = await lockChainTail(trx, 'audit_log');
  await trx
    .insertInto('audit_log')
    .values({ ...row, prev_hash: prevHash, hash: chainHash(prevHash, auditChainFields(row)) })
    .execute();
}

/** The trail, oldest first: every row, or those of one visit. */
export async function readAuditLog(db: Kysely<AuditTables>, filter: { receptionId?: number } = {}): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (filter.receptionId !== undefined) query = query.where('reception_id', '=', filter.receptionId);
  const rows = await query.orderBy('id').execute();
  return rows.map((row) => ({
    id: Number(row.id),
    at: row.recorded_at,
    command: row.command,
    aggregateId: row.aggregate_id,
    ...(row.reception_id !== null ? { receptionId: Number(row.reception_id) } : {}),
    actor: { subject: row.actor_subject, ...(row.actor_name !== null ? { name: row.actor_name } : {}), role: row.actor_role as Actor['role'] },
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
    ...(row.causation_id !== null ? { causationId: row.causation_id } : {}),
    ...(row.break_glass_reason !== null ? { breakGlassReason: row.break_glass_reason } : {}),
    eventIds: JSON.parse(row.event_ids) as string[],
    ...(row.client_request_id !== null ? { clientRequestId: row.client_request_id } : {}),
  }));
}
