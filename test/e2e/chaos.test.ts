import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SERVICE_NAMES, type ServiceName } from '../../scripts/lib/processes.ts';
import { startTestSystem, waitForQuiescence, type TestSystem } from './helpers.ts';
import { readEventRecords, recordsByKey } from './support/event-records.ts';
import { DedicatedKafkaBroker, dedicatedKafkaSkipReason } from './support/kafka-broker.ts';
import { DedicatedPostgres, dedicatedPostgresSkipReason } from './support/postgres-cluster.ts';
import { RetryingClient, assertEndState, driveVisit, expectedEventTypes, planFor, readSystemState, type DrivenVisit } from './support/visits.ts';

/**
 * Chaos (DESIGN.md section 1: nothing is lost and nothing is applied twice): a steady stream of
 * visits driven through every step by concurrent clients, while the harness kills random
 * services with SIGKILL at random moments and starts them again, and on the production profile
 * also stops the Kafka broker and restarts PostgreSQL (a broker and a cluster of this file's own,
 * as in production-outages.test.ts). Afterwards the end state is checked against what the
 * clients' commands imply (support/visits.ts, assertEndState), and the figures are printed.
 *
 * The clients behave as the console does after a failure: a command that got no answer or a
 * 502/503/504 is sent again with the same Idempotency-Key, so it executes once whatever happened
 * to the first attempt; a read is simply sent again.
 *
 * The faults come from a seeded generator: CHAOS_SEED repeats a run (the seed is printed).
 */

const VISITS = 300;
const CLIENTS = 12;
/** How long one attempt may wait for an answer, and how long a command is retried in all. */
const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRY_FOR_MS = 120_000;
const STEP_TIMEOUT_MS = 150_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** mulberry32: a small seeded generator, so that a failing run can be repeated. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}


type Faults = { kills: number; brokerStops: number; postgresRestarts: number; byService: Partial<Record<ServiceName, number>> };

type Tally = { visits: number; faults: Faults; lost: number; doubled: number; requests: number; retried: number; seconds: number };

/**
 * What the end state says was lost or doubled, counted from the services' own state, the view
 * and the event log (assertEndState then names every problem).
 */
async function tally(client: RetryingClient, system: TestSystem, driven: DrivenVisit[]): Promise<{ lost: number; doubled: number }> {
  const { receptions, diagnoses, examinations, visits } = await readSystemState(client);
  const byKey = recordsByKey(await readEventRecords(system.env));
  let lost = 0;
  let doubled = Math.max(0, receptions.length - driven.length);
  for (const reception of receptions) doubled += Math.max(0, diagnoses.filter((d) => d.receptionId === reception.id).length - 1);
  for (const diagnosis of diagnoses) {
    for (const p of diagnosis.prescriptions) doubled += Math.max(0, examinations.filter((e) => e.prescriptionId === p.prescriptionId).length - 1);
  }
  for (const visit of driven) {
    const reception = receptions.find((r) => r.id === visit.receptionId);
    const view = visits.find((v) => v.receptionId === visit.receptionId);
    if (reception?.status !== 'CONFIRMED' || view?.receptionStatus !== 'CONFIRMED') lost += 1;
    const ids = new Set((byKey.get(String(visit.receptionId)) ?? []).map((r) => r.id));
    const expected = expectedEventTypes(visit.plan).length;
    lost += Math.max(0, expected - ids.size);
    doubled += Math.max(0, ids.size - expected);
  }
  return { lost, doubled };
}

/** Faults per run: one as every twenty-fourth visit starts, so the count does not depend on the machine's speed. */
const FAULTS = 12;

/**
 * Drives VISITS visits with CLIENTS clients, injecting FAULTS faults spread over the stream (one
 * after the other, each as a given visit starts), then waits for the system to settle and checks
 * and returns the figures.
 */
async function runChaos(label: string, system: () => TestSystem, injectFault: (faults: Faults) => Promise<void>): Promise<Tally> {
  const client = new RetryingClient(system().system.gatewayUrl, { statuses: [502, 503, 504], attemptTimeoutMs: ATTEMPT_TIMEOUT_MS, retryForMs: RETRY_FOR_MS, firstPauseMs: 100, maxPauseMs: 2_000 });
  const faults: Faults = { kills: 0, brokerStops: 0, postgresRestarts: 0, byService: {} };
  const driven: DrivenVisit[] = [];
  const errors: string[] = [];
  let next = 0;
  const started = Date.now();
  const faultAt = new Set(Array.from({ length: FAULTS }, (_, i) => Math.round(((i + 1) * VISITS) / (FAULTS + 1))));
  // The faults run one after the other, in the background of the visits.
  let injector = Promise.resolve();

  const worker = async () => {
    while (next < VISITS) {
      const k = next++;
      if (faultAt.has(k)) injector = injector.then(() => injectFault(faults));
      const plan = planFor(k, `chaos-${label}`);
      try {
        driven.push(await driveVisit(client, plan, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 100 }));
      } catch (error) {
        errors.push(`${plan.label}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  await injector;

  await waitForQuiescence(system(), { timeoutMs: 120_000 });
  const counted = await tally(client, system(), driven);
  const requests = client.exchanges.length;
  const retried = client.exchanges.filter((e) => e.status === 0 || e.status >= 502).length;
  const figures: Tally = { visits: driven.length, faults, ...counted, requests, retried, seconds: Math.round((Date.now() - started) / 1000) };
  process.stderr.write(
    `# chaos (${label}): ${figures.visits} visits by ${CLIENTS} clients in ${figures.seconds} s; faults: ${faults.kills} services SIGKILLed ${JSON.stringify(faults.byService)}, ` +
      `${faults.brokerStops} broker stops, ${faults.postgresRestarts} PostgreSQL restarts; ${requests} requests, ${retried} answered by a failure and sent again; ` +
      `lost ${figures.lost}, doubled ${figures.doubled}\n`,
  );
  assert.deepEqual(errors, [], `every visit should run through every step:\n${errors.slice(0, 20).join('\n')}`);
  assert.equal(faults.kills + faults.brokerStops + faults.postgresRestarts, FAULTS, `every planned fault was injected (${JSON.stringify(faults)})`);
  await assertEndState(client, system(), driven);
  assert.equal(figures.lost, 0, 'nothing lost');
  assert.equal(figures.doubled, 0, 'nothing doubled');
  return figures;
}

/** SIGKILLs one random service (the gateway too) and starts it again after a short while. */
async function killOne(system: TestSystem, random: () => number, faults: Faults): Promise<void> {
  const name = SERVICE_NAMES[Math.floor(random() * SERVICE_NAMES.length)]!;
  await system.system.kill(name);
  faults.kills += 1;
  faults.byService[name] = (faults.byService[name] ?? 0) + 1;
  await sleep(300 + random() * 1_700);
  await system.system.restart(name);
}

function seedFor(label: string): number {
  const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
  process.stderr.write(`# chaos (${label}) seed ${seed} (CHAOS_SEED=${seed} repeats it)\n`);
  return seed;
}

describe('chaos: embedded profile, services SIGKILLed at random', () => {
  let running: TestSystem;
  before(async () => {
    running = await startTestSystem('chaos', { profile: 'embedded' });
  });
  after(async () => {
    for (const name of SERVICE_NAMES) if (running?.system.services[name].exitInfo()) await running.system.restart(name);
    await running?.stop();
  });

  test(`${VISITS} visits, services SIGKILLed at random: lost 0, doubled 0`, { timeout: 600_000 }, async () => {
    const random = seeded(seedFor('embedded'));
    await runChaos('embedded', () => running, (faults) => killOne(running, random, faults));
  });
});

describe('chaos: production profile, services SIGKILLed, the broker stopped and PostgreSQL restarted at random', () => {
  const cannotRun = !process.env.KAFKA_BROKERS || !process.env.DATABASE_URL ? 'KAFKA_BROKERS and DATABASE_URL are not set' : (dedicatedKafkaSkipReason() ?? dedicatedPostgresSkipReason());
  if (cannotRun) {
    test('chaos on the production profile', { skip: cannotRun }, () => {});
    return;
  }
  let broker: DedicatedKafkaBroker | undefined;
  let cluster: DedicatedPostgres | undefined;
  let running: TestSystem;
  const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL };

  before(async () => {
    [broker, cluster] = await Promise.all([DedicatedKafkaBroker.create('chaos'), DedicatedPostgres.create('chaos')]);
    await broker.start();
    process.env.KAFKA_BROKERS = broker.bootstrap;
    process.env.DATABASE_URL = cluster.url;
    running = await startTestSystem('chaos', { profile: 'production' });
  });
  after(async () => {
    try {
      if (broker && !broker.isRunning()) await broker.start();
      if (cluster && !cluster.isRunning()) await cluster.start();
      for (const name of SERVICE_NAMES) if (running?.system.services[name].exitInfo()) await running.system.restart(name);
      await running?.stop();
    } finally {
      process.env.KAFKA_BROKERS = saved.KAFKA_BROKERS;
      process.env.DATABASE_URL = saved.DATABASE_URL;
      await broker?.close();
      await cluster?.close();
    }
  });

  test(`${VISITS} visits, services SIGKILLed, the broker stopped, PostgreSQL restarted: lost 0, doubled 0`, { timeout: 900_000 }, async () => {
    const random = seeded(seedFor('production'));
    const inject = async (faults: Faults) => {
      const pick = random();
      if (pick < 0.6) {
        await killOne(running, random, faults);
      } else if (pick < 0.8) {
        await broker!.stop();
        faults.brokerStops += 1;
        await sleep(2_000 + random() * 4_000);
        await broker!.start();
      } else {
        await cluster!.stop('fast');
        faults.postgresRestarts += 1;
        await sleep(1_000 + random() * 3_000);
        await cluster!.start();
      }
    };
    await runChaos('production', () => running, inject);
  });
});
