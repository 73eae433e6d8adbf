import type { ChainedFields, ChainRow } from './hash-chain.ts';

/** The columns of an audit row that its hash covers (every one but the id and the links: tables.ts). */
export type ChainedAuditColumns = {
  recorded_at: string;
  command: string;
  aggregate_id: string;
  reception_id: number | null;
  actor_subject: string;
  actor_name: string | null;
  actor_role: string;
  request_id: string | null;
  /** The client's X-Request-Id beside the gateway's `request_id` (migration 0003). */
  client_request_id: string | null;
  causation_id: string | null;
  /** The reason of an access outside the actor's scope (break-glass); null for every other command (migration 0002). */
  break_glass_reason: string | null;
  /** JSON array of event ids. */
  event_ids: string;
};

/** A row's fields as its hash covers them: every column but the id and the links, in one fixed order. */
export function auditChainFields(row: ChainedAuditColumns): ChainedFields {
  return [
    row.recorded_at,
    row.command,
    row.aggregate_id,
    row.reception_id === null ? null : Number(row.reception_id),
    row.actor_subject,
    row.actor_name,
    row.actor_role,
    row.request_id,
    row.client_request_id,
    row.causation_id,
    row.break_glass_reason,
    row.event_ids,
  ];
}


/** An audit row as the chain's verifier reads it (any client's row: ids may come as text). */
export function auditChainRow(row: ChainedAuditColumns & { id: number | string; prev_hash: string | null; hash: string | null }): ChainRow {
  return { id: String(row.id), prevHash: row.prev_hash, hash: row.hash, fields: auditChainFields(row) };
}
