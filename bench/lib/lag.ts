import {
  Admin,
  FindCoordinatorKeyTypes,
  kGetApi,
  kGetBootstrapConnection,
  kGetConnection,
  ListOffsetTimestamps,
  type Broker,
  type Connection,
} from '@platformatic/kafka';
import { CONSUMER_GROUPS } from '../../test/e2e/event-log.ts';
import type { TestSystem } from '../../test/e2e/helpers.ts';

/**
 * How far behind the system's consumer groups are, read as often as the bench watches them
 * (every 250 ms during scenario 3, every 100 ms while settling) at the least cost to the system
 * under test.
 *
 * On Kafka the harness's lag report goes through the platform's transport, whose lag() asks for
 * forced metadata itself and again inside each of the Admin's listOffsets (latest and earliest),
 * then finds the group's coordinator and fetches its offsets: about seven requests per group,
 * some thirty per reading of four groups and the log's end, most of them metadata the broker
 * answers from its whole cluster state. Here the partitions, their leaders, the groups'
 * coordinator and the log's start are learnt once, and each reading is one ListOffsets (the
 * partitions' ends) and one OffsetFetch (every group's commits) per broker concerned: two requests
 * on the one broker of this machine. The requests it sends are counted, so that the broker-side
 * request counts can leave out the bench's own.
 *
 * On the embedded profile the harness's report is read as it is: it reads the log's SQLite file,
 * with no broker to load.
 */

export type LagWatch = {
  /** The largest consumer group's lag, in events. */
  largest(): Promise<number>;
  /** Kafka requests this watch has sent so far, by request type (none on the embedded log). */
  requestsSent(): Record<string, number>;
  close(): Promise<void>;
};

export async function openLagWatch(bench: TestSystem): Promise<LagWatch> {
  if (bench.profile === 'embedded' || !bench.topics) {
    return {
      async largest() {
        const report = await bench.events.lagReport();
        return Math.max(0, ...Object.values(report.lag));
      },
      requestsSent: () => ({}),
      async close() {},
    };
  }
  const brokers = (bench.env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  return KafkaLagWatch.open(brokers, bench.topics.events, CONSUMER_GROUPS);
}

type Api = ((...args: any[]) => void) & { async(connection: Connection, ...args: any[]): Promise<any>; version: number };
type PartitionAt = { index: number; leaderEpoch: number; leader: Broker };

type KafkaLagWatchParts = {
  admin: Admin;
  topic: string;
  groups: readonly string[];
  /** The topic's partitions, grouped by the broker that leads them. */
  byLeader: Map<string, PartitionAt[]>;
  /** The groups, grouped by their coordinator. */
  coordinators: Map<string, { broker: Broker; groups: string[] }>;
  listOffsets: Api;
  offsetFetch: Api;
};

class KafkaLagWatch implements LagWatch {
  private readonly sent = { ListOffsets: 0, OffsetFetch: 0 };
  private readonly parts: KafkaLagWatchParts;
  /** Where a group without a commit on a partition starts: the log's start, which nothing deletes during a run. */
  private readonly starts = new Map<number, bigint>();

  private constructor(parts: KafkaLagWatchParts) {
    this.parts = parts;
  }

  static async open(brokers: string[], topic: string, groups: readonly string[]): Promise<KafkaLagWatch> {
    const admin = new Admin({ clientId: `bench-lag-${process.pid}`, bootstrapBrokers: brokers, connectTimeout: 3_000, timeout: 5_000, retries: 3 });
    admin.on('error', () => {});
    try {
      const metadata = await admin.metadata({ topics: [topic] });
      const partitions = metadata.topics.get(topic)?.partitions ?? [];
      if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
      const byLeader = new Map<string, PartitionAt[]>();
      partitions.forEach((p, index) => {
        const leader = metadata.brokers.get(p.leader);
        if (!leader) throw new Error(`partition ${index} of ${topic} has no known leader`);
        const key = `${leader.host}:${leader.port}`;
        byLeader.set(key, [...(byLeader.get(key) ?? []), { index, leaderEpoch: p.leaderEpoch, leader }]);
      });
      const [listOffsets, offsetFetch, findCoordinator] = await Promise.all(['ListOffsets', 'OffsetFetch', 'FindCoordinator'].map((name) => apiOf(admin, name)));
      // Version 8 fetches the offsets of several groups in one request (Kafka 3.0 and later).
      if (offsetFetch!.version < 8) throw new Error(`the broker's OffsetFetch is version ${offsetFetch!.version}; the bench needs 8 or later`);
      if (findCoordinator!.version < 4) throw new Error(`the broker's FindCoordinator is version ${findCoordinator!.version}; the bench needs 4 or later`);
      const found = await findCoordinator!.async(await bootstrapConnection(admin), FindCoordinatorKeyTypes.GROUP, [...groups]);
      const coordinators = new Map<string, { broker: Broker; groups: string[] }>();
      for (const c of found.coordinators as Array<{ key: string; host: string; port: number; errorCode: number }>) {
        if (c.errorCode !== 0) throw new Error(`no coordinator for group ${c.key} (error ${c.errorCode})`);
        const key = `${c.host}:${c.port}`;
        const entry = coordinators.get(key) ?? { broker: { host: c.host, port: c.port }, groups: [] };
        entry.groups.push(c.key);
        coordinators.set(key, entry);
      }
      const watch = new KafkaLagWatch({ admin, topic, groups, byLeader, coordinators, listOffsets: listOffsets!, offsetFetch: offsetFetch! });
      for (const [index, offset] of await watch.offsets(ListOffsetTimestamps.EARLIEST)) watch.starts.set(index, offset);
      return watch;
    } catch (error) {
      await admin.close().catch(() => undefined);
      throw error;
    }
  }

  requestsSent(): Record<string, number> {
    return { ...this.sent };
  }

  async largest(): Promise<number> {
    const [ends, committed] = await Promise.all([this.offsets(ListOffsetTimestamps.LATEST), this.committed()]);
    let largest = 0;
    for (const group of this.parts.groups) {
      let lag = 0n;
      for (const [index, end] of ends) {
        const from = committed.get(group)?.get(index) ?? this.starts.get(index) ?? 0n;
        if (end > from) lag += end - from;
      }
      if (Number(lag) > largest) largest = Number(lag);
    }
    return largest;
  }

  /** The partitions' offsets at `timestamp` (latest: their ends), one ListOffsets per leader. */
  private async offsets(timestamp: bigint): Promise<Map<number, bigint>> {
    const result = new Map<number, bigint>();
    await Promise.all(
      [...this.parts.byLeader.values()].map(async (partitions) => {
        const connection = await connectionTo(this.parts.admin, partitions[0]!.leader);
        this.sent.ListOffsets += 1;
        const response = await this.parts.listOffsets.async(connection, -1, 0, [
          { name: this.parts.topic, partitions: partitions.map((p) => ({ partitionIndex: p.index, currentLeaderEpoch: p.leaderEpoch, timestamp })) },
        ]);
        for (const t of response.topics) for (const p of t.partitions) result.set(p.partitionIndex, p.offset);
      }),
    );
    return result;
  }

  /** Every group's committed offsets, one OffsetFetch per coordinator. */
  private async committed(): Promise<Map<string, Map<number, bigint>>> {
    const result = new Map<string, Map<number, bigint>>();
    const partitionIndexes = [...this.parts.byLeader.values()].flat().map((p) => p.index);
    await Promise.all(
      [...this.parts.coordinators.values()].map(async ({ broker, groups }) => {
        const connection = await connectionTo(this.parts.admin, broker);
        this.sent.OffsetFetch += 1;
        const response = await this.parts.offsetFetch.async(
          connection,
          groups.map((groupId) => ({ groupId, memberId: null, memberEpoch: -1, topics: [{ name: this.parts.topic, partitionIndexes }] })),
          false,
        );
        for (const g of response.groups) {
          const offsets = new Map<number, bigint>();
          for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) offsets.set(p.partitionIndex, p.committedOffset);
          result.set(g.groupId, offsets);
        }
      }),
    );
    return result;
  }

  async close(): Promise<void> {
    await this.parts.admin.close().catch(() => undefined);
  }
}

function apiOf(admin: Admin, name: string): Promise<Api> {
  return new Promise((resolve, reject) => (admin as any)[kGetApi](name, (error: Error | null, api: Api) => (error ? reject(error) : resolve(api))));
}

function connectionTo(admin: Admin, broker: Broker): Promise<Connection> {
  return new Promise((resolve, reject) => (admin as any)[kGetConnection](broker, (error: Error | null, connection: Connection) => (error ? reject(error) : resolve(connection))));
}

function bootstrapConnection(admin: Admin): Promise<Connection> {
  return new Promise((resolve, reject) => (admin as any)[kGetBootstrapConnection]((error: Error | null, connection: Connection) => (error ? reject(error) : resolve(connection))));
}
