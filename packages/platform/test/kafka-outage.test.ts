import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { Admin } from '@platformatic/kafka';
import pino from 'pino';
import { openKafkaTransport } from '../src/messaging/kafka.ts';
import type { Delivery, TransportMessage } from '../src/messaging/transport.ts';
import { defer, tempDir, waitFor } from './helpers.ts';

/**
 * The Kafka adapter while its broker goes away and comes back. The shared broker of
 * `npm run infra:up` is left alone: this test runs a private single-node broker of its own, from
 * the jars infra:up cached, on free ports, and kills it. Skipped when Java or the jars are missing.
 */
const kafkaVersion = process.env.KAFKA_VERSION ?? '4.1.2';
const cacheDir = process.env.INFRA_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'medical-infra');
const libs = path.join(cacheDir, `kafka-${kafkaVersion}`, 'libs');
const java = process.env.JAVA ?? 'java';
const logger = pino({ level: process.env.KAFKA_TEST_LOG_LEVEL ?? 'silent' });

function skipReason(): string | undefined {
  if (!process.env.KAFKA_BROKERS) return 'KAFKA_BROKERS is not set: the production-profile tests are skipped (eval "$(npm run -s infra:up)" to run them)';
  if (!fs.existsSync(libs)) return `no Kafka jars in ${libs} (run npm run -s infra:up once)`;
  if (spawnSync(java, ['-version']).status !== 0) return `no Java at ${java}`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A private single-node KRaft broker in `dir`; `start` and `kill` can be repeated on the same data. */
class PrivateBroker {
  readonly bootstrap: string;
  private readonly config: string;
  private process: ChildProcess | undefined;
  private output = '';

  private constructor(dir: string, port: number, controllerPort: number) {
    this.bootstrap = `127.0.0.1:${port}`;
    this.config = path.join(dir, 'server.properties');
    fs.writeFileSync(
      this.config,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'controller.listener.names=CONTROLLER',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${path.join(dir, 'data')}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=3',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'default.replication.factor=1',
        'min.insync.replicas=1',
        'group.initial.rebalance.delay.ms=0',
        'auto.create.topics.enable=false',
        'num.network.threads=1',
        'num.io.threads=2',
        '',
      ].join('\n'),
    );
  }

  static async create(dir: string): Promise<PrivateBroker> {
    const broker = new PrivateBroker(dir, await freePort(), await freePort());
    // A cluster id is 16 random bytes in URL-safe base64, as StorageTool random-uuid prints it.
    const format = spawnSync(
      java,
      ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format',
        '--cluster-id', randomBytes(16).toString('base64url'), '--config', broker.config, '--ignore-formatted'],
      { encoding: 'utf8' },
    );
    assert.equal(format.status, 0, `formatting the private broker failed: ${format.stderr}`);
    return broker;
  }

  async start(): Promise<void> {
    this.output = '';
    const child = spawn(
      java,
      ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
        `-Dkafka.logs.dir=${path.dirname(this.config)}`, '-cp', `${libs}/*`, 'kafka.Kafka', this.config],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    child.stderr!.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000)));
    this.process = child;
    const admin = new Admin({ clientId: 'outage-probe', bootstrapBrokers: [this.bootstrap], retries: 0, connectTimeout: 1_000 });
    try {
      await waitFor(
        'the private broker to serve',
        async () => {
          if (child.exitCode !== null) throw new Error(`the private broker exited: ${this.output}`);
          try {
            await admin.metadata({ topics: [], forceUpdate: true, retries: 0 });
            return true;
          } catch {
            return false;
          }
        },
        60_000,
        250,
      );
    } finally {
      await admin.close();
    }
  }

  /** Gone at once, as in a crash or a network cut. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

function message(topic: string, seq: number): TransportMessage {
  return { topic, key: `visit-${seq % 4}`, headers: { ce_id: `m-${seq}` }, value: JSON.stringify({ seq }) };
}

async function publishEventually(transport: { publish(m: TransportMessage[]): Promise<void> }, messages: TransportMessage[]) {
  // As the outbox relay does: retry with a pause until the broker takes them.
  await waitFor(
    'a publish to succeed',
    async () => {
      try {
        await transport.publish(messages);
        return true;
      } catch {
        return false;
      }
    },
    45_000,
    200,
  );
}

test('publish fails while the broker is away; publishing and consuming resume when it is back', { skip: skipReason() }, async (t: TestContext) => {
  const broker = await PrivateBroker.create(tempDir(t, 'kafka-outage-'));
  defer(t, () => broker.kill());
  await broker.start();

  const id = randomUUID().slice(0, 8);
  const topic = `outage-${id}`;
  const transport = await openKafkaTransport({
    brokers: [broker.bootstrap],
    clientId: 'outage-test',
    topics: [topic, `${topic}.dlq`],
    partitions: 3,
    replicationFactor: 1,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 300,
    logger,
    retryBaseDelayMs: 20,
  });
  defer(t, () => transport.close());
  const seen: Delivery[] = [];
  await transport.subscribe({ group: `outage-group-${id}`, topic, handle: async (d) => void seen.push(d) });
  await transport.publish([1, 2, 3, 4, 5].map((seq) => message(topic, seq)));
  await waitFor('the first five', () => seen.length >= 5, 15_000);

  await broker.kill();
  let started = Date.now();
  await assert.rejects(transport.ping(), 'ping fails while the broker is away');
  assert.ok(Date.now() - started < 3_000);
  started = Date.now();
  await assert.rejects(transport.publish([message(topic, 6)]), 'publish fails while the broker is away');
  assert.ok(Date.now() - started < 15_000, `publish failed after ${Date.now() - started} ms`);
  // The consumer keeps failing and retrying meanwhile; the process must not crash.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  await broker.start();
  await transport.ping();
  await publishEventually(transport, [6, 7, 8, 9, 10].map((seq) => message(topic, seq)));
  await waitFor('the consumer to resume', () => new Set(seen.map((d) => d.headers.ce_id)).size === 10, 45_000);
  const ids = new Set(seen.map((d) => d.headers.ce_id));
  assert.deepEqual([...ids].sort(), Array.from({ length: 10 }, (_, i) => `m-${i + 1}`).sort());
});
