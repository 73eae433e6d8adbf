import { PostgresAdapter, sql, type Generated, type Kysely } from 'kysely';
import type { MigrationSet } from './migrate.ts';
import { createAuditLog, type AuditLogTable } from '../audit/audit-log.ts';

/** The few places where the two engines need different DDL ask this. */
export function isPostgres(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * The tables every service has beside its own, each feature's migrations with their owner (see
 * migrate.ts): the transactional outbox (events waiting for the relay) and the events the
 * transport refused; the inbox (ids of the events whose effect is already committed) and where
 * the consumer resumes; the counters that hand out the positive integer ids of DESIGN.md
 * section 6; the answers of commands sent with an Idempotency-Key; the traces of visits; the
 * audit trail. Each owner's names only sort among its own; `sharedTableNames` says what each
 * was called when all owners shared one table and one numbering.
 */
export const platformMigrationSets: MigrationSet[] = [
  {
    owner: 'outbox',
    migrations: {
      '0001_outbox': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('outbox')
            // Rows are deleted once published, but their ids keep growing for the system's lifetime.
            .addColumn('id', isPostgres(db) ? 'bigserial' : 'integer', (c) => (isPostgres(db) ? c.primaryKey() : c.primaryKey().autoIncrement()))
            .addColumn('event_id', 'text', (c) => c.notNull().unique())
            .addColumn('topic', 'text', (c) => c.notNull())
            .addColumn('message_key', 'text', (c) => c.notNull())
            .addColumn('event_type', 'text', (c) => c.notNull())
            .addColumn('headers', 'text', (c) => c.notNull())
            .addColumn('payload', 'text', (c) => c.notNull())
            .addColumn('created_at', 'text', (c) => c.notNull())
            .execute();
        },
      },
      /**
       * The outbox on PostgreSQL, for the relay's claim (messaging/outbox.ts), and no notification
       * from inside the transactions that write it. Databases created before 0002 had a trigger
       * that called pg_notify in every transaction that wrote events, and a notifying transaction
       * holds PostgreSQL's one notification lock from its commit until its commit record is
       * flushed: the commits of every service on the server queued behind each other. The relay
       * of the replica that committed is woken in-process instead, and rows a crashed replica
       * left are found by every relay's poll. The claim looks up the oldest row of each visit it
       * takes (`message_key`), which without an index read the whole outbox once per visit.
       */
      '0002_outbox_claim': {
        async up(db: Kysely<any>) {
          if (!isPostgres(db)) return;
          await sql`drop trigger if exists outbox_inserted on outbox`.execute(db);
          await sql`drop function if exists notify_outbox()`.execute(db);
          await db.schema.createIndex('outbox_message_key_id').on('outbox').columns(['message_key', 'id']).execute();
        },
      },
      /**
       * The events the transport refused for good (messaging/outbox.ts): moved here from the
       * outbox after their retry budget, whole, so nothing of a clinical event is lost while every
       * later event of the service goes on. An operator moves a row back to the outbox once the
       * cause is fixed (the README says how).
       */
      '0003_outbox_refused': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('outbox_refused')
            .addColumn('id', isPostgres(db) ? 'bigint' : 'integer', (c) => c.primaryKey())
            .addColumn('event_id', 'text', (c) => c.notNull())
            .addColumn('topic', 'text', (c) => c.notNull())
            .addColumn('message_key', 'text', (c) => c.notNull())
            .addColumn('event_type', 'text', (c) => c.notNull())
            .addColumn('headers', 'text', (c) => c.notNull())
            .addColumn('payload', 'text', (c) => c.notNull())
            .addColumn('created_at', 'text', (c) => c.notNull())
            .addColumn('reason', 'text', (c) => c.notNull())
            .addColumn('refused_at', 'text', (c) => c.notNull())
            .execute();
        },
      },
    },
    sharedTableNames: { '0001_outbox': '0000_platform_outbox_inbox', '0002_outbox_claim': '0008_platform_outbox_claim', '0003_outbox_refused': '0009_platform_outbox_refused' },
  },
  {
    owner: 'inbox',
    migrations: {
      '0001_inbox': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('inbox')
            .addColumn('event_id', 'text', (c) => c.primaryKey())
            .addColumn('event_type', 'text', (c) => c.notNull())
            .addColumn('outcome', 'text', (c) => c.notNull())
            .addColumn('processed_at', 'text', (c) => c.notNull())
            .execute();
        },
      },
      /**
       * Where the service's consumer resumes each partition (messaging/consumer.ts): the offset
       * after the last event whose effect committed, written in the effect's own transaction. The
       * broker's committed offset is then only a mark of progress: a consumer resumes from what
       * its database says it did, after a crash, a rebalance, expired group offsets or a restore.
       */
      '0002_consumer_positions': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('consumer_positions')
            .addColumn('group_id', 'text', (c) => c.notNull())
            .addColumn('topic', 'text', (c) => c.notNull())
            .addColumn('partition', 'integer', (c) => c.notNull())
            .addColumn('next_offset', 'bigint', (c) => c.notNull())
            .addColumn('updated_at', 'text', (c) => c.notNull())
            .addPrimaryKeyConstraint('consumer_positions_pk', ['group_id', 'topic', 'partition'])
            .execute();
          // The purge of inbox rows past their retention (messaging/inbox-retention.ts).
          await db.schema.createIndex('inbox_processed_at').on('inbox').column('processed_at').execute();
        },
      },
    },
    sharedTableNames: { '0001_inbox': '0000_platform_outbox_inbox', '0002_consumer_positions': '0010_platform_consumer_positions' },
  },
  {
    owner: 'ids',
    migrations: {
      '0001_id_sequences': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('id_sequences')
            .addColumn('name', 'text', (c) => c.primaryKey())
            .addColumn('last_value', 'bigint', (c) => c.notNull())
            .execute();
        },
      },
    },
    sharedTableNames: { '0001_id_sequences': '0000_platform_outbox_inbox' },
  },
  {
    owner: 'idempotency',
    migrations: {
      /** The answers of commands sent with an Idempotency-Key (http/idempotency.ts). */
      '0001_idempotency_keys': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('idempotency_keys')
            .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
            .addColumn('method', 'text', (c) => c.notNull())
            .addColumn('path', 'text', (c) => c.notNull())
            // sha-256 (hex) of the body's canonical JSON: see http/idempotency.ts.
            .addColumn('body_hash', 'text', (c) => c.notNull())
            // 0 only inside the transaction that claimed the key: never committed.
            .addColumn('status', 'integer', (c) => c.notNull())
            // JSON object of the stored headers (content-type, location).
            .addColumn('headers', 'text', (c) => c.notNull())
            .addColumn('body', 'text', (c) => c.notNull())
            .addColumn('created_at', 'text', (c) => c.notNull())
            .execute();
          // The periodic purge of keys past their retention.
          await db.schema.createIndex('idempotency_keys_created_at').on('idempotency_keys').column('created_at').execute();
        },
      },
    },
    sharedTableNames: { '0001_idempotency_keys': '0003_platform_idempotency_keys' },
  },
  {
    owner: 'telemetry',
    migrations: {
      /**
       * The trace of each visit this service has emitted events for (telemetry/visit-traces.ts):
       * what keeps a visit's events in one trace when a later command on it arrives in a trace of
       * its own. Rows older than the retention are purged with the idempotency keys.
       */
      '0001_visit_traces': {
        async up(db: Kysely<any>) {
          await db.schema
            .createTable('visit_traces')
            .addColumn('subject', 'text', (c) => c.primaryKey())
            .addColumn('traceparent', 'text', (c) => c.notNull())
            .addColumn('recorded_at', 'text', (c) => c.notNull())
            .execute();
          await db.schema.createIndex('visit_traces_recorded_at').on('visit_traces').column('recorded_at').execute();
        },
      },
    },
    sharedTableNames: { '0001_visit_traces': '0004_platform_visit_traces' },
  },
  {
    owner: 'audit',
    migrations: {
      /** The audit trail (audit/audit-log.ts): one row per executed command, append-only. */
      '0001_audit_log': {
        async up(db: Kysely<any>) {
          await createAuditLog(db);
        },
      },
    },
    sharedTableNames: { '0001_audit_log': '0006_platform_audit_log' },
  },
];

export type PlatformTables = {
  audit_log: AuditLogTable;
  outbox: {
    id: Generated<number | string>;
    event_id: string;
    topic: string;
    message_key: string;
    event_type: string;
    headers: string;
    payload: string;
    created_at: string;
  };
  /** An outbox row the transport refused for good, with its original id (its place in the order). */
  outbox_refused: {
    id: number | string;
    event_id: string;
    topic: string;
    message_key: string;
    event_type: string;
    headers: string;
    payload: string;
    created_at: string;
    reason: string;
    refused_at: string;
  };
  consumer_positions: { group_id: string; topic: string; partition: number; next_offset: number | string; updated_at: string };
  inbox: { event_id: string; event_type: string; outcome: 'APPLIED' | 'DEAD_LETTERED'; processed_at: string };
  id_sequences: { name: string; last_value: number | string };
  visit_traces: { subject: string; traceparent: string; recorded_at: string };
  idempotency_keys: {
    idempotency_key: string;
    method: string;
    path: string;
    body_hash: string;
    status: number;
    headers: string;
    body: string;
    created_at: string;
  };
};
