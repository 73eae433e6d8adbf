import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  Admin,
  Consumer,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
  type MessagesStream,
} from '@platformatic/kafka';
import pg from 'pg';
import { percentile, round } from './lib/tools.ts';

/**
 * The machine's own limits, measured in the same run as the scenarios so that their figures can
 * be read against what the infrastructure alone costs here: the Kafka client's produce-to-consume
 * round trip on a bare topic (a floor for event propagation) and PostgreSQL's single-row durable
 * commit rate (a ceiling for anything that commits once per request or per event).
 */

type Log = (line: string) => void;

export type KafkaRoundTripFigures = { messages: number; p50Ms: number; p99Ms: number; maxMs: number; partitions: number; method: string };
export type PgCommitFigures = {
  durationS: number;
  commits: number;
  commitsPerSec: number;
  connections: number;
  p50Ms: number;
  p99Ms: number;
  method: string;
};

/** A name no earlier or concurrent run uses, so nothing of another run is ever touched. */
const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

/** Nearest-rank percentile as tools.ts computes it; 0 when there are no samples at all. */
const percentileOf = (samples: readonly number[], p: number) => percentile(samples, p) ?? 0;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every cleanup step even when one fails: a failed cleanup is logged, never thrown over the result. */
async function cleanUp(log: Log, steps: Array<[what: string, step: () => Promise<unknown>]>): Promise<void> {
  for (const [what, step] of steps) {
    try {
      await withTimeout(step(), 10_000, what);
    } catch (error) {
      log(`limits: ${what} failed: ${(error as Error).message}`);
    }
  }
}

// ---- Kafka: produce-to-consume round trip --------------------------------------------------

const KAFKA_WARM_UP = 20;
const KAFKA_MESSAGE_TIMEOUT_MS = 10_000;

type StringStream = MessagesStream<string, string, string, string>;
type StringProducer = Producer<string, string, string, string>;

/**
 * Hands each message's arrival time to whoever waits for it. Only one message is in flight at a
 * time, so one waiter is enough; the time is taken first thing in the 'data' handler.
 */
class ArrivalWatch {
  private waiting: { value: string; arrived: (at: number) => void } | undefined;

  constructor(stream: StringStream) {
    stream.on('data', (message) => {
      const at = performance.now();
      if (this.waiting && message.value === this.waiting.value) {
        const { arrived } = this.waiting;
        this.waiting = undefined;
        arrived(at);
      }
    });
  }

  expect(value: string): Promise<number> {
    return new Promise((arrived) => {
      this.waiting = { value, arrived };
    });
  }
}

/** Sends one message and waits until it was consumed: milliseconds from just before send() to its arrival. */
async function roundTrip(producer: StringProducer, watch: ArrivalWatch, topic: string, value: string): Promise<number> {
  // Expected before sending: with acks=all on one replica the message can reach the consumer
  // before the producer has its acknowledgement.
  const arrival = watch.expect(value);
  const sentAt = performance.now();
  await producer.send({ messages: [{ topic, key: value, value }] });
  return (await withTimeout(arrival, KAFKA_MESSAGE_TIMEOUT_MS, `message ${value}`)) - sentAt;
}

type KafkaClients = { admin: Admin; producer: StringProducer; consumer: Consumer<string, string, string, string> };

/** The three clients of the measurement, set as the services' transport sets its own (packages/platform/src/transport/kafka.ts). */
function kafkaClients(brokers: string[], topic: string, group: string, log: Log): KafkaClients {
  const client = { bootstrapBrokers: brokers, connectTimeout: 3_000, timeout: 5_000, retries: 3 };
  const admin = new Admin({ ...client, clientId: `${topic}-admin` });
  // The services' producer settings: the durability they pay for is part of the figure.
  const producer = new Producer<string, string, string, string>({
    ...client,
    clientId: `${topic}-producer`,
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  });
  const consumer = new Consumer<string, string, string, string>({
    ...client,
    clientId: `${topic}-consumer`,
    groupId: group,
    deserializers: stringDeserializers,
    autocommit: false,
    // As the services: a fetch waits at most this long on the broker when nothing is there.
    maxWaitTime: 1_000,
  });
  // An 'error' event without a listener would crash the process.
  for (const emitter of [admin, producer, consumer]) emitter.on('error', (error: Error) => log(`limits: Kafka client error: ${error.message}`));
  return { admin, producer, consumer };
}

/** The warm-up pays for connections, the idempotent producer's id and the first metadata; then `messages` timed, one at a time. */
async function timedRoundTrips(producer: StringProducer, watch: ArrivalWatch, topic: string, messages: number): Promise<number[]> {
  for (let i = 0; i < KAFKA_WARM_UP; i++) await roundTrip(producer, watch, topic, `warm-up-${i}`);
  const latencies: number[] = [];
  for (let i = 0; i < messages; i++) latencies.push(await roundTrip(producer, watch, topic, `message-${i}`));
  return latencies;
}

function roundTripFigures(messages: number, latencies: number[]): KafkaRoundTripFigures {
  return {
    messages,
    p50Ms: percentileOf(latencies, 50),
    p99Ms: percentileOf(latencies, 99),
    maxMs: percentileOf(latencies, 100),
    partitions: 1,
    method:
      'Time from just before producer.send() (@platformatic/kafka, idempotent, acks=all) to the message in the data handler ' +
      `of a consumer stream in a fresh group on a fresh 1-partition topic, one message in flight at a time, after ${KAFKA_WARM_UP} warm-up messages.`,
  };
}

/** What the measurement leaves behind, undone in order; the topic and the group only if the topic was made. */
function kafkaCleanUpSteps(clients: KafkaClients, stream: StringStream | undefined, topic: string, group: string, topicCreated: boolean): Array<[string, () => Promise<unknown>]> {
  const { admin, producer, consumer } = clients;
  return [
    ['closing the Kafka stream', async () => stream?.close()],
    // Leaves the group at once, so that the group can be deleted.
    ['closing the Kafka consumer', () => consumer.close(true)],
    ['closing the Kafka producer', () => producer.close()],
    ['deleting the Kafka topic', async () => topicCreated && admin.deleteTopics({ topics: [topic] })],
    ['deleting the Kafka consumer group', async () => topicCreated && admin.deleteGroups({ groups: [group] })],
    ['closing the Kafka admin client', () => admin.close()],
  ];
}

export async function kafkaRoundTrip(options: { brokers: string[]; messages: number; log: Log }): Promise<KafkaRoundTripFigures> {
  const { brokers, messages, log } = options;
  const topic = uniqueName('bench_limits');
  const group = `${topic}_group`;
  const clients = kafkaClients(brokers, topic, group, log);
  let stream: StringStream | undefined;
  let topicCreated = false;
  try {
    await clients.admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    topicCreated = true;
    // consume() resolves once the member joined its group and was assigned the partition. The
    // topic is fresh, so reading from its beginning misses nothing whenever the first fetch goes out.
    stream = await clients.consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const watch = new ArrivalWatch(stream);
    log(`limits: Kafka round trip on ${topic}: ${KAFKA_WARM_UP} warm-up messages, then ${messages} measured, one at a time`);
    const figures = roundTripFigures(messages, await timedRoundTrips(clients.producer, watch, topic, messages));
    log(`limits: Kafka round trip p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms`);
    return figures;
  } finally {
    await cleanUp(log, kafkaCleanUpSteps(clients, stream, topic, group, topicCreated));
  }
}

// ---- PostgreSQL: single-row commit rate ----------------------------------------------------

/** About the size of an event row: enough that the WAL record is not trivially small. */
const PAYLOAD = 'x'.repeat(300);

/** One connection's loop of single-row transactions until `until`; the latency of each commit. */
async function commitLoop(client: pg.Client, table: string, until: number): Promise<number[]> {
  const latencies: number[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} (payload) VALUES ($1)`, [PAYLOAD]);
    await client.query('COMMIT');
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // An 'error' event (the server going away between queries) would otherwise crash the process.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** The server settings that decide whether a commit is durable, to put beside the figure. */
async function durabilitySettings(client: pg.Client): Promise<string> {
  const { rows } = await client.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('synchronous_commit', 'fsync') ORDER BY name DESC",
  );
  return rows.map((row) => `${row.name}=${row.setting}`).join(', ');
}

export async function pgCommitRate(options: { url: string; durationS: number; connections: number; log: Log }): Promise<PgCommitFigures> {
  const { url, durationS, connections, log } = options;
  const schema = uniqueName('bench_limits');
  const table = `${schema}.t`;
  const setup = await connect(url);
  const clients: pg.Client[] = [];
  let schemaCreated = false;
  try {
    const settings = await durabilitySettings(setup);
    // A regular table, not a TEMP one: temporary tables are not WAL-logged, so their commits
    // would skip the WAL flush that is the very thing measured here.
    await setup.query(`CREATE SCHEMA ${schema}`);
    schemaCreated = true;
    await setup.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, payload text NOT NULL)`);
    for (let i = 0; i < connections; i++) clients.push(await connect(url));
    log(`limits: PostgreSQL commits on ${table}: ${connections} connection(s) for ${durationS} s (${settings})`);
    const started = performance.now();
    const perClient = await Promise.all(clients.map((client) => commitLoop(client, table, started + durationS * 1_000)));
    const elapsedS = (performance.now() - started) / 1_000;
    const latencies = perClient.flat();
    const figures = {
      durationS,
      commits: latencies.length,
      commitsPerSec: round(latencies.length / elapsedS),
      connections,
      p50Ms: percentileOf(latencies, 50),
      p99Ms: percentileOf(latencies, 99),
      method:
        `BEGIN; INSERT of one ${PAYLOAD.length}-byte row; COMMIT, in a loop on each of ${connections} connection(s) for ${durationS} s, ` +
        `latency per transaction, with the server's default durability (${settings}).`,
    };
    log(`limits: PostgreSQL ${figures.commitsPerSec} commits/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms`);
    return figures;
  } finally {
    await cleanUp(log, [
      ...clients.map((client, i): [string, () => Promise<unknown>] => [`closing PostgreSQL connection ${i + 1}`, () => client.end()]),
      ['dropping the PostgreSQL schema', async () => schemaCreated && setup.query(`DROP SCHEMA ${schema} CASCADE`)],
      ['closing the PostgreSQL setup connection', () => setup.end()],
    ]);
  }
}
