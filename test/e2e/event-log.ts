import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  Admin,
  ListOffsetTimestamps,
  type BaseOptions,
} from '@platformatic/kafka';
import { loadConfig, openTransport, type EventTransport, type ServiceConfig } from '@medical/platform';
import { readKafkaTopic } from '@medical/platform/operations';
import pino from 'pino';

/**
 * A look into the system's event log from outside the services, the same on both profiles:
 * consumer lag, the log's end and size, dead letters, the events of each visit, and rewinding a
 * consumer group. Two implementations behind one interface:
 *
 * - embedded: DATA_DIR/events.sqlite (schema in packages/platform/src/transport/embedded-log.ts),
 *   read with SQL; lag, rewind and group activity come from the platform's EmbeddedLog over the
 *   same file. Each call opens and closes its own connection, so the test never holds a lock the
 *   services wait on.
 * - Kafka: the system's topics. Lag, rewind and group activity come from the platform's own
 *   Kafka transport (what `npm run rebuild` uses); the log's end from the Admin's listOffsets;
 *   messages are read by a Consumer in a throwaway group from the earliest offsets up to the end
 *   offsets seen when the read started.
 *
 * Open one with `openEventLog(env)`, the environment the services got (DATA_DIR, or
 * KAFKA_BROKERS, KAFKA_TOPIC and DEAD_LETTER_TOPIC).
 */

/** The consumer groups: one per consuming service, named after it (on both profiles). */
export const CONSUMER_GROUPS = ['reception', 'diagnosis', 'examination', 'patient-management'] as const;

/**
 * `end`: where the event topic ends (the embedded log's last offset; on Kafka the sum of the
 * partitions' end offsets): it moves exactly when an event is appended. `lag`: per group, the
 * events on the topic it has not consumed yet.
 */
export type LagReport = { end: number; lag: Record<string, number> };

export type DeadLetter = { type: string; group: string; reason: string };

/** One message of the event topic with its CloudEvents type and id, in log order per partition. */
export type EventRecord = { key: string; type: string; id: string; partition: number; offset: bigint };

export interface EventLog {
  readonly kind: 'embedded' | 'kafka';
  readonly topic: string;
  readonly deadLetterTopic: string;
  /** See LagReport.end. */
  end(): Promise<number>;
  /** How many messages the topic holds (default: the event topic). */
  messageCount(topic?: string): Promise<number>;
  /** Events on the event topic that `group` has not consumed yet (0: caught up). */
  lag(group: string): Promise<number>;
  lagReport(groups?: readonly string[]): Promise<LagReport>;
  /** Whether a live member of the group consumes the event topic now. */
  groupIsActive(group: string): Promise<boolean>;
  /**
   * Moves the group back to the start of the event topic, so the whole log is delivered to it
   * again. Stop the service first: this waits (up to `timeoutMs`) until the group has no live
   * member (on Kafka, a member that left gracefully is gone at once; a killed one stays until
   * its session expires), and fails if it still has one.
   */
  rewind(group: string, timeoutMs?: number): Promise<void>;
  /** The dead letters, in log order (on Kafka: partition by partition), an empty list when none. */
  deadLetters(): Promise<DeadLetter[]>;
  /** The types of the events on the topic, by message key (the reception id), in log order. */
  eventTypesByKey(): Promise<Map<string, string[]>>;
  /** Every message of the event topic with its type and id (a re-published event appears twice with one id). */
  eventRecords(): Promise<EventRecord[]>;
  /** Kafka: members of the service groups that consume other topics (see membersOnOtherTopics). */
  membersOnOtherTopics(): Promise<string[]>;
  close(): Promise<void>;
}

/** Whether every group of the report has consumed the whole topic. */
export function caughtUp(report: LagReport): boolean {
  return Object.values(report.lag).every((lag) => lag === 0);
}

type Env = Record<string, string | undefined>;

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The inspector for the system whose services got `env`. */
export async function openEventLog(env: Env): Promise<EventLog> {
  const config = loadConfig('e2e-inspector', 0, { ...env, LOG_LEVEL: 'silent' });
  return config.kafka ? KafkaEventLog.open(config, env) : new EmbeddedEventLog(config);
}

async function waitUntilIdle(log: EventLog, group: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await log.groupIsActive(group)) {
    if (Date.now() >= deadline) {
      throw new Error(`cannot rewind ${group}: the group still has a live member on ${log.topic} after ${timeoutMs} ms (stop the service first)`);
    }
    await sleep(100);
  }
}

// ---- embedded --------------------------------------------------------------------------------

class EmbeddedEventLog implements EventLog {
  readonly kind = 'embedded' as const;
  readonly topic: string;
  readonly deadLetterTopic: string;
  private readonly config: ServiceConfig;
  private readonly file: string;

  constructor(config: ServiceConfig) {
    this.config = config;
    this.topic = config.topic;
    this.deadLetterTopic = config.deadLetterTopic;
    this.file = path.join(config.dataDir, 'events.sqlite');
  }

  private read<T>(work: (db: DatabaseSync) => T): T {
    const db = new DatabaseSync(this.file);
    try {
      db.exec('PRAGMA busy_timeout = 10000');
      return work(db);
    } finally {
      db.close();
    }
  }

  /** The platform's adapter over the same file, for what it answers itself (lag, rewind, activity). */
  private async withTransport<T>(work: (transport: EventTransport) => Promise<T>): Promise<T> {
    const transport = await openTransport(this.config, silent);
    try {
      return await work(transport);
    } finally {
      await transport.close();
    }
  }

  async end(): Promise<number> {
    return this.read((db) => {
      const row = db.prepare('SELECT max("offset") AS last FROM messages WHERE topic = ?').get(this.topic) as { last: number | null };
      return row.last ?? 0;
    });
  }

  async messageCount(topic = this.topic): Promise<number> {
    return this.read((db) => (db.prepare('SELECT count(*) AS n FROM messages WHERE topic = ?').get(topic) as { n: number }).n);
  }

  async lag(group: string): Promise<number> {
    return this.withTransport(async (t) => sum((await t.lag(group, this.topic)).map((p) => p.lag)));
  }

  async lagReport(groups: readonly string[] = CONSUMER_GROUPS): Promise<LagReport> {
    return this.withTransport(async (t) => {
      const end = await this.end();
      const lag: Record<string, number> = {};
      for (const group of groups) lag[group] = sum((await t.lag(group, this.topic)).map((p) => p.lag));
      return { end, lag };
    });
  }

  async groupIsActive(group: string): Promise<boolean> {
    return this.withTransport((t) => t.groupIsActive(group, this.topic));
  }

  async rewind(group: string, timeoutMs = 30_000): Promise<void> {
    await waitUntilIdle(this, group, timeoutMs);
    await this.withTransport((t) => t.rewind(group, this.topic));
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return this.read((db) =>
      (db.prepare('SELECT headers FROM messages WHERE topic = ? ORDER BY "offset"').all(this.deadLetterTopic) as Array<{ headers: string }>).map(
        (row) => deadLetterOf(JSON.parse(row.headers) as Record<string, string>),
      ),
    );
  }

  async eventTypesByKey(): Promise<Map<string, string[]>> {
    return this.read((db) => {
      const rows = db.prepare('SELECT message_key, headers FROM messages WHERE topic = ? ORDER BY "offset"').all(this.topic) as Array<{
        message_key: string;
        headers: string;
      }>;
      return groupTypesByKey(rows.map((row) => ({ key: row.message_key, headers: JSON.parse(row.headers) as Record<string, string> })));
    });
  }

  async eventRecords(): Promise<EventRecord[]> {
    return this.read((db) =>
      (db.prepare('SELECT "offset" AS offset, message_key, headers FROM messages WHERE topic = ? ORDER BY "offset"').all(this.topic) as Array<{
        offset: number;
        message_key: string;
        headers: string;
      }>).map((row) => recordOf({ partition: 0, offset: BigInt(row.offset), key: row.message_key, headers: JSON.parse(row.headers) as Record<string, string> })),
    );
  }

  async membersOnOtherTopics(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}

// ---- Kafka -----------------------------------------------------------------------------------

type KafkaRecord = { partition: number; offset: bigint; key: string; headers: Record<string, string> };

class KafkaEventLog implements EventLog {
  readonly kind = 'kafka' as const;
  readonly topic: string;
  readonly deadLetterTopic: string;
  private readonly client: BaseOptions;
  private readonly transport: EventTransport;
  private readonly admin: Admin;
  private readonly env: Env;

  private constructor(config: ServiceConfig, env: Env, transport: EventTransport) {
    this.env = env;
    this.topic = config.topic;
    this.deadLetterTopic = config.deadLetterTopic;
    this.transport = transport;
    this.client = { clientId: `e2e-inspector-${process.pid}`, bootstrapBrokers: config.kafka!.brokers, connectTimeout: 3_000, timeout: 10_000, retries: 3 };
    this.admin = new Admin({ ...this.client, clientId: `${this.client.clientId}-admin` });
    this.admin.on('error', () => {});
  }

  static async open(config: ServiceConfig, env: Env): Promise<KafkaEventLog> {
    return new KafkaEventLog(config, env, await openTransport(config, silent));
  }

  private async partitions(topic: string): Promise<number[]> {
    const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, i) => i);
  }

  private async offsets(topic: string, timestamp: bigint): Promise<Map<number, bigint>> {
    const partitions = await this.partitions(topic);
    const result = new Map<number, bigint>();
    if (partitions.length === 0) return result;
    const listed = await this.admin.listOffsets({
      topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
    });
    for (const t of listed) if (t.name === topic) for (const p of t.partitions) result.set(p.partitionIndex, p.offset);
    return result;
  }

  async end(): Promise<number> {
    return Number(sumBig([...(await this.offsets(this.topic, ListOffsetTimestamps.LATEST)).values()]));
  }

  /** End minus start, summed over the partitions: the platform's producer is idempotent but not transactional, so every offset is one message. */
  async messageCount(topic = this.topic): Promise<number> {
    const [earliest, latest] = await Promise.all([this.offsets(topic, ListOffsetTimestamps.EARLIEST), this.offsets(topic, ListOffsetTimestamps.LATEST)]);
    let count = 0n;
    for (const [partition, end] of latest) count += end - (earliest.get(partition) ?? 0n);
    return Number(count);
  }

  async lag(group: string): Promise<number> {
    return sum((await this.transport.lag(group, this.topic)).map((p) => p.lag));
  }

  async lagReport(groups: readonly string[] = CONSUMER_GROUPS): Promise<LagReport> {
    const end = await this.end();
    const lags = await Promise.all(groups.map((group) => this.lag(group)));
    return { end, lag: Object.fromEntries(groups.map((group, i) => [group, lags[i]!])) };
  }

  groupIsActive(group: string): Promise<boolean> {
    return this.transport.groupIsActive(group, this.topic);
  }

  async rewind(group: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await waitUntilIdle(this, group, timeoutMs);
    // The coordinator takes an offset commit from outside the group only while the group is
    // empty; a member that just left may take a moment to be forgotten.
    for (;;) {
      try {
        await this.transport.rewind(group, this.topic);
        return;
      } catch (error) {
        if (Date.now() >= deadline) throw new Error(`cannot rewind ${group} on ${this.topic}: ${(error as Error).message}`, { cause: error });
        await sleep(200);
      }
    }
  }

  /**
   * Every message of `topic` from its start to the end offsets seen now, in order per partition:
   * the dead-letters tool's reader (a throwaway group that commits nothing).
   */
  private async readAll(topic: string, timeoutMs = 30_000): Promise<KafkaRecord[]> {
    const messages = await readKafkaTopic(this.client.bootstrapBrokers as string[], topic, { clientId: this.client.clientId, timeoutMs });
    return messages.map(({ partition, offset, key, headers }) => ({ partition, offset: BigInt(offset), key, headers }));
  }

  async deadLetters(): Promise<DeadLetter[]> {
    return (await this.readAll(this.deadLetterTopic)).map((record) => deadLetterOf(record.headers));
  }

  async eventTypesByKey(): Promise<Map<string, string[]>> {
    // A key's events are all in one partition, so partition order is log order for each key.
    return groupTypesByKey(await this.readAll(this.topic));
  }

  async eventRecords(): Promise<EventRecord[]> {
    const records = (await this.readAll(this.topic)).map(recordOf);
    return records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  }

  membersOnOtherTopics(): Promise<string[]> {
    return membersOnOtherTopics(this.env);
  }

  async close(): Promise<void> {
    await this.transport.close();
    await this.admin.close().catch(() => {});
  }
}

/**
 * Deletes the Kafka topics a system used (KAFKA_TOPIC and DEAD_LETTER_TOPIC of `env`); nothing
 * to do on the embedded profile, whose log goes with its DATA_DIR.
 */
export async function deleteTopics(env: Env): Promise<void> {
  const config = loadConfig('e2e-inspector', 0, { ...env, LOG_LEVEL: 'silent' });
  if (!config.kafka) return;
  const admin = new Admin({ clientId: `e2e-cleanup-${process.pid}`, bootstrapBrokers: config.kafka.brokers, connectTimeout: 3_000, timeout: 10_000 });
  admin.on('error', () => {});
  try {
    const existing = new Set(await admin.listTopics());
    const topics = [config.topic, config.deadLetterTopic].filter((t) => existing.has(t));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * The live members of the consumer groups that consume some other topic than this system's
 * (as "group: client id on topics"). The groups are named after the services on every system,
 * and @platformatic/kafka's round-robin assignor hands the leader's topics out to every member
 * of a group whatever it subscribed to, so a system sharing a broker with another one that runs
 * at the same time loses partitions to it and stalls.
 */
export async function membersOnOtherTopics(env: Env, groups: readonly string[] = CONSUMER_GROUPS): Promise<string[]> {
  const config = loadConfig('e2e-inspector', 0, { ...env, LOG_LEVEL: 'silent' });
  if (!config.kafka) return [];
  const admin = new Admin({ clientId: `e2e-groups-${process.pid}`, bootstrapBrokers: config.kafka.brokers, connectTimeout: 3_000, timeout: 10_000 });
  admin.on('error', () => {});
  try {
    const described = await admin.describeGroups({ groups: [...groups] });
    const found: string[] = [];
    for (const [group, description] of described) {
      for (const member of description.members.values()) {
        const topics = member.metadata?.topics;
        if (!topics || !topics.includes(config.topic)) found.push(`${group}: ${member.clientId} on ${topics?.join(', ') ?? 'unknown topics'}`);
      }
    }
    return found;
  } finally {
    await admin.close().catch(() => {});
  }
}

// ---- shared ----------------------------------------------------------------------------------

function deadLetterOf(headers: Record<string, string>): DeadLetter {
  return { type: headers.ce_type ?? '?', group: headers.dlq_consumer_group ?? '?', reason: headers.dlq_reason ?? '?' };
}

function recordOf(message: KafkaRecord): EventRecord {
  const { key, partition, offset, headers } = message;
  return { key, partition, offset, type: headers.ce_type ?? '?', id: headers.ce_id ?? '?' };
}

/**
 * The facts of each visit, in log order. Transport is at-least-once: a relay that published and
 * then lost its delete (a crash, a database outage) publishes the same event again, with the same
 * id, and consumers drop it. So an event id counts once; a fact executed twice would carry two ids.
 */
function groupTypesByKey(messages: Array<{ key: string; headers: Record<string, string> }>): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const message of messages) {
    const id = message.headers.ce_id;
    if (id !== undefined) {
      if (seen.has(id)) continue;
      seen.add(id);
    }
    byKey.set(message.key, [...(byKey.get(message.key) ?? []), message.headers.ce_type ?? '?']);
  }
  return byKey;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sumBig(values: bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}
