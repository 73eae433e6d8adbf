import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import { freePort } from '../../../scripts/lib/processes.ts';
import { shellQuote, watchOwner, type Watchdog } from './watchdog.ts';

/**
 * A single-node Kafka broker (KRaft, broker and controller in one JVM) of the test's own, on
 * free ports, from the jars `npm run infra:up` caches: a test can stop it, kill it and start it
 * again without disturbing the shared broker on 127.0.0.1:9092 that other suites use (java -cp
 * 'libs/*' kafka.Kafka server.properties, after kafka.tools.StorageTool format). Used by the
 * production e2e tests and by packages/platform/test/kafka-outage.test.ts.
 *
 *   const broker = await DedicatedKafkaBroker.create('outages');
 *   await broker.start();            // resolves once the broker answers a metadata request
 *   ... KAFKA_BROKERS = broker.bootstrap ...
 *   await broker.kill();             // gone at once (SIGKILL), data kept
 *   await broker.start();            // back on the same ports and data
 *   await broker.close();            // killed, its folder removed
 *
 * The broker never outlives the test process: `close` ends it, an exit handler SIGKILLs it, and
 * a watchdog (see watchdog.ts) kills it and removes its folder if the test process is killed.
 */

const kafkaVersion = process.env.KAFKA_VERSION ?? '4.1.2';
const cacheDir = process.env.INFRA_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'medical-infra');
export const KAFKA_LIBS = path.join(cacheDir, `kafka-${kafkaVersion}`, 'libs');
const java = process.env.JAVA ?? 'java';

const START_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const OUTPUT_LIMIT = 64 * 1024;

/** Why a dedicated broker cannot run here, or undefined when it can. */
export function dedicatedKafkaSkipReason(): string | undefined {
  if (!fs.existsSync(KAFKA_LIBS)) return `no Kafka jars in ${KAFKA_LIBS} (run npm run -s infra:up once to cache them)`;
  if (spawnSync(java, ['-version']).status !== 0) return `no Java at ${java} (the dedicated Kafka broker needs Java 17+)`;
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DedicatedKafkaBroker {
  /** host:port for KAFKA_BROKERS. */
  readonly bootstrap: string;
  readonly port: number;
  /** The broker's folder: server.properties, data/, pid. */
  readonly dir: string;
  private readonly config: string;
  private readonly pidFile: string;
  private readonly watchdog: Watchdog;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private captured = '';
  private readonly onExit = () => this.child?.kill('SIGKILL');

  private constructor(dir: string, port: number, controllerPort: number) {
    this.dir = dir;
    this.port = port;
    this.bootstrap = `127.0.0.1:${port}`;
    this.config = path.join(dir, 'server.properties');
    this.pidFile = path.join(dir, 'broker.pid');
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
        'num.partitions=3',
        'group.initial.rebalance.delay.ms=0',
        // A broker coming back from a kill registers again once the controller has fenced its
        // previous incarnation: with the defaults (9 s) that alone takes longer than most outages.
        'broker.session.timeout.ms=2000',
        'broker.heartbeat.interval.ms=500',
        // As the shared broker (infra/kafka/up.sh): the services create their topics on purpose.
        'auto.create.topics.enable=false',
        'num.network.threads=2',
        'num.io.threads=2',
        '',
      ].join('\n'),
    );
    this.watchdog = watchOwner(`kill -9 "$(cat ${shellQuote(this.pidFile)} 2>/dev/null)" 2>/dev/null; rm -rf ${shellQuote(dir)}`);
    process.on('exit', this.onExit);
  }

  /** Formats the storage of a new broker in a temporary folder (not started yet). */
  static async create(label: string): Promise<DedicatedKafkaBroker> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-kafka-${label}-`));
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const broker = new DedicatedKafkaBroker(dir, port, controllerPort);
    const format = spawnSync(
      java,
      ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', `${KAFKA_LIBS}/*`, 'kafka.tools.StorageTool', 'format',
        '--cluster-id', randomClusterId(), '--config', broker.config, '--ignore-formatted'],
      { encoding: 'utf8' },
    );
    if (format.status !== 0) {
      await broker.close();
      throw new Error(`formatting the dedicated Kafka broker failed (exit ${format.status}): ${format.stderr}${format.stdout}`);
    }
    return broker;
  }

  isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The broker's recent output (its log goes to stdout), for failure messages. */
  output(): string {
    return this.captured;
  }

  /** Starts the broker on its ports and data; resolves once it answers a metadata request. */
  async start(): Promise<void> {
    if (this.isRunning()) throw new Error('the dedicated Kafka broker is already running');
    this.captured = '';
    const child = spawn(
      java,
      ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
        `-Dkafka.logs.dir=${this.dir}`, '-cp', `${KAFKA_LIBS}/*`, 'kafka.Kafka', this.config],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.captured = (this.captured + chunk.toString()).slice(-OUTPUT_LIMIT);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    if (child.pid !== undefined) fs.writeFileSync(this.pidFile, String(child.pid));

    const admin = new Admin({ clientId: 'e2e-dedicated-broker-probe', bootstrapBrokers: [this.bootstrap], retries: 0, connectTimeout: 1_000 });
    admin.on('error', () => {});
    const deadline = Date.now() + START_TIMEOUT_MS;
    try {
      for (;;) {
        if (!this.isRunning()) throw new Error(`the dedicated Kafka broker exited while starting:\n${this.captured.slice(-4000)}`);
        try {
          await admin.metadata({ topics: [], forceUpdate: true, retries: 0 });
          return;
        } catch {
          // Not serving yet.
        }
        if (Date.now() >= deadline) {
          throw new Error(`the dedicated Kafka broker did not serve on ${this.bootstrap} within ${START_TIMEOUT_MS} ms:\n${this.captured.slice(-4000)}`);
        }
        await sleep(250);
      }
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  /** Gone at once, as in a crash or a network cut (SIGKILL); the data stays for the next start. */
  async kill(): Promise<void> {
    if (!this.isRunning()) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }

  /** A controlled shutdown (SIGTERM), SIGKILL after 30 s. */
  async stop(): Promise<void> {
    if (!this.isRunning()) return;
    const child = this.child!;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the broker and removes its folder (kept with `keep`, for a look after a failure). */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    await this.kill();
    process.removeListener('exit', this.onExit);
    this.watchdog.disarm();
    if (!options.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A cluster id as StorageTool random-uuid prints it: 16 random bytes in URL-safe base64, drawn
 * again when it starts with '-' (as Kafka's Uuid.randomUuid does), since the tool's argument
 * parser reads such an id as an option and refuses to format.
 */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

