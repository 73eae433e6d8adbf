import {
  Admin,
  ListOffsetTimestamps,
  ProduceAcks,
  Producer,
  compatibilityPartitioner,
  findErrorBy,
  stringSerializers,
  type BaseOptions,
  type RetryDelayGetter,
} from '@platformatic/kafka';
import type { Logger } from 'pino';
import { backoffDelay, sleep } from '../lib/sleep.ts';
import { KafkaSubscription, withTimeout, type KafkaSubscriptionSettings } from './kafka-subscription.ts';
import { KafkaTlsError, explainTlsFailure, kafkaTlsOptions, watchTlsFailures } from './kafka-tls.ts';
import type { KafkaTlsSettings, TransportConfig } from './transport-config.ts';
import { MessageRefusedError, type EventTransport, type SubscribeOptions, type Subscription, type TransportMessage } from './transport.ts';

/**
 * The production transport: Apache Kafka through @platformatic/kafka.
 *
 * - Producer: idempotent, acks=all, string serialisers, the Java client's partitioner (murmur2
 *   of the key), so every event of one visit lands in one partition whatever client wrote it.
 *   Publishes run one at a time, each batch in order, so events of one key never overtake.
 * - Consumers: one Consumer per subscription in the service's group, offsets committed by hand
 *   after each handled message (see kafka-subscription.ts).
 * - Admin: creates the topics at start-up, answers lag, rewind, group activity and pings.
 * - With `tls` (KAFKA_TLS=true) every one of them connects with TLS, verifying the brokers'
 *   certificates and names, and presents the client certificate if one is set (kafka-tls.ts).
 */
export type KafkaTransportOptions = {
  brokers: string[];
  clientId: string;
  /** Topics created at start-up when missing (the event topic and its dead-letter topic). */
  topics: string[];
  /** retention.ms per topic, for the topics it creates (none: the broker's default). */
  topicRetentionMs?: Readonly<Record<string, number>>;
  partitions: number;
  replicationFactor: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Set: TLS with the brokers; the PEM files are read when the transport is made. */
  tls?: KafkaTlsSettings;
  logger: Logger;
  /** Base of the backoff before a message whose handler rejected is delivered again. */
  retryBaseDelayMs?: number;
  /** Per-request timeout. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** How long `ping` waits for a metadata answer. */
  pingTimeoutMs?: number;
  /** How long `connect` keeps retrying an unreachable cluster before giving up. */
  startupTimeoutMs?: number;
  /** How long `subscribe` waits for the first group join before returning anyway. */
  joinWaitMs?: number;
};

/** The transport options for a service's configuration (which must have `kafka` set). */
export function kafkaTransportOptions(config: TransportConfig, logger: Logger): KafkaTransportOptions {
  if (!config.kafka) throw new Error('Kafka is not configured (KAFKA_BROKERS is unset)');
  return {
    ...config.kafka,
    topics: [...(config.topics ?? [config.topic, config.deadLetterTopic, config.accessLogTopic])],
    ...(config.topicRetentionMs ? { topicRetentionMs: config.topicRetentionMs } : {}),
    logger,
    retryBaseDelayMs: config.retryBaseDelayMs,
  };
}

/** Exponential backoff with jitter between the library's own retries of one request. */
const retryDelay: RetryDelayGetter = (_client, _operation, attempt) => backoffDelay(Math.max(0, attempt - 1), 200, 2_000);

/** The broker's answers that refuse a message itself, for good: sending it again cannot succeed. */
const REFUSALS = ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD'];
/** At most this many messages go into one produce request; a bigger batch is sent in order, in parts. */
const SEND_CHUNK = 200;
const SEND_CHUNK_BYTES = 512 * 1024;

export class KafkaTransport implements EventTransport {
  readonly kind = 'kafka' as const;
  private readonly options: KafkaTransportOptions;
  private readonly logger: Logger;
  private readonly client: BaseOptions;
  private readonly producer: Producer<string, string, string, string>;
  private readonly admin: Admin;
  private readonly subscriptions = new Set<KafkaSubscription>();
  /** The last TLS failure seen on a connection of the producer or the admin, to explain a failed start. */
  private tlsFailure: string | undefined;
  /** Publishes are chained so that two calls can never interleave and reorder a key's events. */
  private publishing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: KafkaTransportOptions) {
    this.options = options;
    this.logger = options.logger.child({ transport: 'kafka' });
    this.client = {
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      connectTimeout: options.connectTimeoutMs ?? 3_000,
      timeout: options.requestTimeoutMs ?? 5_000,
      retries: 3,
      retryDelay,
      ...kafkaTlsOptions(options.tls, options.brokers),
    };
    this.producer = new Producer<string, string, string, string>({
      ...this.client,
      clientId: `${options.clientId}-producer`,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      // With `idempotent` the library retries forever unless told otherwise; publish must fail
      // while the broker is away so that the outbox relay backs off and tries again.
      retries: 3,
      partitioner: compatibilityPartitioner,
    });
    this.admin = new Admin({ ...this.client, clientId: `${options.clientId}-admin` });
    // An 'error' event without a listener would crash the process.
    this.producer.on('error', (error: Error) => this.logger.warn({ err: error }, 'Kafka producer error'));
    this.admin.on('error', (error: Error) => this.logger.warn({ err: error }, 'Kafka admin error'));
    if (options.tls) {
      for (const client of [this.producer, this.admin]) {
        watchTlsFailures(client, (explanation, error) => {
          this.tlsFailure = explanation;
          this.logger.warn({ err: error }, `Kafka TLS: ${explanation}`);
        });
      }
    }
  }

  /**
   * Checks the cluster is reachable and creates the topics that do not exist yet. Retries an
   * unreachable cluster with backoff until `startupTimeoutMs`; a refused topic creation (bad
   * replication factor, no permission) fails at once, and so does TLS whose certificates do not
   * fit (a KafkaTlsError naming the settings to check): waiting would not change them.
   */
  async connect(): Promise<void> {
    const deadline = Date.now() + (this.options.startupTimeoutMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      this.tlsFailure = undefined;
      try {
        // With TLS, one request without the library's own retries first, so a refused
        // certificate is known after one handshake rather than after every retry of every request.
        if (this.options.tls) await this.admin.metadata({ topics: [], forceUpdate: true, retries: 0 });
        await this.ensureTopics();
        return;
      } catch (error) {
        const tls = explainTlsFailure(error) ?? this.tlsFailure;
        if (tls) throw new KafkaTlsError(`TLS with Kafka at ${this.options.brokers.join(',')}: ${tls}`, { cause: error });
        if (error instanceof TopicSetupError || Date.now() >= deadline) throw error;
        this.logger.warn({ err: error, brokers: this.options.brokers }, 'Kafka is not reachable yet; retrying');
        await sleep(Math.min(backoffDelay(attempt, 250, 5_000), Math.max(0, deadline - Date.now())));
      }
    }
  }

  private async ensureTopics(): Promise<void> {
    const { topics, partitions, replicationFactor } = this.options;
    const existing = new Set(await this.admin.listTopics());
    for (const topic of topics) {
      if (existing.has(topic)) {
        await this.reportExisting(topic);
        continue;
      }
      try {
        const retention = this.options.topicRetentionMs?.[topic];
        const configs = retention === undefined ? [] : [{ name: 'retention.ms', value: String(retention) }];
        await this.admin.createTopics({ topics: [topic], partitions, replicas: replicationFactor, configs });
        this.logger.info({ topic, partitions, replicationFactor, retentionMs: retention }, 'created Kafka topic');
      } catch (error) {
        if (findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS')) {
          // Another replica created it a moment ago.
          await this.reportExisting(topic);
          continue;
        }
        if (findErrorBy(error as Error, 'code', 'PLT_KFK_RESPONSE')) {
          throw new TopicSetupError(`Kafka refused to create topic ${topic}: ${(error as Error).message}`, { cause: error });
        }
        throw error;
      }
    }
    await this.waitForLeaders(topics);
  }

  private async reportExisting(topic: string): Promise<void> {
    const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)?.partitionsCount;
    if (count !== undefined && count !== this.options.partitions) {
      this.logger.warn(
        { topic, partitions: count, configured: this.options.partitions },
        'Kafka topic exists with another partition count; left as it is',
      );
    } else {
      this.logger.info({ topic, partitions: count }, 'Kafka topic already exists');
    }
  }

  /** A topic just created has no partition leaders for a moment; producing then would fail. */
  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const metadata = await this.admin.metadata({ topics, forceUpdate: true });
        const ready = topics.every((topic) => {
          const t = metadata.topics.get(topic);
          return t !== undefined && t.partitions.length === t.partitionsCount && t.partitions.every((p) => p && p.leader >= 0);
        });
        if (ready) return;
      } catch (error) {
        if (Date.now() >= deadline) throw error;
      }
      if (Date.now() >= deadline) throw new Error(`Kafka topics ${topics.join(', ')} have no leaders after 15 s`);
      await sleep(100);
    }
  }

  publish(messages: TransportMessage[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the Kafka transport is closed'));
    if (messages.length === 0) return Promise.resolve();
    const run = this.publishing.then(() => this.send(messages));
    this.publishing = run.catch(() => {});
    return run;
  }

  private async send(messages: TransportMessage[]): Promise<void> {
    // Sent in order, part after part: a part starts only when the broker acknowledged the one
    // before, so nothing overtakes. The message id is not sent: consumers deduplicate by ce_id.
    let start = 0;
    while (start < messages.length) {
      let end = start;
      let bytes = 0;
      while (end < messages.length && end - start < SEND_CHUNK) {
        const m = messages[end]!;
        bytes += m.value.length + m.key.length + JSON.stringify(m.headers).length;
        if (end > start && bytes > SEND_CHUNK_BYTES) break;
        end += 1;
      }
      try {
        await this.producer.send({
          messages: messages.slice(start, end).map((m) => ({ topic: m.topic, key: m.key, headers: m.headers, value: m.value })),
        });
      } catch (error) {
        const refusal = REFUSALS.find((code) => findErrorBy(error as Error, 'apiId', code));
        if (refusal) throw new MessageRefusedError(`Kafka refused the message: ${refusal}`, { cause: error });
        throw error;
      }
      start = end;
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('the Kafka transport is closed');
    const sessionTimeoutMs = this.options.sessionTimeoutMs;
    const settings: KafkaSubscriptionSettings = {
      client: { ...this.client, clientId: `${this.options.clientId}-${options.group}` },
      sessionTimeoutMs,
      heartbeatIntervalMs: Math.min(this.options.heartbeatIntervalMs, sessionTimeoutMs),
      // This client rejoins from its heartbeat timer, independently of message handling, so the
      // rebalance timeout need not cover a slow handler; it only bounds waiting for a stuck member.
      rebalanceTimeoutMs: Math.max(sessionTimeoutMs, 30_000),
      retryBaseDelayMs: this.options.retryBaseDelayMs ?? 200,
      restartBaseDelayMs: 500,
      maxWaitTimeMs: 1_000,
      logger: this.logger,
    };
    const subscription = new KafkaSubscription(options, settings);
    this.subscriptions.add(subscription);
    subscription.start();
    await subscription.ready(this.options.joinWaitMs ?? 15_000);
    return {
      stop: async () => {
        await subscription.stop();
        this.subscriptions.delete(subscription);
      },
    };
  }

  /** The topic's partitions; from the client's cached metadata unless `fresh` (a rewind must see every one). */
  private async partitionsOf(topic: string, fresh = false): Promise<number[]> {
    const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: fresh });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    return Array.from({ length: count }, (_, i) => i);
  }

  private async offsets(topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, bigint>> {
    const listed = await this.admin.listOffsets({
      topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
    });
    const result = new Map<number, bigint>();
    for (const t of listed) {
      if (t.name !== topic) continue;
      for (const p of t.partitions) result.set(p.partitionIndex, p.offset);
    }
    return result;
  }

  private async committed(group: string, topic: string, partitions: number[]): Promise<Map<number, bigint>> {
    const groups = await this.admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: partitions }] }],
    });
    const result = new Map<number, bigint>();
    for (const g of groups) {
      if (g.groupId !== group) continue;
      for (const t of g.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) if (p.committedOffset >= 0n) result.set(p.partitionIndex, p.committedOffset);
      }
    }
    return result;
  }

  async lag(group: string, topic: string): Promise<Array<{ partition: number; lag: number }>> {
    // Read at every scrape: the partitions from cached metadata, and the log's beginning only for
    // partitions the group never committed (a metadata request and a listing fewer per scrape).
    const partitions = await this.partitionsOf(topic);
    if (partitions.length === 0) return [];
    const [latest, committed] = await Promise.all([this.offsets(topic, partitions, ListOffsetTimestamps.LATEST), this.committed(group, topic, partitions)]);
    const neverCommitted = partitions.filter((partition) => !committed.has(partition));
    const earliest = neverCommitted.length > 0 ? await this.offsets(topic, neverCommitted, ListOffsetTimestamps.EARLIEST) : new Map<number, bigint>();
    return partitions.map((partition) => {
      const end = latest.get(partition) ?? 0n;
      // A group without a commit on a partition starts at its beginning (fallback EARLIEST).
      const from = committed.get(partition) ?? earliest.get(partition) ?? 0n;
      return { partition, lag: Number(end > from ? end - from : 0n) };
    });
  }

  async rewind(group: string, topic: string): Promise<void> {
    const partitions = await this.partitionsOf(topic, true);
    if (partitions.length === 0) return;
    const earliest = await this.offsets(topic, partitions, ListOffsetTimestamps.EARLIEST);
    // An OffsetCommit outside any generation: the coordinator accepts it only while the group
    // has no members, which is exactly the precondition of a rewind.
    await this.admin.alterConsumerGroupOffsets({
      groupId: group,
      topics: [{ name: topic, partitionOffsets: partitions.map((partition) => ({ partition, offset: earliest.get(partition) ?? 0n })) }],
    });
  }

  async groupIsActive(group: string, topic: string): Promise<boolean> {
    const groups = await this.admin.describeGroups({ groups: [group] });
    const described = groups.get(group);
    if (!described) return false;
    for (const member of described.members.values()) {
      // A member whose subscription cannot be decoded is counted: better a refused rebuild than a race.
      if (!member.metadata?.topics || member.metadata.topics.includes(topic)) return true;
    }
    return false;
  }

  async ping(): Promise<void> {
    const timeoutMs = this.options.pingTimeoutMs ?? 2_000;
    await withTimeout(
      this.admin.metadata({ topics: [], forceUpdate: true, retries: 0 }),
      timeoutMs,
      `Kafka metadata request to ${this.options.brokers.join(',')}`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    this.subscriptions.clear();
    await this.publishing;
    const results = await Promise.allSettled([
      withTimeout(this.producer.close(), 10_000, 'closing the Kafka producer'),
      withTimeout(this.admin.close(), 10_000, 'closing the Kafka admin client'),
    ]);
    for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'Kafka client did not close cleanly');
  }
}

/** Topic creation refused by the cluster: a configuration problem, not worth retrying. */
export class TopicSetupError extends Error {
  override name = 'TopicSetupError';
}

/** Creates the transport and its topics; resolves once the cluster answered. */
export async function openKafkaTransport(options: KafkaTransportOptions): Promise<KafkaTransport> {
  const transport = new KafkaTransport(options);
  try {
    await transport.connect();
  } catch (error) {
    await transport.close();
    throw error;
  }
  return transport;
}
