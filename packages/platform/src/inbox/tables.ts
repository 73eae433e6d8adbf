import type { MigrationSet } from '../db/migrate.ts';

/** The inbox (ids of the events whose effect is already committed) and where the consumer resumes. */
export const inboxMigrations: MigrationSet = {
  owner: 'inbox',
  migrations: {
    '0001_inbox': {
      async up(db) {
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
     * Where the service's consumer resumes each partition (consumer.ts): the offset
     * after the last event whose effect committed, written in the effect's own transaction. The
     * broker's committed offset is then only a mark of progress: a consumer resumes from what
     * its database says it did, after a crash, a rebalance, expired group offsets or a restore.
     */
    '0002_consumer_positions': {
      async up(db) {
        await db.schema
          .createTable('consumer_positions')
          .addColumn('group_id', 'text', (c) => c.notNull())
          .addColumn('topic', 'text', (c) => c.notNull())
          .addColumn('partition', 'integer', (c) => c.notNull())
          .addColumn('next_offset', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('consumer_positions_pk', ['group_id', 'topic', 'partition'])
          .execute();
        // The purge of inbox rows past their retention (inbox-retention.ts).
        await db.schema.createIndex('inbox_processed_at').on('inbox').column('processed_at').execute();
      },
    },
  },
  sharedTableNames: { '0001_inbox': '0000_platform_outbox_inbox', '0002_consumer_positions': '0010_platform_consumer_positions' },
};

export type InboxTables = {
  consumer_positions: { group_id: string; topic: string; partition: number; next_offset: number | string; updated_at: string };
  inbox: { event_id: string; event_type: string; outcome: 'APPLIED' | 'DEAD_LETTERED'; processed_at: string };
};
