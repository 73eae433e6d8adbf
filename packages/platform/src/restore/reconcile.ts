import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import type { Database } from '../db/database.ts';
import { openDatabase } from '../db/open-database.ts';
import type { StoredMessage } from '../inbox/stored-message.ts';
import { inboxOutcome } from '../inbox/inbox-rows.ts';
import { recordDeadLetter } from '../inbox/one-at-a-time.ts';
import { ConfigError } from '../lib/env.ts';
import { loadConfig, type ServiceConfig } from '../service/config.ts';
import { serviceMigrationSets } from '../service/platform-migrations.ts';
import type { PlatformTables } from '../service/platform-tables.ts';
import type { ServiceDefinition } from '../service/service.ts';
import { DEFAULT_RESTORE_ID_GAP, firstIdAfterRestore, highestIdsIn, ID_FIELD_OF_SEQUENCE } from './id-blocks.ts';
import { eventsAhead, findLostEvents, type ConsumerPlace } from './lost-events.ts';

/**
 * The system made consistent with its event log after a point-in-time restore of its databases
 * (`npm run restore`, scripts/restore.ts), before any service starts:
 *
 * 1. the events its producers no longer hold (lost-events.ts) are set aside in each consumer that
 *    has not applied them: an inbox row DEAD_LETTERED (so the consumer passes them by) and a dead
 *    letter in its outbox, which its relay publishes when it starts, for `npm run dead-letters`
 *    to list and, if a person so decides, replay;
 * 2. every id sequence moves on to a fresh block past every id the database or the log knows
 *    (id-blocks.ts), so no id is ever handed out twice.
 *
 * The events still held are left where they are: each consumer resumes from the position its
 * restored database stored, and applies them again. So are the access records: they tell of reads
 * that did happen, and the keeper stores each once.
 */

type Definition = Pick<ServiceDefinition<unknown>, 'name' | 'defaultPort' | 'migrations' | 'idSequences' | 'consumer'>;

export type ReconcileOptions = {
  services: readonly Definition[];
  env: Record<string, string | undefined>;
  /** The restore's target time (ISO 8601), said in each dead letter's reason. */
  restoredTo: string;
  idGap?: number;
  /** Reads the whole event topic (the platform's readKafkaTopic); a test may pass its own log. */
  readEventLog: (config: ServiceConfig) => Promise<StoredMessage[]>;
  /** Told of each step as it goes, for the operator's progress display. */
  onStep?: (step: string, done: number, total: number) => void;
};

export type SetAsideEvent = { consumer: string; eventId: string; type: string; producer: string; receptionId: string; offset: string; partition: number };

export type ReconcileReport = {
  restoredTo: string;
  eventsRead: number;
  /** Events after some consumer's position whose producer still holds them: applied again. */
  eventsAppliedAgain: number;
  /** Events whose producer lost them, once each. */
  eventsLost: number;
  /** Per consumer, each lost event set aside as its dead letter. */
  setAside: SetAsideEvent[];
  /** Each id sequence: where it stood restored, the highest id the log carries, and its next id now. */
  idSequences: Array<{ service: string; sequence: string; restored: number; highestInLog: number; nextId: number }>;
};

/**
 * How far before the earliest event in question the audit trail is read. The trail's time is the
 * command's, the event's `ce_time` is taken in the same command; the margin covers the clocks of
 * different machines.
 */
const AUDIT_MARGIN_MS = 60 * 60 * 1000;

type Opened = { definition: Definition; config: ServiceConfig; database: Database<PlatformTables> };

export async function reconcileAfterRestore(options: ReconcileOptions): Promise<ReconcileReport> {
  const logger = pino({ level: 'warn', base: { service: 'restore' } });
  const opened: Opened[] = [];
  try {
    for (const definition of options.services) {
      const config = loadConfig(definition.name, definition.defaultPort, { ...options.env, DATABASE_MIGRATIONS: 'at-start' });
      if (!config.postgres || !config.kafka) throw new ConfigError('a restore reconciles the production profile: set DATABASE_URL and KAFKA_BROKERS');
      const migrations = serviceMigrationSets(definition.migrations);
      opened.push({ definition, config, database: await openDatabase<PlatformTables>(config, migrations, logger, definition.idSequences) });
    }
    const step = options.onStep ?? (() => {});
    step('reading the event log', 0, 1);
    const messages = await options.readEventLog(opened[0]!.config);
    step('reading the event log', 1, 1);

    const consumers = await consumerPlaces(opened, messages);
    const ahead = eventsAhead(messages, consumers);
    const committed = await committedEventIds(opened, ahead);
    const found = findLostEvents(messages, consumers, (producer) => committed.get(producer));

    const setAside: SetAsideEvent[] = [];
    let done = 0;
    const total = [...found.setAside.values()].reduce((sum, events) => sum + events.length, 0);
    for (const { definition, config, database } of opened) {
      for (const message of found.setAside.get(definition.name) ?? []) {
        if (await setAsideFor(database, config, message, options.restoredTo)) {
          setAside.push({
            consumer: definition.name,
            eventId: message.headers.ce_id!,
            type: message.headers.ce_type ?? '(none)',
            producer: message.headers.ce_source ?? '?',
            receptionId: message.key,
            partition: message.partition,
            offset: message.offset,
          });
        }
        step('setting aside the lost events', ++done, total);
      }
    }
    const idSequences = await moveIdSequencesOn(opened, messages, options.idGap ?? DEFAULT_RESTORE_ID_GAP);
    step('moving the id sequences on', idSequences.length, idSequences.length);
    return { restoredTo: options.restoredTo, eventsRead: messages.length, eventsAppliedAgain: found.keptAhead, eventsLost: found.lost.length, setAside, idSequences };
  } finally {
    for (const { database } of opened) await database.close().catch(() => {});
  }
}

/** Where each consuming service resumes, as its restored database stored it. */
async function consumerPlaces(opened: readonly Opened[], messages: readonly StoredMessage[]): Promise<ConsumerPlace[]> {
  const partitions = [...new Set(messages.map((m) => m.partition))];
  const places: ConsumerPlace[] = [];
  for (const { definition, config, database } of opened) {
    if (!definition.consumer) continue;
    const rows = await database.db
      .selectFrom('consumer_positions')
      .select(['partition', 'next_offset'])
      .where('group_id', '=', config.consumerGroup)
      .where('topic', '=', config.topic)
      .execute();
    const positions = new Map<number, bigint>(partitions.map((p) => [p, 0n]));
    for (const row of rows) positions.set(Number(row.partition), BigInt(row.next_offset));
    places.push({ service: definition.name, handles: definition.consumer.handles, positions });
  }
  return places;
}

/** Per producing service, the ids of the events its restored audit trail names, from the earliest event in question on. */
async function committedEventIds(opened: readonly Opened[], ahead: readonly StoredMessage[]): Promise<Map<string, Set<string>>> {
  const times = ahead.map((m) => Date.parse(m.headers.ce_time ?? '')).filter((t) => Number.isFinite(t));
  const since = new Date((times.length > 0 ? Math.min(...times) : Date.now()) - AUDIT_MARGIN_MS).toISOString();
  const committed = new Map<string, Set<string>>();
  for (const { definition, database } of opened) {
    const rows = await database.db.selectFrom('audit_log').select('event_ids').where('recorded_at', '>=', since).execute();
    committed.set(definition.name, new Set(rows.flatMap((row) => JSON.parse(row.event_ids) as string[])));
  }
  return committed;
}

/** One lost event set aside in one consumer: its inbox passes it by, its dead letter waits in the outbox. False when already recorded. */
async function setAsideFor(database: Database<PlatformTables>, config: ServiceConfig, message: StoredMessage, restoredTo: string): Promise<boolean> {
  const eventId = message.headers.ce_id!;
  const type = message.headers.ce_type ?? '(none)';
  return database.transaction(async (trx) => {
    if ((await inboxOutcome(trx, eventId)) !== undefined) return false;
    const reason =
      `restore to ${restoredTo}: ${message.headers.ce_source ?? 'its producer'} no longer holds this event (it was committed after ` +
      'the restore point, and what it came from is gone); replay it only if it should stand';
    const delivery = { topic: config.topic, partition: message.partition, offset: message.offset, key: message.key, headers: message.headers, value: message.value };
    await recordDeadLetter(trx, delivery, { eventId, type }, undefined, { topic: config.deadLetterTopic, reason, consumerGroup: config.serviceName });
    return true;
  });
}

/** Each id sequence to its first id after the restore (id-blocks.ts). */
async function moveIdSequencesOn(opened: readonly Opened[], messages: readonly StoredMessage[], gap: number): Promise<ReconcileReport['idSequences']> {
  const fields = Object.values(ID_FIELD_OF_SEQUENCE);
  const highest = highestIdsIn(messages.map((m) => m.value), fields);
  const moved: ReconcileReport['idSequences'] = [];
  for (const { definition, config, database } of opened) {
    for (const sequence of definition.idSequences ?? []) {
      const field = ID_FIELD_OF_SEQUENCE[sequence];
      if (!field) throw new Error(`${definition.name}: no event field is known for the id sequence ${sequence} (restore/id-blocks.ts)`);
      const qualified = `"${config.postgres!.schema}"."${sequence}_id_seq"`;
      const restored = await lastValueOf(database.db, qualified);
      const highestInLog = highest.get(field) ?? 0;
      const nextId = firstIdAfterRestore(Math.max(restored, highestInLog), gap);
      await sql`select setval(${qualified}::regclass, ${nextId - 1}, true)`.execute(database.db);
      moved.push({ service: definition.name, sequence, restored, highestInLog, nextId });
    }
  }
  return moved;
}

async function lastValueOf(db: Kysely<PlatformTables>, qualified: string): Promise<number> {
  const { rows } = await sql<{ last_value: string; is_called: boolean }>`select last_value, is_called from ${sql.raw(qualified)}`.execute(db);
  const row = rows[0]!;
  return row.is_called ? Number(row.last_value) : Number(row.last_value) - 1;
}
