/**
 * `npm run rebuild`: rebuilds patient-management's view of every visit, the visits' timelines and
 * the waiting room (the queues' entries, the tickets, the waits of the stages), from the start of
 * the event log, beside the live view, and switches to it once it has caught up. The view keeps
 * answering all the while, whether patient-management runs or not:
 *
 * 1. A second projection, the same code under the name patient-management-rebuild: tables of its
 *    own (PostgreSQL: the schema <live schema>_rebuild; SQLite: patient-management-rebuild.sqlite
 *    beside the live file), a consumer group of its own, from the beginning of the log. The events
 *    the live service dead-lettered are marked so in its inbox first: they stay dead letters,
 *    never applied, never dead-lettered again.
 * 2. Once it has caught up, it stops, and one transaction on the live database makes its view the
 *    live one (db/view-switch.ts). If events came meanwhile and the live consumer stands past it,
 *    it catches up again and tries once more.
 * 3. Its tables are dropped.
 *
 * Progress on stderr (a bar on a terminal, JSON lines otherwise), the summary last. Exit codes:
 * 0 rebuilt and switched, 1 failed (the live view is then as it was).
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import { ConfigError, loadConfig, openDatabase, openTransport, serviceMigrationSets, startService, type Database, type RunningService, type ServiceConfig } from '@medical/platform';
import { createProgress } from '@medical/platform/operations';
import { announceQueueChanges } from './app/queue-changes.ts';
import { listVisits } from './db/repository.ts';
import type { PatientManagementDatabase } from './db/schema.ts';
import { switchToRebuiltView, type RebuiltTables } from './db/view-switch.ts';
import { patientManagementService } from './service.ts';

const live = patientManagementService;
/** The projection that rebuilds: the same code and tables, its own name (so its own database and group), no access-log keeper. */
const rebuilder = { ...live, name: `${live.name}-rebuild`, accessLogKeeper: undefined };
const MAX_SWITCH_ATTEMPTS = 5;

// `npm run -w` runs in the workspace folder; the data lives where npm was invoked (the repo root).
const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: process.env.DATA_DIR ?? `${process.env.INIT_CWD ?? process.cwd()}/data` };
const liveConfig = loadConfig(live.name, live.defaultPort, env);
const rebuildEnv = {
  ...env,
  ...(liveConfig.postgres ? { DATABASE_SCHEMA: `${liveConfig.postgres.schema}_rebuild` } : {}),
  // Its own service answers nobody: loopback, a free port, only to run its consumer. It
  // authenticates as the environment says; one that names no identity provider (a developer's,
  // beside `npm start`) gets the development one, which no request reaches.
  HOST: '127.0.0.1',
  PORT: '0',
  ...(env.AUTH_MODE?.trim() || env.OIDC_ISSUER?.trim() ? {} : { AUTH_MODE: 'dev' }),
};
const rebuildConfig = loadConfig(rebuilder.name, rebuilder.defaultPort, rebuildEnv);
const logger = pino({ level: 'warn', base: { service: rebuilder.name } });
const progress = createProgress('rebuild');
const rebuildFile = path.join(rebuildConfig.dataDir, `${rebuilder.name}.sqlite`);

async function openLive(): Promise<Database<PatientManagementDatabase>> {
  return openDatabase<PatientManagementDatabase>(liveConfig, serviceMigrationSets(live.migrations), logger);
}

/** Removes what a rebuild leaves: its schema, or its SQLite file. */
async function dropRebuiltTables(database: Database<PatientManagementDatabase>): Promise<void> {
  if (rebuildConfig.postgres) await sql`drop schema if exists ${sql.id(rebuildConfig.postgres.schema)} cascade`.execute(database.db);
  else for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${rebuildFile}${suffix}`, { force: true });
}

/** The rebuild's database, new, holding the live inbox's dead letters so they stay dead letters. */
async function prepareRebuild(liveDb: Database<PatientManagementDatabase>): Promise<number> {
  await dropRebuiltTables(liveDb);
  const rebuilt = await openDatabase<PatientManagementDatabase>(rebuildConfig, serviceMigrationSets(rebuilder.migrations), logger);
  try {
    const deadLetters = await liveDb.db.selectFrom('inbox').selectAll().where('outcome', '=', 'DEAD_LETTERED').execute();
    if (deadLetters.length > 0) await rebuilt.db.insertInto('inbox').values(deadLetters).execute();
    return deadLetters.length;
  } finally {
    await rebuilt.close();
  }
}

/** Runs the rebuilding projection until its group has consumed the whole log, showing the events left. */
async function catchUp(): Promise<void> {
  const service: RunningService = await startService(rebuilder, rebuildEnv);
  try {
    const lagOf = async () => (await service.transport.lag(rebuildConfig.consumerGroup, rebuildConfig.topic)).reduce((sum, p) => sum + p.lag, 0);
    const initial = await lagOf();
    for (let left = initial; left > 0; left = await lagOf()) {
      progress.update(Math.max(0, initial - left), Math.max(initial, 1));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    progress.update(initial, initial);
  } finally {
    await service.stop();
  }
}

/**
 * Tells the call screens that their queues were replaced (PostgreSQL: every replica listens on the
 * live schema's channel). The embedded profile's one process listens in memory, not here: its
 * screens show the rebuilt queue at the next change.
 */
async function announceRebuiltQueues(liveDb: Database<PatientManagementDatabase>): Promise<void> {
  const rows = await liveDb.db.selectFrom('queue_entries').select('department').distinct().execute();
  if (rows.length > 0) await liveDb.transaction((trx) => announceQueueChanges(liveDb, trx, rows.map((row) => row.department)));
}

async function attached(liveDb: Database<PatientManagementDatabase>): Promise<RebuiltTables> {
  if (rebuildConfig.postgres) return { kind: 'postgres', schema: rebuildConfig.postgres.schema };
  await sql`attach database ${rebuildFile} as rebuild`.execute(liveDb.db);
  return { kind: 'sqlite', attachedAs: 'rebuild' };
}

async function main(config: ServiceConfig): Promise<void> {
  const started = Date.now();
  const liveDb = await openLive();
  try {
    progress.step('preparing the rebuild\'s own tables');
    const deadLetters = await prepareRebuild(liveDb);
    progress.note(`${deadLetters} events the live view dead-lettered stay dead letters`);
    const transport = await openTransport(rebuildConfig, logger);
    await transport.rewind(rebuildConfig.consumerGroup, rebuildConfig.topic);
    await transport.close();

    for (let attempt = 1; ; attempt++) {
      progress.step(attempt === 1 ? 'replaying the event log into the new view' : 'catching up with the events that came meanwhile', 'events');
      await catchUp();
      progress.step('switching to the new view');
      const tables = await attached(liveDb);
      const switchStarted = Date.now();
      const switched = await switchToRebuiltView(liveDb, tables, { live: config.consumerGroup, rebuild: rebuildConfig.consumerGroup }, config.topic);
      // How long the live consumer waited on the switch's locks: its only pause.
      const switchMs = Date.now() - switchStarted;
      if (tables.kind === 'sqlite') await sql`detach database rebuild`.execute(liveDb.db);
      if (switched.switched) {
        await dropRebuiltTables(liveDb);
        await announceRebuiltQueues(liveDb);
        const { total } = await listVisits(liveDb.db, { size: 1 });
        const ms = Date.now() - started;
        const { timelineSteps, queueEntries, tickets, waits } = switched;
        progress.finish({ visits: total, timelineSteps, queueEntries, tickets, waits, deadLettersKept: deadLetters, attempts: attempt, ms, switchMs }, []);
        console.log(`rebuilt ${total} visits from the event log in ${ms} ms, and switched to them (${switched.timelineSteps} timeline steps; ${deadLetters} dead letters kept)`);
        return;
      }
      if (attempt >= MAX_SWITCH_ATTEMPTS) throw new Error(`the live view kept moving ahead of the rebuild (partitions ${switched.behind.join(', ')}); try again when it is quieter`);
      progress.note(`the live consumer stands ahead on partitions ${switched.behind.join(', ')}: catching up again`);
    }
  } finally {
    await liveDb.close();
  }
}

try {
  await main(liveConfig);
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
