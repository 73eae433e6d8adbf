import { sql, type Kysely } from 'kysely';
import { isPostgres, type Migrations } from '@medical/platform';

export const migrations: Migrations = {
  '0001_visits': {
    async up(db: Kysely<any>) {
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
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('visit_counts')
        .addColumn('scope', 'text', (c) => c.primaryKey())
        .addColumn('visits', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into visit_counts (scope, visits) select 'all', count(*) from visits`.execute(db);
      await sql`insert into visit_counts (scope, visits) select 'stage:' || stage, count(*) from visits group by stage`.execute(db);
      const bump = (scope: string) =>
        `insert into visit_counts (scope, visits) values (${scope}, 1) on conflict (scope) do update set visits = visit_counts.visits + 1;`;
      const onInsert = `${bump(`'all'`)} ${bump(`'stage:' || new.stage`)}`;
      const onStageChange = `update visit_counts set visits = visits - 1 where scope = 'stage:' || old.stage; ${bump(`'stage:' || new.stage`)}`;
      const onDelete = `update visit_counts set visits = visits - 1 where scope in ('all', 'stage:' || old.stage);`;
      if (isPostgres(db)) {
        await sql
          .raw(
            // The service's schema is fixed into the function, so that whoever writes the
            // visits (a repair by hand, on a connection with another search_path) is counted.
            `create function count_visits() returns trigger language plpgsql set search_path from current as $$
            begin
              if tg_op = 'INSERT' then ${onInsert}
              elsif tg_op = 'UPDATE' then ${onStageChange}
              else ${onDelete}
              end if;
              return null;
            end $$`,
          )
          .execute(db);
        await sql`create trigger visits_counted_insert after insert or delete on visits for each row execute function count_visits()`.execute(db);
        await sql`create trigger visits_counted_stage after update of stage on visits for each row when (old.stage <> new.stage) execute function count_visits()`.execute(db);
      } else {
        await sql.raw(`create trigger visits_counted_insert after insert on visits begin ${onInsert} end`).execute(db);
        await sql.raw(`create trigger visits_counted_stage after update of stage on visits when old.stage <> new.stage begin ${onStageChange} end`).execute(db);
        await sql.raw(`create trigger visits_counted_delete after delete on visits begin ${onDelete} end`).execute(db);
      }
    },
  },
};
