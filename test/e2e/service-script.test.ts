import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, SERVICE_NAMES } from '../../scripts/lib/processes.ts';

/**
 * `npm run service -- <name>`, exactly as the README documents it, for each of the six names:
 * the process must start that service and listen (its /healthz answers and says who it is),
 * and stop cleanly on SIGTERM. The gateway's entry once returned at once with status 0 when
 * imported by scripts/service.ts, and nothing noticed.
 */

const repository = path.join(import.meta.dirname, '..', '..');

for (const name of SERVICE_NAMES) {
  test(`npm run service -- ${name} starts ${name} and it listens`, { timeout: 60_000 }, async (t) => {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `service-script-${name}-`));
    t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    // The embedded profile (no KAFKA_BROKERS, no DATABASE_URL), as a newcomer runs it.
    const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir };
    delete env.KAFKA_BROKERS;
    delete env.DATABASE_URL;
    // Its own process group, so the stop reaches node behind npm's shell.
    const child = spawn('npm', ['run', 'service', '--', name], { cwd: repository, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    });

    const deadline = Date.now() + 45_000;
    let health: Response | undefined;
    while (!health) {
      if (child.exitCode !== null) assert.fail(`npm run service -- ${name} exited with ${child.exitCode} before listening:\n${output}`);
      if (Date.now() > deadline) assert.fail(`npm run service -- ${name} did not listen on ${port} within 45 s:\n${output}`);
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!health) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(health.status, 200);
    const listening = new RegExp(`"service":"${name}".*listening`);
    assert.match(output, listening, 'the process that answers is the one named, and it says so in its log');

    process.kill(-child.pid!, 'SIGTERM');
    const [code, signal] = await exited;
    assert.ok(code === 0 || signal === 'SIGTERM', `stopped cleanly (code ${code}, signal ${signal}):\n${output}`);
  });
}
