import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, isPortFree, startServiceProcess, startSystem } from '../../scripts/lib/processes.ts';
import { eventually } from './helpers.ts';

/**
 * The process harness itself (scripts/lib/processes.ts), with a stand-in service: it fails fast
 * with the child's stderr, escalates a stop that is ignored, and never leaves a child behind.
 */

const FAKE = 'test/e2e/fixtures/fake-service.ts';

/** Whether the process runs (a zombie waiting for a parent that never reaps it does not count). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc: trust the signal test
  }
}

test('freePort gives a port that can be bound', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await isPortFree(port), true);
});

test('waitReady fails fast, with the stderr, when the process exits before it is ready', async () => {
  const started = Date.now();
  const handle = startServiceProcess({ name: 'diagnosis', entry: FAKE, port: await freePort(), env: { FAKE_MODE: 'exit-early' }, output: 'capture' });
  await assert.rejects(handle.waitReady(20_000), (error: Error) => {
    assert.match(error.message, /diagnosis exited with code 3 before it was ready/);
    assert.match(error.message, /refusing to start \(FAKE_MODE=exit-early\)/);
    return true;
  });
  assert.ok(Date.now() - started < 10_000, 'it did not wait for the timeout');
  assert.deepEqual(await handle.exited, { code: 3, signal: null });
});

test('stop sends SIGTERM and reports a clean exit; kill sends SIGKILL', async () => {
  const clean = startServiceProcess({ name: 'reception', entry: FAKE, port: await freePort(), output: 'capture' });
  await clean.waitReady(10_000);
  assert.equal((await fetch(`${clean.url}/readyz`)).status, 200);
  assert.deepEqual(await clean.stop(), { code: 0, signal: null });
  assert.deepEqual(clean.exitInfo(), { code: 0, signal: null });

  const killed = startServiceProcess({ name: 'reception', entry: FAKE, port: await freePort(), output: 'capture' });
  await killed.waitReady(10_000);
  assert.deepEqual(await killed.kill(), { code: null, signal: 'SIGKILL' });
  assert.equal(isAlive(killed.pid), false);
});

test('an exit the harness did not ask for is reported as unexpected', async () => {
  const handle = startServiceProcess({ name: 'reception', entry: FAKE, port: await freePort(), output: 'capture' });
  await handle.waitReady(10_000);
  assert.equal(handle.unexpectedExit(), undefined, 'running');
  process.kill(handle.pid, 'SIGTERM'); // someone else stops it
  assert.deepEqual(await handle.exited, { code: 0, signal: null });
  assert.deepEqual(handle.unexpectedExit(), { code: 0, signal: null });
  assert.deepEqual(await handle.stop(), { code: 0, signal: null }, 'stopping an exited process answers its exit');
  assert.deepEqual(handle.unexpectedExit(), { code: 0, signal: null }, 'and it stays unexpected');

  const stopped = startServiceProcess({ name: 'reception', entry: FAKE, port: await freePort(), output: 'capture' });
  await stopped.waitReady(10_000);
  await stopped.stop();
  assert.equal(stopped.unexpectedExit(), undefined, 'a stop the harness asked for is expected');
});

test('stop escalates to SIGKILL when the process ignores SIGTERM', async () => {
  const stubborn = startServiceProcess({
    name: 'examination',
    entry: FAKE,
    port: await freePort(),
    env: { FAKE_MODE: 'ignore-sigterm' },
    output: 'capture',
  });
  await stubborn.waitReady(10_000);
  const started = Date.now();
  assert.deepEqual(await stubborn.stop(300), { code: null, signal: 'SIGKILL' });
  assert.ok(Date.now() - started >= 250, 'it gave the process its bound first');
});

test('startSystem refuses a port that is already taken instead of reporting another process ready', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    await assert.rejects(
      startSystem({ dataDir: '/tmp/never-used', ports: { reception: port }, output: 'capture' }),
      new RegExp(`port already in use \\(reception on ${port}\\)`),
    );
  } finally {
    blocker.close();
  }
});

test('startSystem refuses replicas on the embedded profile, before starting anything', async () => {
  const dataDir = fs.mkdtempSync('/tmp/e2e-replicas-refused-');
  try {
    await assert.rejects(
      startSystem({ dataDir, replicas: { diagnosis: 2, examination: 3 }, env: { DATABASE_URL: '', KAFKA_BROKERS: '' }, output: 'capture' }),
      (error: Error) => {
        assert.match(error.message, /cannot start diagnosis × 2, examination × 3/);
        assert.match(error.message, /production profile \(DATABASE_URL and KAFKA_BROKERS set\)/);
        return true;
      },
    );
    // Only one of the two settings is not the production profile either.
    await assert.rejects(
      startSystem({ dataDir, replicas: { reception: 2 }, env: { DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', KAFKA_BROKERS: '' }, output: 'capture' }),
      /cannot start reception × 2/,
    );
    await assert.rejects(startSystem({ dataDir, replicas: { reception: 0 }, output: 'capture' }), /replicas of reception must be a positive integer/);
    assert.deepEqual(fs.readdirSync(dataDir), [], 'nothing was started');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Runs the fixture program that starts a child through the harness; resolves with the child's pid. */
function runParent(end: 'exit' | 'wait'): Promise<{ childPid: number; parent: ReturnType<typeof spawn> }> {
  const parent = spawn(process.execPath, ['test/e2e/fixtures/harness-parent.ts'], {
    env: { ...process.env, HARNESS_END: end },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    parent.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ childPid: (JSON.parse(line) as { childPid: number }).childPid, parent });
    });
    parent.once('exit', (code, signal) => reject(new Error(`harness-parent ended (${code ?? signal}) before reporting its child`)));
  });
}

test('a program that exits with a child still running takes the child with it', async () => {
  const { childPid, parent } = await runParent('exit');
  assert.ok(childPid > 0);
  if (parent.exitCode === null) await new Promise((resolve) => parent.once('exit', resolve));
  await eventually(() => assert.equal(isAlive(childPid), false, `child ${childPid} outlived its parent`), { timeoutMs: 5_000 });
});

test('a program killed by SIGTERM (no handler of its own) takes its children with it', async () => {
  const { childPid, parent } = await runParent('wait');
  assert.equal(isAlive(childPid), true);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.once('exit', (_code, signal) => resolve(signal)));
  parent.kill('SIGTERM');
  assert.equal(await exited, 'SIGTERM', 'the program still dies of the signal');
  await eventually(() => assert.equal(isAlive(childPid), false, `child ${childPid} outlived its parent`), { timeoutMs: 5_000 });
});
