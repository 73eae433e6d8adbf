import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  ListOffsetTimestamps,
  MessagesStreamModes,
  stringDeserializers,
  type BaseOptions,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
import { KafkaTlsError, explainTlsFailure, kafkaTlsOptions, watchTlsFailures } from '../transport/kafka-tls.ts';
import type { KafkaTlsSettings } from '../transport/transport-config.ts';
import type { StoredMessage } from './stored-message.ts';

/**
 * Reads a whole Kafka topic once, for `npm run dead-letters` (and the e2e tests' look into the
 * log, test/e2e/event-log.ts): every message from the earliest
 * offsets to the end offsets seen when the read started, in order per partition. A consumer in a
 * throwaway group (deleted afterwards) reads them and commits nothing, so no service's group and
 * no offset moves. Loaded only on the production profile, like the Kafka transport. With `tls`
 * (the services' KAFKA_TLS settings) it connects like their transport does (transport/kafka-tls.ts),
 * and certificates that do not fit fail the read with a KafkaTlsError naming the settings.
 */
export async function readKafkaTopic(
  brokers: string[],
  topic: string,
  options: { clientId?: string; timeoutMs?: number; tls?: KafkaTlsSettings } = {},
): Promise<StoredMessage[]> {
  const client: BaseOptions = {
    clientId: options.clientId ?? `dead-letters-${process.pid}`,
    bootstrapBrokers: brokers,
    connectTimeout: 3_000,
    timeout: 10_000,
    retries: 3,
    ...kafkaTlsOptions(options.tls, brokers),
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const admin = new Admin({ ...client, clientId: `${client.clientId}-admin` });
  admin.on('error', () => {});
  // The admin asks first: a refused certificate shows there, on its connection.
  let tlsFailure: string | undefined;
  const tlsError = (error: unknown) => {
    const tls = explainTlsFailure(error) ?? tlsFailure;
    return tls ? new KafkaTlsError(`TLS with Kafka at ${brokers.join(',')}: ${tls}`, { cause: error }) : undefined;
  };
  if (options.tls) watchTlsFailures(admin, (explanation) => (tlsFailure = explanation));
  try {
    // With TLS, one request without the library's retries first: certificates that do not fit
    // are known after one handshake. Any other failure is left to the read's own retries.
    const probe = options.tls ? await admin.metadata({ topics: [], forceUpdate: true, retries: 0 }).then(() => undefined, tlsError) : undefined;
    if (probe) throw probe;
    const lastOffsets = await lastOffsetsToRead(admin, topic);
    if (lastOffsets.size === 0) return [];
    return inLogOrder(await readInThrowawayGroup(client, admin, topic, lastOffsets, timeoutMs));
  } catch (error) {
    throw (error instanceof KafkaTlsError ? undefined : tlsError(error)) ?? error;
  } finally {
    await admin.close().catch(() => {});
  }
}

type StringMessage = Message<string, string, string, string>;

/** A message as read, with its offset as a number too, to sort by. */
type ReadMessage = StoredMessage & { position: bigint };

/**
 * Per partition that holds messages, the offset of its last one now: the read stops there, so
 * messages published while it runs cannot keep it going.
 */
async function lastOffsetsToRead(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const lastOffsets = new Map<number, bigint>();
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
  if (count === 0) return lastOffsets;
  const partitions = Array.from({ length: count }, (_, i) => i);
  const [earliest, latest] = await Promise.all([
    offsetsAt(admin, topic, partitions, ListOffsetTimestamps.EARLIEST),
    offsetsAt(admin, topic, partitions, ListOffsetTimestamps.LATEST),
  ]);
  for (const [partition, end] of latest) if (end > (earliest.get(partition) ?? 0n)) lastOffsets.set(partition, end - 1n);
  return lastOffsets;
}

/** Each partition's offset at `timestamp` (or the earliest, or the end, as ListOffsetTimestamps names them). */
async function offsetsAt(admin: Admin, topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, bigint>> {
  const listed = await admin.listOffsets({
    topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
  });
  const result = new Map<number, bigint>();
  for (const t of listed) if (t.name === topic) for (const p of t.partitions) result.set(p.partitionIndex, p.offset);
  return result;
}

/**
 * Reads up to `lastOffsets` with a consumer in a group of its own that commits nothing, and
 * deletes the group afterwards, whatever happened: no group of a service is touched, and no
 * reader's group is left behind.
 */
async function readInThrowawayGroup(
  client: BaseOptions,
  admin: Admin,
  topic: string,
  lastOffsets: Map<number, bigint>,
  timeoutMs: number,
): Promise<ReadMessage[]> {
  const groupId = `${client.clientId}-reader-${randomUUID()}`;
  const consumer = new Consumer<string, string, string, string>({
    ...client,
    clientId: `${client.clientId}-reader`,
    groupId,
    deserializers: stringDeserializers,
    autocommit: false,
    sessionTimeout: 6_000,
    heartbeatInterval: 500,
    maxWaitTime: 200,
  });
  consumer.on('error', () => {});
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
    try {
      return await collectUpTo(stream, topic, lastOffsets, timeoutMs);
    } finally {
      await stream.close().catch(() => stream.destroy());
    }
  } finally {
    await consumer.close(true).catch(() => {});
    await admin.deleteGroups({ groups: [groupId] }).catch(() => {});
  }
}

/**
 * The stream's messages until every partition reached its last offset. A partition that never
 * gets there (its messages deleted meanwhile, a broker gone) fails the read after `timeoutMs`
 * instead of hanging it, and the error names the partitions still waited for.
 */
function collectUpTo(
  stream: MessagesStream<string, string, string, string>,
  topic: string,
  lastOffsets: Map<number, bigint>,
  timeoutMs: number,
): Promise<ReadMessage[]> {
  const remaining = new Map(lastOffsets);
  const messages: ReadMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`reading ${topic}: still waiting for partitions ${[...remaining.keys()].join(', ')} after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(messages);
    };
    stream.on('error', finish);
    stream.on('data', (message: StringMessage) => {
      const last = remaining.get(message.partition);
      if (last === undefined || message.offset > last) return;
      messages.push(readMessageOf(message));
      if (message.offset === last) remaining.delete(message.partition);
      if (remaining.size === 0) finish();
    });
  });
}

function readMessageOf(message: StringMessage): ReadMessage {
  const headers: Record<string, string> = {};
  for (const [key, value] of message.headers) if (key !== undefined) headers[key] = value ?? '';
  return {
    partition: message.partition,
    offset: String(message.offset),
    position: message.offset,
    key: message.key ?? '',
    headers,
    value: message.value ?? '',
  };
}

/** Partition by partition, each in offset order (the partitions' messages arrive interleaved). */
function inLogOrder(messages: ReadMessage[]): StoredMessage[] {
  messages.sort((a, b) => a.partition - b.partition || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  return messages.map(({ position: _position, ...message }) => message);
}
