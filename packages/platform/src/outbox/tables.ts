import { sql, type Generated } from 'kysely';
import { isPostgres } from '../db/is-postgres.ts';
import type { MigrationSet } from '../db/migrate.ts';

/** The transactional outbox (events waiting for the relay) and the events the transport refused. */
export const outboxMigrations: MigrationSet = {
  owner: 'outbox',
  migrations: {
    '0001_outbox': {
      async up(db) {
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
     * The outbox on PostgreSQL, for the relay's claim (outbox.ts), and no notification
     * from inside the transactions that write it. Databases created before 0002 had a trigger
     * that called pg_notify in every transaction that wrote events, and a notifying transaction
     * holds PostgreSQL's one notification lock from its commit until its commit record is
     * flushed: the commits of every service on the server queued behind each other. The relay
     * of the replica that committed is woken in-process instead, and rows a crashed replica
     * left are found by every relay's poll. The claim looks up the oldest row of each visit it
     * takes (`message_key`), which without an index read the whole outbox once per visit.
     */
    '0002_outbox_claim': {
      async up(db) {
        if (!isPostgres(db)) return;
        await sql`drop trigger if exists outbox_inserted on outbox`.execute(db);
        await sql`drop function if exists notify_outbox()`.execute(db);
        await db.schema.createIndex('outbox_message_key_id').on('outbox').columns(['message_key', 'id']).execute();
      },
    },
    /**
     * The events the transport refused for good (outbox.ts): moved here from the
     * outbox after their retry budget, whole, so nothing of a clinical event is lost while every
     * later event of the service goes on. An operator moves a row back to the outbox once the
     * cause is fixed (the README says how).
     */
    '0003_outbox_refused': {
      async up(db) {
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
};

/** What an outbox row holds of its event: the same in `outbox` and, when refused, in `outbox_refused`. */
type OutboxMessage = {
  event_id: string;
  topic: string;
  message_key: string;
  event_type: string;
  headers: string;
  payload: string;
  created_at: string;
};

export type OutboxTables = {
  outbox: OutboxMessage & { id: Generated<number | string> };
  /** An outbox row the transport refused for good, with its original id (its place in the order). */
  outbox_refused: OutboxMessage & { id: number | string; reason: string; refused_at: string };
};
