import { sql } from 'kysely';
import { isPostgres, makeAppendOnly, type MigrationDb, type Migrations } from '@medical/platform';
import { chainKeptRecords } from './access-log.ts';

export const migrations: Migrations = {
  '0001_visits': {
    async up(db) {
      await db.schema
        .createTable('visits')
        .addColumn('reception_id', 'integer', (c) => c.primaryKey())
        .addColumn('patient_id', 'text', (c) => c.notNull())
        .addColumn('patient_name', 'text', (c) => c.notNull())
        .addColumn('reception_status', 'text', (c) => c.notNull())
        .addColumn('diagnosis_id', 'integer')
        .addColumn('diagnosis_status', 'text')
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('examinations', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('visits_patient').on('visits').columns(['patient_id', 'reception_id']).execute();
      await db.schema.createIndex('visits_stage').on('visits').columns(['stage', 'reception_id']).execute();
    },
  },
  '0002_visit_counts': {
    // The list's total without counting the table on every request: counting 100,000 visits took
    // a millisecond and more of the event loop per page. Triggers keep the counts, so every write
    // path (projection, rebuild, a repair by hand) keeps them right. A patient's visits are
    // counted on the spot: the patient index makes that cheap.
    async up(db) {
      await db.schema
        .createTable('visit_counts')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('visits', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into visit_counts (scope, visits) select 'all', count(*) from visits`.execute(db);
      await sql`insert into visit_counts (scope, visits) select 'stage:' || stage, count(*) from visits group by stage`.execute(db);
      if (isPostgres(db)) await countVisitsOnPostgres(db);
      else await countVisitsOnSqlite(db);
    },
  },
  /**
   * The visits' timelines: one row per applied event, with its actor. A projection like the
   * visits (cleared and replayed by the rebuild), so not append-only: the audit trail that is
   * lives in each service that executed the commands. Takes 0007: 0006 is the platform's audit_log.
   */
  '0007_visit_timeline': {
    async up(db) {
      const postgres = isPostgres(db);
      await db.schema
        .createTable('visit_timeline')
        .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('actor_subject', 'text')
        .addColumn('actor_name', 'text')
        .addColumn('actor_role', 'text')
        .execute();
      await db.schema.createIndex('visit_timeline_visit').on('visit_timeline').columns(['reception_id', 'occurred_at', 'seq']).execute();
    },
  },
  /**
   * PostgreSQL: the counts as rows of changes, added and never updated by the triggers. With one
   * row per scope, every transaction that added or moved a visit held the scope's row until it
   * committed; the consumer's partitions, applied side by side, each in a transaction of up to a
   * hundred events, waited on each other's rows, and two of them taking 'all' and a stage in
   * opposite orders deadlocked (PostgreSQL breaks a deadlock after deadlock_timeout, a second,
   * and the batch then went one event at a time: the view fell seconds behind under load). An
   * insert waits on no one. The rows of a scope are added up when read and folded into one row
   * now and then (compactVisitCounts). SQLite has one writer: its single rows stay.
   */
  '0011_visit_counts_without_row_locks': {
    async up(db) {
      if (!isPostgres(db)) return;
      await sql`alter table visit_counts drop constraint visit_counts_pkey`.execute(db);
      await sql`alter table visit_counts add column id bigint generated always as identity primary key`.execute(db);
      await db.schema.createIndex('visit_counts_scope').on('visit_counts').columns(['scope', 'visits']).execute();
      await sql.raw(countVisitsFunction({ upsert: false })).execute(db);
    },
  },
  /**
   * The access log (db/access-log.ts): the records of every service and the gateway, kept once
   * each (record_id), and what each concerned, indexed by each kind of id a patient's log is
   * looked up by. Append-only, as the audit trail: nothing in the service updates or deletes it.
   */
  '0012_access_log': {
    async up(db) {
      const postgres = isPostgres(db);
      const serial = postgres ? 'bigserial' : 'integer';
      await db.schema
        .createTable('access_log')
        .addColumn('seq', serial, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('record_id', 'text', (c) => c.notNull().unique())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('actor_subject', 'text', (c) => c.notNull())
        .addColumn('actor_name', 'text')
        .addColumn('actor_role', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('break_glass_reason', 'text')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('client_request_id', 'text')
        .execute();
      await db.schema
        .createTable('access_log_subjects')
        .addColumn('id', serial, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('seq', 'bigint', (c) => c.notNull().references('access_log.seq'))
        .addColumn('patient_id', 'text')
        .addColumn('reception_id', 'integer')
        .addColumn('diagnosis_id', 'integer')
        .addColumn('examination_id', 'integer')
        .execute();
      for (const column of ['patient_id', 'reception_id', 'diagnosis_id', 'examination_id'] as const) {
        await db.schema.createIndex(`access_log_subjects_${column}`).on('access_log_subjects').columns([column, 'seq']).execute();
      }
      await db.schema
        .createTable('access_log_unreadable')
        .addColumn('id', serial, (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('offset', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('problem', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * The access log hash-chained, as the audit trail (db/access-log.ts, the platform's
   * audit/hash-chain.ts): one chain per partition of the access-log topic, each written by that
   * partition's one consumer. The records already kept are chained here in their order (as chain
   * 0), and the log and its subjects made append-only in the database itself.
   */
  '0013_access_log_chain': {
    async up(db) {
      await db.schema.alterTable('access_log').addColumn('chain', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      for (const column of ['prev_hash', 'hash']) await db.schema.alterTable('access_log').addColumn(column, 'text').execute();
      await db.schema.createIndex('access_log_chain').on('access_log').columns(['chain', 'seq']).execute();
      await chainKeptRecords(db);
      await makeAppendOnly(db, 'access_log');
      await makeAppendOnly(db, 'access_log_subjects');
    },
  },
  /**
   * The anchors of the access log's purges (db/access-log-purge.ts): where each chain starts again
   * after its oldest records went past ACCESS_LOG_RETENTION_DAYS. Append-only: an anchor is the
   * proof that the chain's start was cut by the retention, not by someone.
   */
  '0014_access_log_purges': {
    async up(db) {
      const postgres = isPostgres(db);
      await db.schema
        .createTable('access_log_purges')
        .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('chain', 'integer', (c) => c.notNull())
        .addColumn('through_seq', 'bigint', (c) => c.notNull())
        .addColumn('through_hash', 'text', (c) => c.notNull())
        .addColumn('records', 'integer', (c) => c.notNull())
        .addColumn('recorded_before', 'text', (c) => c.notNull())
        .addColumn('purged_at', 'text', (c) => c.notNull())
        .execute();
      await makeAppendOnly(db, 'access_log_purges');
    },
  },
  /**
   * The waiting room (issue 21): a visit's department and its queue number on its hospital day,
   * and the moments the waits of its stages are measured between (domain/visit.ts). Empty for
   * the visits projected before; a rebuild fills them from the events.
   */
  '0015_visit_queue_and_wait_moments': {
    async up(db) {
      await db.schema.alterTable('visits').addColumn('department', 'text').execute();
      await db.schema.alterTable('visits').addColumn('queue_number', 'integer').execute();
      for (const column of ['queue_day', 'received_at', 'first_called_at', 'examinations_ended_at', 'concluded_at']) {
        await db.schema.alterTable('visits').addColumn(column, 'text').execute();
      }
    },
  },
  /**
   * Who waits in which department's queue on a hospital day, and who is being called
   * (domain/queue-entries.ts): the call screens and the tickets read a department's day.
   */
  '0016_queue_entries': {
    async up(db) {
      await db.schema
        .createTable('queue_entries')
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('item', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('examination_id', 'integer')
        .addColumn('department', 'text', (c) => c.notNull())
        .addColumn('visit_department', 'text', (c) => c.notNull())
        .addColumn('queue_day', 'text', (c) => c.notNull())
        .addColumn('queue_number', 'integer', (c) => c.notNull())
        .addColumn('masked_name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'text', (c) => c.notNull())
        .addColumn('waiting_since', 'text', (c) => c.notNull())
        .addColumn('first_called_at', 'text')
        .addColumn('last_called_at', 'text')
        .addColumn('call_count', 'integer', (c) => c.notNull())
        .addColumn('room', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('queue_entries_pkey', ['reception_id', 'item'])
        .execute();
      await db.schema.createIndex('queue_entries_department_day').on('queue_entries').columns(['queue_day', 'department', 'state']).execute();
    },
  },
  /** The patients' tickets: the visit each link names, found by the SHA-256 of the link's token (the token itself is never kept). */
  '0017_tickets': {
    async up(db) {
      await db.schema
        .createTable('tickets')
        .addColumn('ticket_digest', 'text', (c) => c.primaryKey())
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * The waits of the stages of the visits (contracts waitStages), each kept once per visit, stage
   * and item, so that an event applied again never counts a wait twice; read by when the stage began.
   */
  '0018_visit_waits': {
    async up(db) {
      await db.schema
        .createTable('visit_waits')
        .addColumn('reception_id', 'integer', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('item', 'text', (c) => c.notNull())
        .addColumn('department', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text', (c) => c.notNull())
        .addColumn('seconds', isPostgres(db) ? 'double precision' : 'real', (c) => c.notNull())
        .addPrimaryKeyConstraint('visit_waits_pkey', ['reception_id', 'stage', 'item'])
        .execute();
      await db.schema.createIndex('visit_waits_started').on('visit_waits').columns(['started_at', 'department']).execute();
    },
  },
};

/** SQLite: a row trigger per change. Updating one counter row many times in a transaction costs nothing there. */
async function countVisitsOnSqlite(db: MigrationDb): Promise<void> {
  const bump = (scope: string) => `insert into visit_counts (scope, visits) values (${scope}, 1) on conflict (scope) do update set visits = visits + 1;`;
  const onInsert = `${bump(`'all'`)} ${bump(`'stage:' || new.stage`)}`;
  const onStageChange = `update visit_counts set visits = visits - 1 where scope = 'stage:' || old.stage; ${bump(`'stage:' || new.stage`)}`;
  const onDelete = `update visit_counts set visits = visits - 1 where scope in ('all', 'stage:' || old.stage);`;
  await sql.raw(`create trigger visits_counted_insert after insert on visits begin ${onInsert} end`).execute(db);
  await sql.raw(`create trigger visits_counted_stage after update of stage on visits when old.stage <> new.stage begin ${onStageChange} end`).execute(db);
  await sql.raw(`create trigger visits_counted_delete after delete on visits begin ${onDelete} end`).execute(db);
}

/**
 * PostgreSQL: statement triggers over the statement's transition tables, one counter update per
 * scope and statement. Row triggers updated the counter row once per visit, and every update of
 * a row leaves a version behind until vacuum: a bulk load of 100,000 visits took minutes and left
 * the counter slow to read. The function carries the service's schema, so that whoever writes
 * the visits (a repair by hand, on a connection with another search_path) is counted.
 */
async function countVisitsOnPostgres(db: MigrationDb): Promise<void> {
  await sql.raw(countVisitsFunction({ upsert: true })).execute(db);
  await sql`create trigger visits_counted_insert after insert on visits referencing new table as new_rows for each statement execute function count_visits()`.execute(db);
  await sql`create trigger visits_counted_update after update on visits referencing old table as old_rows new table as new_rows for each statement execute function count_visits()`.execute(db);
  await sql`create trigger visits_counted_delete after delete on visits referencing old table as old_rows for each statement execute function count_visits()`.execute(db);
}

/**
 * The trigger function of the PostgreSQL counts: the statement's changes added up per scope. With
 * `upsert` (migration 0002) into the scope's one row; without (0011) as new rows of changes.
 */
function countVisitsFunction({ upsert }: { upsert: boolean }): string {
  const addUp = (changes: string) => `
    insert into visit_counts (scope, visits)
      select scope, sum(change) from (${changes}) as changes group by scope having sum(change) <> 0
      ${upsert ? 'on conflict (scope) do update set visits = visit_counts.visits + excluded.visits' : ''};`;
  const moved = 'old_rows as o join new_rows as n using (reception_id) where o.stage <> n.stage';
  return `create or replace function count_visits() returns trigger language plpgsql set search_path from current as $$
      begin
        if tg_op = 'INSERT' then ${addUp(`select 'all' as scope, 1 as change from new_rows union all select 'stage:' || stage, 1 from new_rows`)}
        elsif tg_op = 'UPDATE' then ${addUp(`select 'stage:' || o.stage as scope, -1 as change from ${moved} union all select 'stage:' || n.stage, 1 from ${moved}`)}
        else ${addUp(`select 'all' as scope, -1 as change from old_rows union all select 'stage:' || stage, -1 from old_rows`)}
        end if;
        return null;
      end $$`;
}
