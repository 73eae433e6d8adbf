import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPOSITORY_ROOT } from '../../scripts/lib/processes.ts';

/**
 * The Kafka broker's own count of the requests it has served, by request type: the
 * `kafka.network:type=RequestMetrics,name=RequestsPerSec,request=<type>,version=<v>` meters'
 * Count over JMX, read with the JmxTool of Kafka's tools jar (infra/kafka/tool.sh). Broker-side,
 * because the services make the requests; it counts every client of the broker, so the bench
 * leaves out its own (lag.ts counts them) and reads the counts only while its system is the
 * broker's only user (the harness lets one bench or e2e system at a time on the broker).
 *
 * JMX must answer on KAFKA_JMX_URL (default: infra/kafka's port, 127.0.0.1:9999); when it does
 * not, infra/kafka/jmx.sh is run once to turn it on in the running broker.
 */

const run = promisify(execFile);
const TOOL = path.join(REPOSITORY_ROOT, 'infra', 'kafka', 'tool.sh');
const ENABLE_JMX = path.join(REPOSITORY_ROOT, 'infra', 'kafka', 'jmx.sh');
const JMX_URL = process.env.KAFKA_JMX_URL?.trim() || 'service:jmx:rmi:///jndi/rmi://127.0.0.1:9999/jmxrmi';
const OBJECT_NAME = 'kafka.network:type=RequestMetrics,name=RequestsPerSec,*';

/**
 * Requests the cluster sends itself (KRaft's controller and quorum, the broker's registration and
 * heartbeats) and the brokers ask the controller for: none comes from a client, so none is part
 * of what a visit costs; they are reported apart.
 */
export const CLUSTER_INTERNAL_REQUESTS = new Set([
  'AddRaftVoter',
  'AllocateProducerIds',
  'AssignReplicasToDirs',
  'BeginQuorumEpoch',
  'BrokerHeartbeat',
  'BrokerRegistration',
  'ControllerRegistration',
  'DescribeQuorum',
  'EndQuorumEpoch',
  'FetchSnapshot',
  'RemoveRaftVoter',
  'UpdateRaftVoter',
  'Vote',
]);

/**
 * Meters that break another one down: the broker marks a consumer's Fetch on both `Fetch` and
 * `FetchConsumer` (a follower's on `FetchFollower`), so these are left out of every sum.
 */
const BREAKDOWN_METERS = new Set(['FetchConsumer', 'FetchFollower']);

export type RequestCounts = { atMs: number; byType: Record<string, number> };

/** The broker's request counts now, summed over the request versions. */
export async function brokerRequestCounts(): Promise<RequestCounts> {
  const { stdout } = await run(
    TOOL,
    ['org.apache.kafka.tools.JmxTool', '--jmx-url', JMX_URL, '--object-name', OBJECT_NAME, '--attributes', 'Count', '--one-time', 'true', '--report-format', 'properties'],
    { timeout: 30_000 },
  );
  const atMs = performance.now();
  const byType: Record<string, number> = {};
  // Lines such as kafka.network:type=RequestMetrics,name=RequestsPerSec,request=Produce,version=11:Count=42
  for (const [, type, count] of stdout.matchAll(/request=([A-Za-z]+)[^:\n]*:Count=(\d+)/g)) {
    if (!BREAKDOWN_METERS.has(type!)) byType[type!] = (byType[type!] ?? 0) + Number(count);
  }
  if (Object.keys(byType).length === 0) throw new Error(`JmxTool at ${JMX_URL} listed no request meters:\n${stdout.slice(0, 500)}`);
  return { atMs, byType };
}

/** Whether the broker's counts can be read; turns JMX on in our broker (infra/kafka/jmx.sh) if needed. Null when they can, else why not. */
export async function brokerCountsUnavailable(): Promise<string | null> {
  try {
    await brokerRequestCounts();
    return null;
  } catch {
    try {
      await run(ENABLE_JMX, [], { timeout: 60_000 });
      await brokerRequestCounts();
      return null;
    } catch (error) {
      return `the broker's JMX cannot be read at ${JMX_URL} (${String((error as Error).message).split('\n').slice(0, 3).join(' ')}); infra/kafka/jmx.sh turns it on`;
    }
  }
}

/** later − earlier per request type, without the types that are zero. */
function countsBetween(earlier: Record<string, number>, later: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [type, count] of Object.entries(later)) {
    const delta = count - (earlier[type] ?? 0);
    if (delta !== 0) result[type] = delta;
  }
  return result;
}

export type RequestsBetween = {
  /** The clients' requests (the bench's own left out), in all and by type. */
  clients: number;
  clientsByType: Record<string, number>;
  /** The cluster's requests to itself. */
  internalByType: Record<string, number>;
  /** The bench's own requests, left out of `clients`. */
  bench: number;
  seconds: number;
};

/**
 * What the broker served between two readings, split into the clients' requests and the
 * cluster's own; `benchFrom`/`benchTo` are the bench's own requests by type (LagWatch.requestsSent)
 * at the same moments, taken off the clients'.
 */
export function requestsBetween(from: RequestCounts, to: RequestCounts, benchFrom: Record<string, number>, benchTo: Record<string, number>): RequestsBetween {
  const served = countsBetween(from.byType, to.byType);
  const bench = countsBetween(benchFrom, benchTo);
  const clientsByType: Record<string, number> = {};
  const internalByType: Record<string, number> = {};
  for (const [type, count] of Object.entries(served)) {
    if (CLUSTER_INTERNAL_REQUESTS.has(type)) internalByType[type] = count;
    else clientsByType[type] = count - (bench[type] ?? 0);
  }
  const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, n) => total + n, 0);
  return { clients: sum(clientsByType), clientsByType, internalByType, bench: sum(bench), seconds: (to.atMs - from.atMs) / 1000 };
}
