import { sql, type Generated } from 'kysely';
import type { MigrationDb } from '../db/database.ts';
import { isPostgres } from '../db/is-postgres.ts';
import type { MigrationSet } from '../db/migrate.ts';
import { auditChainFields, type ChainedAuditColumns } from './chained-fields.ts';
import { CHAIN_GENESIS, chainHash } from './hash-chain.ts';

export type AuditLogTable = ChainedAuditColumns & {
  id: Generated<number | string>;
  /** The hash of the row before it, and its own (hash-chain.ts; migration 0003). Null only on a row written around the service. */
  prev_hash: string | null;
  hash: string | null;
};

/**
 * The table and what keeps it append-only. PostgreSQL: a statement trigger that raises on
 * UPDATE, DELETE and TRUNCATE (statement-level, so even a statement that matches no row is
 * refused). SQLite: triggers that RAISE(ABORT) on UPDATE and DELETE (SQLite has no TRUNCATE, and
 * a DELETE without WHERE runs the triggers too). They stop the application, a purge or a repair
 * by hand from rewriting history; the table's owner can still drop a trigger, so in production
 * the services' database role should not own the table (see README).
 */
export async function createAuditLog(db: MigrationDb): Promise<void> {
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

export type AuditTables = { audit_log: AuditLogTable };

/** Chains the rows written before the chain, oldest first, with the triggers set aside meanwhile. */
async function chainExistingRows(db: MigrationDb): Promise<void> {
  const rows = (await sql<AuditLogTable>`select * from audit_log order by id`.execute(db)).rows;
  if (rows.length === 0) return;
  await withoutAppendOnly(db, async () => {
    let previous = CHAIN_GENESIS;
    for (const row of rows) {
      const hash = chainHash(previous, auditChainFields({ ...row, client_request_id: null }));
      await sql`update audit_log set prev_hash = ${previous}, hash = ${hash} where id = ${row.id}`.execute(db);
      previous = hash;
    }
  });
}

/** Runs `work` with the audit trail's append-only triggers set aside, and puts them back. */
async function withoutAppendOnly(db: MigrationDb, work: () => Promise<void>): Promise<void> {
  if (isPostgres(db)) {
    await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db);
    await work();
    await sql`alter table audit_log enable trigger audit_log_append_only`.execute(db);
    return;
  }
  await sql`drop trigger audit_log_no_update`.execute(db);
  await work();
  await sql.raw(`create trigger audit_log_no_update before update on audit_log begin select raise(abort, 'audit_log is append-only: UPDATE refused'); end`).execute(db);
}

export const auditMigrations: MigrationSet = {
  owner: 'audit',
  migrations: {
    /** The audit trail (audit/audit-log.ts): one row per executed command, append-only. */
    '0001_audit_log': {
      async up(db) {
        await createAuditLog(db);
      },
    },
    /**
     * The reason of a break-glass access (CommandOrigin.breakGlassReason). Only adds a nullable
     * column: the rows before it, and the version before it, which does not write it, stay valid.
     * ALTER TABLE is no UPDATE: the append-only triggers let it pass.
     */
    '0002_break_glass_reason': {
      async up(db) {
        await db.schema.alterTable('audit_log').addColumn('break_glass_reason', 'text').execute();
      },
    },
    /**
     * The hash chain (hash-chain.ts) and the client's request id. The rows already there are
     * chained in id order here, the one time the append-only triggers are set aside (by the
     * migration, which runs as the table's owner, inside its transaction on PostgreSQL).
     */
    '0003_hash_chain': {
      async up(db) {
        for (const column of ['client_request_id', 'prev_hash', 'hash']) await db.schema.alterTable('audit_log').addColumn(column, 'text').execute();
        await chainExistingRows(db);
      },
    },
  },
  sharedTableNames: { '0001_audit_log': '0006_platform_audit_log' },
};
