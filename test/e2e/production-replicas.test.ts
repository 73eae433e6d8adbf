import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeProduction, useTestSystem, waitForQuiescence, type TestSystem } from './helpers.ts';
import {
  RecordingClient,
  assertEndState,
  describeExchanges,
  driveVisit,
  metricSum,
  planFor,
  type DrivenVisit,
} from './support/visits.ts';

/**
 * The production profile with replicas (README, "Production profile"): two processes each of
 * diagnosis and examination share their service's database and consumer group, and the gateway
 * balances across them. Twenty clients drive visits through every step for a minute (as the
 * reference's siege run did) while both diagnosis replicas are restarted one after the other (a
 * rolling restart: SIGTERM, drain, start again on the same port). Nothing may be lost or doubled,
 * and no request may fail: a stopping replica reports not-ready during its drain
 * (SHUTDOWN_DRAIN_MS), so the gateway, checking every UPSTREAM_HEALTH_INTERVAL_MS, stops sending
 * it work before it closes, and finishes what it has in hand.
 */

const CLIENTS = 20;
const LOAD_MS = 60_000;
/** The rolling restart begins this long into the load. */
const RESTART_AT_MS = 10_000;

describeProduction('production: replicas under a rolling restart', () => {
  let running: TestSystem;
  useTestSystem(
    'replicas',
    'production',
    (system) => {
      running = system;
    },
    {
      replicas: { diagnosis: 2, examination: 2 },
      env: { SHUTDOWN_DRAIN_MS: '3000', UPSTREAM_HEALTH_INTERVAL_MS: '500' },
    },
  );

  test(`${CLIENTS} clients for ${LOAD_MS / 1000} s while both diagnosis replicas restart one after the other: nothing lost or doubled, no request failed`, async () => {
    const { system } = running;
    assert.equal(system.replicaCounts.diagnosis, 2);
    assert.equal(system.replicaCounts.examination, 2);
    const client = new RecordingClient(system.gatewayUrl);
    const before = system.replicasOf('diagnosis').map((replica) => replica);

    const driven: DrivenVisit[] = [];
    const errors: string[] = [];
    let next = 0;
    let restartEndedAt = 0;
    const started = Date.now();
    const loadEnds = started + LOAD_MS;

    const rollingRestart = async () => {
      await new Promise((resolve) => setTimeout(resolve, RESTART_AT_MS));
      client.phase = 'diagnosis restarting';
      const restartStarted = Date.now();
      try {
        await system.restart('diagnosis');
      } finally {
        client.phase = 'after the restart';
        restartEndedAt = Date.now();
        process.stderr.write(`# both diagnosis replicas restarted one after the other in ${restartEndedAt - restartStarted} ms (3000 ms drain each), from +${restartStarted - started} ms\n`);
      }
    };

    const worker = async () => {
      while (Date.now() < loadEnds) {
        const plan = planFor(next++, 'replicas');
        try {
          driven.push(await driveVisit(client, plan, { timeoutMs: 60_000 }));
        } catch (error) {
          errors.push(`${plan.label}: ${(error as Error).message}`);
        }
      }
    };
    const restart = rollingRestart();
    await Promise.all(Array.from({ length: CLIENTS }, worker));
    await restart;
    process.stderr.write(`# ${driven.length} visits by ${CLIENTS} clients in ${Date.now() - started} ms, ${client.exchanges.length} requests, ${client.failures().length} failed\n`);

    const failed = client.failures();
    assert.deepEqual(errors, [], `every visit should run through every step:\n${errors.join('\n')}`);
    assert.equal(failed.length, 0, `no request should fail (no answer or 5xx) while the replicas restart; ${failed.length} did:\n${describeExchanges(failed)}`);

    // The restart really was in the middle of the load, and clean.
    for (const [index, replica] of before.entries()) {
      assert.deepEqual(replica.exitInfo(), { code: 0, signal: null }, `diagnosis[${index}] (pid ${replica.pid}) exited 0 on SIGTERM`);
      assert.notEqual(system.replicasOf('diagnosis')[index]!.pid, replica.pid, `diagnosis[${index}] runs in a new process`);
    }
    const duringRestart = client.exchanges.filter((e) => e.phase === 'diagnosis restarting').length;
    assert.ok(duringRestart > 0, 'requests were sent while the replicas restarted');
    assert.ok(restartEndedAt < loadEnds, 'the load went on after the restart');

    await waitForQuiescence(running, { timeoutMs: 60_000 });
    await assertEndState(client, running, driven);

    // Both replicas of each service took part: the gateway balanced commands across them, and
    // the consumer group shared the partitions (for diagnosis: the new processes).
    for (const name of ['diagnosis', 'examination'] as const) {
      for (const [index, replica] of system.replicasOf(name).entries()) {
        const served = await metricSum(replica.url, 'http_request_duration_seconds_count', { method: 'POST' });
        const consumed = await metricSum(replica.url, 'medical_events_consumed_total');
        assert.ok(served > 0, `${name}[${index}] (pid ${replica.pid}) served no command: the gateway did not balance onto it`);
        assert.ok(consumed > 0, `${name}[${index}] (pid ${replica.pid}) consumed no event: the group did not share the partitions with it`);
      }
    }
  });
});
