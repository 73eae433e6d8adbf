import { sql, type Generated, type Kysely, type Transaction } from 'kysely';
import type { FastifyRequest } from 'fastify';
import { anonymousActor, systemActor, type Actor, type CloudEvent } from '@medical/contracts';
import type {} from '../auth/request-actor.ts';
import { isPostgres, type PlatformTables } from '../db/platform-migrations.ts';

/**
 * The audit trail: one row per command a service executed, in that service's own `audit_log`,
 * written in the transaction of the command's state change and events, so a change is never
 * committed without its row nor a row without its change. Append-only: the database refuses
 * UPDATE, DELETE (and TRUNCATE on PostgreSQL) of the table (see `createAuditLog`).
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
  /** The id of the event a reaction answers. */
  causationId?: string;
};

/** How long a request id may be in the trail: it comes from a header a client can set. */
const MAX_REQUEST_ID_LENGTH = 255;

/**
 * The origin of a command sent over HTTP: the request's authenticated actor or, when the request
 * has none (authentication is not enabled), the `anonymousActor` placeholder, never a made-up person.
 */
export function requestOrigin(request: FastifyRequest): CommandOrigin {
  return { actor: request.actor ?? anonymousActor, requestId: String(request.id).slice(0, MAX_REQUEST_ID_LENGTH) };
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
  eventIds: string[];
};

/** Appends one row to the trail, in the command's transaction. */
export async function recordAudit(trx: Transaction<any>, entry: AuditEntry): Promise<void> {
  const db = trx as unknown as Transaction<PlatformTables>;
  const { actor, requestId, causationId } = entry.origin;
  await db
    .insertInto('audit_log')
    .values({
      recorded_at: entry.at ?? new Date().toISOString(),
      command: entry.command,
      aggregate_id: String(entry.aggregateId),
      reception_id: entry.receptionId ?? null,
      actor_subject: actor.subject,
      actor_name: actor.name ?? null,
      actor_role: actor.role,
      request_id: requestId ?? null,
      causation_id: causationId ?? null,
      event_ids: JSON.stringify(entry.eventIds ?? []),
    })
    .execute();
}

/** The trail, oldest first: every row, or those of one visit. */
export async function readAuditLog(db: Kysely<any>, filter: { receptionId?: number } = {}): Promise<AuditRecord[]> {
  let query = (db as Kysely<PlatformTables>).selectFrom('audit_log').selectAll();
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
    eventIds: JSON.parse(row.event_ids) as string[],
  }));
}

export type AuditLogTable = {
  id: Generated<number | string>;
  recorded_at: string;
  command: string;
  aggregate_id: string;
  reception_id: number | null;
  actor_subject: string;
  actor_name: string | null;
  actor_role: string;
  request_id: string | null;
  causation_id: string | null;
  /** JSON array of event ids. */
  event_ids: string;
};

/**
 * The table and what keeps it append-only. PostgreSQL: a statement trigger that raises on
 * UPDATE, DELETE and TRUNCATE (statement-level, so even a statement that matches no row is
 * refused). SQLite: triggers that RAISE(ABORT) on UPDATE and DELETE (SQLite has no TRUNCATE, and
 * a DELETE without WHERE runs the triggers too). They stop the application, a purge or a repair
 * by hand from rewriting history; the table's owner can still drop a trigger, so in production
 * the services' database role should not own the table (see README).
 */
export async function createAuditLog(db: Kysely<any>): Promise<void> {
  const postgres = isPostgres(db);
  await db.schema
    .createTable('audit_log')
    .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('aggregate_id', 'text', (c) => c.notNull())
    .addColumn('reception_id', 'integer')
    .addColumn('actor_subject', 'text', (c) => c.notNull())
    .addColumn('actor_name', 'text')
    .addColumn('actor_role', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('causation_id', 'text')
    .addColumn('event_ids', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_log_reception').on('audit_log').columns(['reception_id', 'id']).execute();
  if (postgres) {
    await sql`
      create function refuse_audit_log_change() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only: % refused', tg_op using errcode = 'restrict_violation';
      end $$`.execute(db);
    await sql`create trigger audit_log_append_only before update or delete or truncate on audit_log for each statement execute function refuse_audit_log_change()`.execute(db);
  } else {
    for (const operation of ['update', 'delete']) {
      await sql.raw(`create trigger audit_log_no_${operation} before ${operation} on audit_log begin select raise(abort, 'audit_log is append-only: ${operation.toUpperCase()} refused'); end`).execute(db);
    }
  }
}
