import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { SERVICE_NAMES, type ServiceName } from '../../scripts/lib/processes.ts';
import { describeProduction, eventually, startTestSystem, waitForQuiescence, type TestSystem } from './helpers.ts';
import { DedicatedKafkaBroker, dedicatedKafkaSkipReason } from './support/kafka-broker.ts';
import { DedicatedPostgres, dedicatedPostgresSkipReason } from './support/postgres-cluster.ts';
import { TcpProxy } from './support/tcp-proxy.ts';
import { RecordingClient, RetryingClient, assertEndState, describeExchanges, driveVisit, planFor, type DrivenVisit, type Exchange } from './support/visits.ts';

/**
 * A PostgreSQL failover that the services ride through (issue 19), as on Kubernetes, where
 * PostgreSQL is CloudNativePG: a primary and a standby in synchronous replication (a quorum of
 * one, as the azure overlay has it), and the services reach the primary through one address (the
 * postgres-rw Service; here a TCP forwarder, support/tcp-proxy.ts). While visits are driven, the
 * primary crashes (pg_ctl stop -m immediate), the standby is promoted and the address switched to
 * it. Then every service is ready again by itself, every visit goes on to its end, nothing is lost
 * or doubled, and every commit acknowledged before the crash is on the new primary.
 *
 * The standby reaches the primary through a forwarder of its own too (the network between two
 * zones), which stalls for a moment before the crash, and what it still holds then is lost with
 * the primary: the standby is behind when the primary goes, as it may be in life. Synchronous
 * replication is what keeps that from losing an acknowledged commit: while the standby receives
 * nothing, no commit is acknowledged (the clients wait, then get 503 and send again); with
 * asynchronous replication the commits acknowledged meanwhile would be missing after the failover.
 *
 * The clients behave as the console does after a failure: a command answered 503 (the database
 * is away) or not answered at all is sent again with the same Idempotency-Key, so it executes once
 * whatever happened to the first attempt; a read is simply sent again. Every attempt is recorded,
 * and none may be answered anything but a success or 503 problem+json: never a 500.
 *
 * The system runs on a PostgreSQL pair and a Kafka broker of this file's own (support/), as in
 * production-outages.test.ts: crashing them disturbs no other suite, and the harness's turn on a
 * broker (an advisory lock on the server of DATABASE_URL) stays with the broker it is about.
 */

/** Desks at work at the same time, each driving whole visits one after the other. */
const DESKS = 6;
/** The crash comes once this many receptions are registered and some visits are done. */
const REGISTERED_BEFORE_CRASH = 12;
const DONE_BEFORE_CRASH = 3;
/** How long the standby receives nothing before the primary crashes. */
const STALL_MS = 1_500;
/** After every service is ready again, the desks go on until this many more visits are registered. */
const REGISTERED_AFTER_READY = 12;
/** How long one attempt may wait for an answer, and how long a request is retried in all. */
const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRY_FOR_MS = 90_000;
const STEP_TIMEOUT_MS = 120_000;
/** How long the services have to be ready again after the address has been switched. */
const READY_AGAIN_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


async function readyz(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * Desks at work: each drives whole visits (planFor) one after the other until `stop`, which
 * lets the visit in hand finish and returns the visits driven to their end and the failures;
 * `halt` only tells them to stop.
 */
function desksAtWork(client: RetryingClient, prefix: string, desks: number) {
  let stopping = false;
  let next = 0;
  const driven: DrivenVisit[] = [];
  const errors: string[] = [];
  const desk = async () => {
    while (!stopping) {
      const plan = planFor(next++, prefix);
      try {
        driven.push(await driveVisit(client, plan, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 100 }));
      } catch (error) {
        errors.push(`${plan.label}: ${(error as Error).message}`);
      }
    }
  };
  const running = Array.from({ length: desks }, desk);
  return {
    driven,
    halt() {
      stopping = true;
    },
    async stop() {
      stopping = true;
      await Promise.all(running);
      return { driven, errors };
    },
  };
}

/**
 * Watches every service's /readyz from `start` (the crash) on: whether each was seen unready (its
 * database away), and when each first answered 200 to a question asked once the address points
 * at the new primary (`switched`).
 */
function watchReadiness(services: Array<{ name: ServiceName; url: string }>, now: () => number) {
  let switchedAt: number | undefined;
  let stopped = false;
  const unready = new Set<ServiceName>();
  const readyAt = new Map<ServiceName, number>();
  const watch = async ({ name, url }: { name: ServiceName; url: string }) => {
    while (!stopped) {
      const asked = now();
      const status = await readyz(url);
      if (status !== 200) unready.add(name);
      else if (switchedAt !== undefined && asked >= switchedAt) {
        readyAt.set(name, now());
        return;
      }
      await sleep(50);
    }
  };
  let watching: Promise<unknown> | undefined;
  return {
    unready,
    readyAt,
    start() {
      watching = Promise.all(services.map(watch));
    },
    /** Call once the address points at the new primary: from then on a 200 counts. */
    switched(at: number) {
      switchedAt = at;
    },
    /** Resolves once every service has been ready again; fails after `timeoutMs`, naming those that were not. */
    async allReady(timeoutMs: number) {
      let giveUp: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => {
        giveUp = setTimeout(() => {
          const notReady = services.map(({ name }) => name).filter((name) => !readyAt.has(name));
          reject(new Error(`not ready again ${timeoutMs} ms after the address was switched: ${notReady.join(', ')}`));
        }, timeoutMs);
      });
      await Promise.race([watching, late]).finally(() => clearTimeout(giveUp));
    },
    stop() {
      stopped = true;
    },
  };
}

/** Whether an exchange is what a client may see around a failover: a success, or 503 problem+json. */
function acceptable(e: Exchange): boolean {
  return (e.status >= 200 && e.status < 300) || (e.status === 503 && /^application\/problem\+json/.test(e.contentType));
}

describeProduction('production: a PostgreSQL failover (a primary, a synchronous standby, one address) that the services ride through', () => {
  const cannotRun = dedicatedKafkaSkipReason() ?? dedicatedPostgresSkipReason();
  if (cannotRun) {
    test('failover', { skip: cannotRun }, () => {});
    return;
  }

  let broker: DedicatedKafkaBroker | undefined;
  let primary: DedicatedPostgres | undefined;
  let standby: DedicatedPostgres | undefined;
  /** The one address of the primary, as the postgres-rw Service. */
  let proxy: TcpProxy | undefined;
  /** The network between the primary and the standby. */
  let replicationLink: TcpProxy | undefined;
  let running: TestSystem | undefined;
  const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL };
  let failures = 0;

  before(async () => {
    const started = Date.now();
    const startBroker = async () => {
      broker = await DedicatedKafkaBroker.create('failover');
      await broker.start();
    };
    const startPostgres = async () => {
      primary = await DedicatedPostgres.create('failover-primary');
      replicationLink = await TcpProxy.start(primary.port);
      standby = await primary.createStandby('failover-standby', { through: replicationLink.port });
      await primary.replicateSynchronously();
      proxy = await TcpProxy.start(primary.port);
    };
    await Promise.all([startBroker(), startPostgres()]);
    process.stderr.write(
      `# dedicated Kafka on ${broker!.bootstrap}; PostgreSQL primary on 127.0.0.1:${primary!.port}, synchronous standby on 127.0.0.1:${standby!.port}, ` +
        `the one address (the postgres-rw Service) on 127.0.0.1:${proxy!.port}; in ${Date.now() - started} ms\n`,
    );
    // The harness creates the system's database, and the services connect, through the one address.
    const throughProxy = new URL(primary!.url);
    throughProxy.port = String(proxy!.port);
    process.env.KAFKA_BROKERS = broker!.bootstrap;
    process.env.DATABASE_URL = throughProxy.toString();
    running = await startTestSystem('failover', { profile: 'production' });
  });

  afterEach((t) => {
    const passed = (t as { passed?: boolean }).passed !== false;
    if (!passed) failures += 1;
    running?.recordOutcome({ passed });
  });

  after(async () => {
    try {
      // A test that failed mid-failover may leave the address on the crashed primary: the
      // services need a database to stop cleanly, so the failover is finished.
      if (running && primary && standby && proxy?.target === primary.port && !primary.isRunning()) {
        await standby.promote().catch(() => undefined);
        proxy.switchTo(standby.port);
      }
      await running?.stop();
    } finally {
      process.env.KAFKA_BROKERS = saved.KAFKA_BROKERS;
      process.env.DATABASE_URL = saved.DATABASE_URL;
      const keep = failures > 0 || Boolean(process.env.E2E_KEEP_DATA);
      await proxy?.close();
      await replicationLink?.close();
      await broker?.close({ keep });
      await primary?.close({ keep });
      await standby?.close({ keep });
      if (keep && primary && standby) process.stderr.write(`# kept the primary's folder ${primary.dir} and the standby's ${standby.dir}\n`);
    }
  });

  /** When each step of the failover was done, on the client's clock (ms). */
  type Failover = { stallAt: number; crashAt: number; crashedAt: number; linkCutAt: number; promotedAt: number; switchedAt: number; readyAgainAt: number; cut: number };

  /**
   * The failover, with visits in flight: the standby stalls (receives nothing) for STALL_MS, the
   * primary crashes and what the standby had not received goes with it, the standby is promoted,
   * and once every service has found its database gone the one address is switched to it (as
   * CloudNativePG moves postgres-rw). Resolves when every service is ready again.
   */
  async function failOver(client: RecordingClient, readiness: ReturnType<typeof watchReadiness>, backends: ServiceName[]): Promise<Failover> {
    client.phase = 'replication stalled';
    const stallAt = client.now();
    replicationLink!.hold();
    await sleep(STALL_MS);

    client.phase = 'failover';
    const crashAt = client.now();
    readiness.start();
    await primary!.stop('immediate');
    const crashedAt = client.now();
    await replicationLink!.close();
    const linkCutAt = client.now();
    await standby!.promote();
    const promotedAt = client.now();
    // Seen now and then: a promotion that comes as the standby finds its WAL stream broken waits
    // out the standby's retry interval (5 s) first; its log shows when, should it take longer.
    if (promotedAt - linkCutAt > 2_000) process.stderr.write(`# the promotion took ${promotedAt - linkCutAt} ms; the standby's log:\n${standby!.logTail(8)}\n`);
    await eventually(() => assert.deepEqual(backends.filter((name) => !readiness.unready.has(name)), []), {
      timeoutMs: 30_000,
      intervalMs: 20,
      message: 'every backend service reports not ready while the primary is gone (its database away)',
    });
    const cut = proxy!.switchTo(standby!.port);
    const switchedAt = client.now();
    readiness.switched(switchedAt);
    client.phase = 'after the switch';
    await readiness.allReady(READY_AGAIN_TIMEOUT_MS);
    client.phase = 'ready again';
    return { stallAt, crashAt, crashedAt, linkCutAt, promotedAt, switchedAt, readyAgainAt: Math.max(...readiness.readyAt.values()), cut };
  }

  function report(client: RecordingClient, f: Failover, readiness: ReturnType<typeof watchReadiness>, visits: number): void {
    const since = (at: number | undefined) => (at === undefined ? 'never' : `+${at - f.crashAt}`);
    const perService = [...readiness.readyAt].map(([name, at]) => `${name} ${since(at)}`).join(', ');
    const answered503 = client.exchanges.filter((e) => e.status === 503);
    const when = (e: Exchange) => (e.end < f.crashAt ? 'before the crash' : e.end <= f.readyAgainAt ? 'between the crash and ready again' : 'after ready again');
    const byWhen = Object.entries(Object.groupBy(answered503, when)).map(([period, list]) => `${list!.length} ${period}`);
    const sentInStall = client.exchanges.filter((e) => e.at >= f.stallAt && e.at < f.crashAt);
    process.stderr.write(
      `# failover: the standby received nothing for ${f.crashAt - f.stallAt} ms before the crash; ${sentInStall.length} requests sent meanwhile, ` +
        `${sentInStall.filter((e) => e.status >= 200 && e.status < 300 && e.end <= f.crashAt).length} answered 2xx before the crash\n` +
        `# failover: crash ${f.crashedAt - f.crashAt} ms, the standby's link cut ${since(f.linkCutAt)} ms, promoted ${since(f.promotedAt)} ms, ` +
        `address switched ${since(f.switchedAt)} ms (${f.cut} open connections cut), every service ready again ${since(f.readyAgainAt)} ms after the crash (${perService} ms)\n` +
        `# failover: ${visits} visits by ${DESKS} desks, ${client.exchanges.length} requests, ${answered503.length} answered 503 and sent again (${byWhen.join(', ') || 'none'}), ` +
        `${client.exchanges.filter((e) => e.status === 0).length} unanswered\n`,
    );
  }

  /**
   * Synchronous replication: no command was acknowledged while the standby received nothing
   * (each commit waits for it), and every reception acknowledged (201) before the crash is on
   * the new primary.
   */
  async function assertAcknowledgedCommitsKept(client: RecordingClient, f: Failover): Promise<void> {
    const acknowledgedInStall = client.exchanges.filter((e) => e.at >= f.stallAt && e.end <= f.crashAt && e.request.startsWith('POST ') && e.status >= 200 && e.status < 300);
    assert.equal(acknowledgedInStall.length, 0, `no command should be acknowledged while the standby receives nothing:\n${describeExchanges(acknowledgedInStall)}`);
    const acknowledged = client.exchanges.filter((e) => e.request === 'POST /receptions' && e.status === 201 && e.end <= f.crashAt).map((e) => e.location!);
    assert.ok(acknowledged.length >= REGISTERED_BEFORE_CRASH, `receptions were acknowledged before the crash: ${acknowledged.length}`);
    const missing: string[] = [];
    for (const location of acknowledged) {
      const reply = await client.get(location);
      if (reply.status !== 200) missing.push(`${location} → ${reply.status}: ${reply.text.slice(0, 200)}`);
    }
    assert.deepEqual(missing, [], `every reception acknowledged before the crash should be on the promoted standby (${acknowledged.length} acknowledged)`);
    process.stderr.write(`# failover: ${acknowledged.length} receptions acknowledged before the crash, every one readable after it\n`);
  }

  /** Never a 500 nor an unanswered request; 503 problem+json only while the database was away. */
  function assertAnswers(client: RecordingClient, f: Failover): void {
    const outOfPlace = client.exchanges.filter((e) => !acceptable(e));
    assert.equal(outOfPlace.length, 0, `requests around the failover answered neither 2xx nor 503 problem+json:\n${describeExchanges(outOfPlace)}`);
    // None before the crash, and none to a request sent once every service was ready again.
    const refusedOutside = client.exchanges.filter((e) => e.status === 503 && (e.end < f.crashAt || e.at >= f.readyAgainAt));
    assert.equal(refusedOutside.length, 0, `503 outside the failover (crash +${f.crashAt} ms, ready again +${f.readyAgainAt} ms):\n${describeExchanges(refusedOutside)}`);
  }

  test('the primary crashes mid-flow, the synchronous standby is promoted and the address switched: every service ready again by itself, every visit completes, every acknowledged commit kept, nothing lost or doubled, never a 500', { timeout: 600_000 }, async () => {
    const system = running!;
    const client = new RetryingClient(system.system.gatewayUrl, { statuses: [503], attemptTimeoutMs: ATTEMPT_TIMEOUT_MS, retryForMs: RETRY_FOR_MS, firstPauseMs: 50, maxPauseMs: 1_000 });
    const services = SERVICE_NAMES.map((name) => ({ name, url: system.system.services[name].url }));
    const backends = services.map(({ name }) => name).filter((name) => name !== 'gateway');
    const crashesBefore = system.system.unexpectedExits().length;

    client.phase = 'before the crash';
    const desks = desksAtWork(client, 'failover', DESKS);
    const readiness = watchReadiness(services, () => client.now());
    let failover: Failover;
    try {
      await eventually(
        () => assert.ok(client.registeredReceptions().length >= REGISTERED_BEFORE_CRASH && desks.driven.length >= DONE_BEFORE_CRASH, 'visits under way'),
        { timeoutMs: 120_000, intervalMs: 20, message: `${REGISTERED_BEFORE_CRASH} receptions registered and ${DONE_BEFORE_CRASH} visits done before the crash` },
      );
      failover = await failOver(client, readiness, backends);
      // The desks go on with the system as it is now.
      const registeredByNow = client.registeredReceptions().length;
      await eventually(() => assert.ok(client.registeredReceptions().length >= registeredByNow + REGISTERED_AFTER_READY, 'visits registered after the failover'), {
        timeoutMs: 120_000,
        intervalMs: 50,
        message: `${REGISTERED_AFTER_READY} more receptions registered once every service is ready again`,
      });
    } catch (error) {
      // Visits that cannot end would keep the desks, and this process, going for ever.
      desks.halt();
      client.close();
      throw error;
    } finally {
      readiness.stop();
    }
    const { driven, errors } = await desks.stop();
    report(client, failover, readiness, driven.length);

    assert.deepEqual(system.system.unexpectedExits().slice(crashesBefore), [], 'no service should end on its own: each rides through the failover');
    // A lost commit explains failed visits better than they do: the replication's checks first.
    await assertAcknowledgedCommitsKept(client, failover);
    assertAnswers(client, failover);
    assert.deepEqual(errors, [], `every visit should run through every step:\n${errors.slice(0, 20).join('\n')}`);
    await waitForQuiescence(system, { timeoutMs: 90_000 });
    await assertEndState(client, system, driven);
  });
});
