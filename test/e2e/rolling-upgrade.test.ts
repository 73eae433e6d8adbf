import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BACKEND_SERVICES } from '../../scripts/lib/processes.ts';
import { describeProduction, startTestSystem, waitForQuiescence, type TestSystem } from './helpers.ts';
import { checkOutPreviousRelease, previousRelease, type PreviousRelease } from './support/previous-release.ts';
import { RecordingClient, assertEndState, describeExchanges, driveVisit, planFor, type DrivenVisit } from './support/visits.ts';

/**
 * Upgrades across schema changes (issue 19, README "Schema changes"): the previous release (the
 * newest of releases.json, a git worktree of its commit) runs the production profile with two
 * replicas of every backend service, migrated by its own `npm run migrate`. Clients drive visits
 * through the gateway all along, while the release rolls in as on Kubernetes:
 *
 * 1. this checkout's `npm run migrate` (the release's migration Job) expands the schema under the
 *    running previous release: a database newer than its code, which it must tolerate;
 * 2. a previous-release replica restarts against that newer schema (an old pod rescheduled during
 *    the rollout) and must come up;
 * 3. each service's replicas are replaced by this checkout's code one at a time (SIGTERM, drain,
 *    start).
 *
 * No request may fail, and nothing may be lost or doubled. The gateway holds no data and no schema:
 * it stays the previous release's here (one process, with nothing in front of it to retry on),
 * and rolls on Kubernetes like any stateless Deployment, its two replicas behind the Service.
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const CLIENTS = 8;
const ROLL_AT_MS = 5_000;
const LOAD_AFTER_ROLL_MS = 5_000;

let release: PreviousRelease | undefined;
let running: TestSystem | undefined;

function npmRun(script: string, env: Record<string, string | undefined>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', script], { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`npm run ${script} exited ${code}:\n${output}`))));
  });
}

describeProduction(`a rolling upgrade from release ${previousRelease().version} across a schema change`, () => {
  before(async () => {
    release = checkOutPreviousRelease();
    running = await startTestSystem('upgrade', {
      profile: 'production',
      cwd: release.dir,
      replicas: { reception: 2, diagnosis: 2, examination: 2, 'patient-management': 2 },
      // The previous release's gateway serves this checkout's built console (its worktree has no build).
      env: { SHUTDOWN_DRAIN_MS: '3000', UPSTREAM_HEALTH_INTERVAL_MS: '500', CONSOLE_DIR: path.join(root, 'web', 'dist'), PATIENT_REGISTRY_CARRY_OVER: 'true' },
    });
  });

  after(async () => {
    try {
      await running?.stop();
    } finally {
      release?.remove();
    }
  });

  test('the new release migrates and rolls in replica by replica while clients drive visits: no request failed, nothing lost or doubled', async () => {
    const { system } = running!;
    const client = new RecordingClient(system.gatewayUrl);
    const driven: DrivenVisit[] = [];
    const errors: string[] = [];
    let next = 0;
    let rolled = false;
    let rollEndedAt = 0;
    const started = Date.now();
    const oldProcesses = BACKEND_SERVICES.flatMap((name) => system.replicasOf(name).map((replica) => ({ name, replica })));

    const roll = async () => {
      await new Promise((resolve) => setTimeout(resolve, ROLL_AT_MS));
      client.phase = 'migrating';
      const migrated = await npmRun('migrate', { ...process.env, ...running!.env });
      assert.match(migrated, /patient-management: migrated schema/);
      client.phase = 'previous release restarting on the newer schema';
      await system.restart('patient-management', 0, { cwd: release!.dir });
      for (const name of BACKEND_SERVICES) {
        client.phase = `${name} rolling`;
        await system.restart(name, undefined, { cwd: root });
      }
      client.phase = 'after the upgrade';
      rollEndedAt = Date.now();
      rolled = true;
      process.stderr.write(`# migrated and rolled ${BACKEND_SERVICES.length} services x 2 replicas to this checkout in ${rollEndedAt - started - ROLL_AT_MS} ms\n`);
    };

    const worker = async () => {
      while (!rolled || Date.now() < rollEndedAt + LOAD_AFTER_ROLL_MS) {
        // As clients of the previous release register visits: a patient id of their own and a name.
        // The release's registry carries such patients over during the rollout (PATIENT_REGISTRY_CARRY_OVER).
        const k = next++;
        const plan = { ...planFor(k, 'upgrade'), patientId: `UPGRADE-${process.pid}-${k}`, patientName: `Patient upgrade-${k}` };
        try {
          driven.push(await driveVisit(client, plan, { timeoutMs: 60_000 }));
        } catch (error) {
          errors.push(`${plan.label}: ${(error as Error).message}`);
        }
      }
    };
    const rolling = roll();
    await Promise.all([...Array.from({ length: CLIENTS }, worker), rolling]);
    process.stderr.write(`# ${driven.length} visits by ${CLIENTS} clients in ${Date.now() - started} ms, ${client.exchanges.length} requests, ${client.failures().length} failed\n`);

    assert.deepEqual(errors, [], `every visit should run through every step:\n${errors.join('\n')}`);
    const failed = client.failures();
    assert.equal(failed.length, 0, `no request should fail while the release rolls; ${failed.length} did:\n${describeExchanges(failed)}`);
    for (const phase of ['migrating', 'previous release restarting on the newer schema', 'diagnosis rolling', 'after the upgrade']) {
      assert.ok(client.exchanges.some((e) => e.phase === phase), `requests were sent while ${phase}`);
    }
    // Every process of the previous release ended cleanly, and every replica now runs this checkout.
    for (const { name, replica } of oldProcesses) assert.deepEqual(replica.exitInfo(), { code: 0, signal: null }, `${name} (pid ${replica.pid}) exited 0 on SIGTERM`);
    for (const name of BACKEND_SERVICES) {
      for (const replica of system.replicasOf(name)) assert.ok(!oldProcesses.some((old) => old.replica.pid === replica.pid), `${name} (pid ${replica.pid}) is a new process`);
    }

    await waitForQuiescence(running!, { timeoutMs: 60_000 });
    await assertEndState(client, running!, driven);
  });
});
