import { randomUUID } from 'node:crypto';
import { Admin, Consumer, ListOffsetTimestamps, MessagesStreamModes, stringDeserializers } from '@platformatic/kafka';

/**
 * Every message of a system's Kafka event topic with its CloudEvents id, which the harness's
 * inspector (event-log.ts, `eventTypesByKey`) does not give. The id is what tells the two kinds
 * of "twice" apart:
 *
 * - the same event (same ce_id) on the log twice: the outbox relay published it again after a
 *   crash or an outage between its publish and the deletion of the row: at-least-once transport,
 *   which DESIGN.md section 4 allows and the consumers' inboxes absorb;
 * - two events of one type with different ids where the visit implies one: an effect applied
 *   twice, which the design forbids.
 *
 * Read like the inspector does: a consumer in a throwaway group, from the earliest offsets to the
 * end offsets seen when the read starts, committing nothing; the group is deleted afterwards.
 */

export type EventRecord = { key: string; type: string; id: string; partition: number; offset: bigint };

type Env = Record<string, string | undefined>;

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, { first: bigint; end: bigint }>> {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
  const partitions = Array.from({ length: count }, (_, i) => i);
  const result = new Map<number, { first: bigint; end: bigint }>();
  if (count === 0) return result;
  const list = (timestamp: bigint) =>
    admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
  const [earliest, latest] = await Promise.all([list(ListOffsetTimestamps.EARLIEST), list(ListOffsetTimestamps.LATEST)]);
  for (const p of latest.find((t) => t.name === topic)?.partitions ?? []) result.set(p.partitionIndex, { first: 0n, end: p.offset });
  for (const p of earliest.find((t) => t.name === topic)?.partitions ?? []) {
    const known = result.get(p.partitionIndex);
    if (known) known.first = p.offset;
  }
  return result;
}

/** The messages of the event topic of the system whose services got `env` (KAFKA_BROKERS, KAFKA_TOPIC). */
export async function readEventRecords(env: Env, timeoutMs = 30_000): Promise<EventRecord[]> {
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  const topic = env.KAFKA_TOPIC?.trim() || 'medical';
  if (brokers.length === 0) throw new Error('readEventRecords needs KAFKA_BROKERS');
  const client = { clientId: `e2e-records-${process.pid}`, bootstrapBrokers: brokers, connectTimeout: 3_000, timeout: 10_000, retries: 3 };
  const admin = new Admin(client);
  admin.on('error', () => {});
  const groupId = `e2e-records-${randomUUID()}`;
  try {
    const remaining = new Map<number, bigint>();
    for (const [partition, { first, end }] of await endOffsets(admin, topic)) if (end > first) remaining.set(partition, end - 1n);
    if (remaining.size === 0) return [];
    const consumer = new Consumer<string, string, string, string>({
      ...client,
      groupId,
      deserializers: stringDeserializers,
      autocommit: false,
      sessionTimeout: 6_000,
      heartbeatInterval: 500,
      maxWaitTime: 200,
    });
    consumer.on('error', () => {});
    const records: EventRecord[] = [];
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`reading ${topic}: partitions ${[...remaining.keys()].join(', ')} not read after ${timeoutMs} ms`)), timeoutMs);
          stream.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
          stream.on('data', (message) => {
            const last = remaining.get(message.partition);
            if (last === undefined || message.offset > last) return;
            const headers = new Map<string, string>();
            for (const [name, value] of message.headers) if (name !== undefined) headers.set(name, value ?? '');
            records.push({ key: message.key ?? '', type: headers.get('ce_type') ?? '?', id: headers.get('ce_id') ?? '?', partition: message.partition, offset: message.offset });
            if (message.offset === last) remaining.delete(message.partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
      } finally {
        await stream.close().catch(() => stream.destroy());
      }
    } finally {
      await consumer.close(true).catch(() => {});
    }
    return records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  } finally {
    await admin.deleteGroups({ groups: [groupId] }).catch(() => {});
    await admin.close().catch(() => {});
  }
}

/** The records of each key (reception id), in log order. */
export function recordsByKey(records: EventRecord[]): Map<string, EventRecord[]> {
  const byKey = new Map<string, EventRecord[]>();
  for (const record of records) byKey.set(record.key, [...(byKey.get(record.key) ?? []), record]);
  return byKey;
}
