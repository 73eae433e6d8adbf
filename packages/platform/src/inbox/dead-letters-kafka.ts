import { randomUUID } from 'node:crypto';
import {
  Admin,
  Consumer,
  ListOffsetTimestamps,
  MessagesStreamModes,
  stringDeserializers,
  type BaseOptions,
} from '@platformatic/kafka';
import type { StoredMessage } from './stored-message.ts';

/**
 * Reads a whole Kafka topic once, for `npm run dead-letters` (and the e2e tests' look into the
 * log, test/e2e/event-log.ts): every message from the earliest
 * offsets to the end offsets seen when the read started, in order per partition. A consumer in a
 * throwaway group (deleted afterwards) reads them and commits nothing, so no service's group and
 * no offset moves. Loaded only on the production profile, like the Kafka transport.
 */
export async function readKafkaTopic(
  brokers: string[],
  topic: string,
  options: { clientId?: string; timeoutMs?: number } = {},
): Promise<StoredMessage[]> {
  const client: BaseOptions = {
    clientId: options.clientId ?? `dead-letters-${process.pid}`,
    bootstrapBrokers: brokers,
    connectTimeout: 3_000,
    timeout: 10_000,
    retries: 3,
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const admin = new Admin({ ...client, clientId: `${client.clientId}-admin` });
  admin.on('error', () => {});
  try {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (count === 0) return [];
    const partitions = Array.from({ length: count }, (_, i) => i);
    const offsets = async (timestamp: bigint) => {
      const listed = await admin.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      });
      const result = new Map<number, bigint>();
      for (const t of listed) if (t.name === topic) for (const p of t.partitions) result.set(p.partitionIndex, p.offset);
      return result;
    };
    const [earliest, latest] = await Promise.all([offsets(ListOffsetTimestamps.EARLIEST), offsets(ListOffsetTimestamps.LATEST)]);
    const remaining = new Map<number, bigint>(); // partition -> the last offset to read
    for (const [partition, end] of latest) if (end > (earliest.get(partition) ?? 0n)) remaining.set(partition, end - 1n);
    if (remaining.size === 0) return [];

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
    const messages: Array<StoredMessage & { position: bigint }> = [];
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`reading ${topic}: still waiting for partitions ${[...remaining.keys()].join(', ')} after ${timeoutMs} ms`)),
            timeoutMs,
          );
          const finish = (error?: Error) => {
            clearTimeout(timer);
            if (error) reject(error);
            else resolve();
          };
          stream.on('error', finish);
          stream.on('data', (message) => {
            const last = remaining.get(message.partition);
            if (last === undefined || message.offset > last) return;
            const headers: Record<string, string> = {};
            for (const [key, value] of message.headers) if (key !== undefined) headers[key] = value ?? '';
            messages.push({
              partition: message.partition,
              offset: String(message.offset),
              position: message.offset,
              key: message.key ?? '',
              headers,
              value: message.value ?? '',
            });
            if (message.offset === last) remaining.delete(message.partition);
            if (remaining.size === 0) finish();
          });
        });
      } finally {
        await stream.close().catch(() => stream.destroy());
      }
    } finally {
      await consumer.close(true).catch(() => {});
      await admin.deleteGroups({ groups: [groupId] }).catch(() => {});
    }
    messages.sort((a, b) => a.partition - b.partition || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    return messages.map(({ position: _position, ...message }) => message);
  } finally {
    await admin.close().catch(() => {});
  }
}
