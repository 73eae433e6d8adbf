import type { Generated, Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Tables every service has beside its own: the transactional outbox (events waiting for the
 * relay) and the inbox (ids of the events whose effect is already committed).
 */
export const platformMigrations: Record<string, Migration> = {
  '0000_platform_outbox_inbox': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('outbox')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('message_key', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('inbox')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('processed_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

export type PlatformTables = {
  outbox: {
    id: Generated<number>;
    event_id: string;
    topic: string;
    message_key: string;
    event_type: string;
    headers: string;
    payload: string;
    created_at: string;
  };
  inbox: { event_id: string; event_type: string; outcome: 'APPLIED' | 'DEAD_LETTERED'; processed_at: string };
};
