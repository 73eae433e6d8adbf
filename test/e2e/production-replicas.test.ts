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
 * balances across them. A stream of visits runs through every step while one diagnosis replica
 * is restarted (a rolling restart: SIGTERM, drain, start again on the same port). Nothing may be
 * lost or doubled, and no request may fail: the stopping replica reports not-ready during its
 * drain (SHUTDOWN_DRAIN_MS) so the gateway, checking every UPSTREAM_HEALTH_INTERVAL_MS, stops
 * sending it work before it closes.
 */

const VISITS = 100;
const CLIENTS = 10;
/** The restart starts once this many visits have finished: in the middle of the stream. */
const RESTART_AFTER = 30;

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

  test(`${VISITS} visits by ${CLIENTS} clients, diagnosis replica 0 restarted in the middle: nothing lost or doubled, no request failed`, async () => {
    const { system } = running;
    assert.equal(system.replicaCounts.diagnosis, 2);
    assert.equal(system.replicaCounts.examination, 2);
    const client = new RecordingClient(system.gatewayUrl);
    const plans = Array.from({ length: VISITS }, (_, i) => planFor(i, 'replicas'));

    const driven: DrivenVisit[] = [];
    const errors: string[] = [];
    let next = 0;
    let finished = 0;
    let finishedWhenRestarted = -1;
    let restart: Promise<void> | undefined;
    const before = system.replicasOf('diagnosis')[0]!;

    const rollingRestart = async () => {
      client.phase = 'diagnosis[0] restarting';
      const started = Date.now();
      let stoppedAt = 0;
      void before.exited.then(() => (stoppedAt = Date.now()));
      try {
        const after = await system.restart('diagnosis', 0);
        assert.notEqual(after.pid, before.pid, 'restart started a new process');
      } finally {
        client.phase = 'after the restart';
        finishedWhenRestarted = finished;
        const now = Date.now();
        process.stderr.write(
          `# diagnosis[0] restarted in ${now - started} ms (stopped in ${stoppedAt - started} ms with a 3000 ms drain, ready again ${now - stoppedAt} ms later), ` +
            `begun after ${RESTART_AFTER} visits had finished; ${finished} had by its end\n`,
        );
      }
    };

    const worker = async () => {
      while (next < plans.length) {
        const plan = plans[next++]!;
        try {
          driven.push(await driveVisit(client, plan, { timeoutMs: 60_000 }));
        } catch (error) {
          errors.push(`${plan.label}: ${(error as Error).message}`);
        }
        finished += 1;
        if (finished === RESTART_AFTER) restart = rollingRestart();
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, worker));
    await restart;
    process.stderr.write(`# ${VISITS} visits in ${Date.now() - started} ms, ${client.exchanges.length} requests\n`);

    const failed = client.failures();
    assert.deepEqual(errors, [], `every visit should run through every step:\n${errors.join('\n')}`);
    assert.equal(failed.length, 0, `no request should fail (no answer or 5xx) while a replica restarts; ${failed.length} did:\n${describeExchanges(failed)}`);

    // The restart really was in the middle of the stream, and clean.
    assert.ok(restart, 'the restart ran');
    assert.deepEqual(before.exitInfo(), { code: 0, signal: null }, 'the restarted replica exited 0 on SIGTERM');
    const duringRestart = client.exchanges.filter((e) => e.phase === 'diagnosis[0] restarting').length;
    assert.ok(duringRestart > 0, 'requests were sent while the replica restarted');
    assert.ok(finishedWhenRestarted < VISITS, `visits were still running after the restart (${finishedWhenRestarted} of ${VISITS} had finished)`);

    await waitForQuiescence(running, { timeoutMs: 60_000 });
    await assertEndState(client, running, driven);

    // Both replicas of each service took part: the gateway balanced commands across them, and
    // the consumer group shared the partitions (for replica 0 of diagnosis: its new process).
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
