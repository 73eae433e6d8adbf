import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_PORTS, isPortFree, REPOSITORY_ROOT, startSystem, type RunningSystem } from '../../scripts/lib/processes.ts';
import { TEST_ENV } from './helpers.ts';

/**
 * `npm run simulate` (scripts/simulate.ts) against a fresh system on the default ports (the
 * command names none: it drives npm start's gateway). First a crowded morning: twenty arrivals a
 * minute for ten simulated minutes in two departments, thirty times faster than real time. Then,
 * on the same system, the README's command exactly as it is written: a quieter clinic, whose
 * visits go through the examination rooms and back to the doctor, for the stages the first run
 * never reaches. Each must end with exit code 0: every answer as it expected, and its own count of
 * each wait stage the same as the read model's.
 *
 * The system runs with the e2e settings (TEST_ENV): no rate limits, since one demo user makes
 * hundreds of requests in the run's forty seconds, where npm start's 600 a minute per user would
 * have the simulation wait out 429s.
 */

/** The profile's settings a shell may have exported, blanked: the embedded profile, as npm start's. */
const EMBEDDED = { DATABASE_URL: '', DATABASE_SCHEMA: '', KAFKA_BROKERS: '', KAFKA_TOPIC: '', DEAD_LETTER_TOPIC: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' };
const DEPARTMENTS = ['internal-medicine', 'surgery'];

async function portsInUse(): Promise<number[]> {
  const ports = Object.values(DEFAULT_PORTS);
  const free = await Promise.all(ports.map((port) => isPortFree(port)));
  return ports.filter((_, i) => !free[i]);
}

type Run = { code: number | null; stdout: string; stderr: string };

function simulate(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'simulate', '--', ...args], { cwd: REPOSITORY_ROOT, env: { ...process.env, SIMULATE_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Twenty simulated minutes at 30x are forty real seconds, and the comparison at most fifteen more.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The summary's line of a department: visits, queue numbers first..last, calls, and the rest. */
function departmentLine(summary: string, department: string) {
  const match = new RegExp(`^${department}\\s+(\\d+)\\s+(\\d+)\\.\\.(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(summary);
  assert.ok(match, `the summary has a line for ${department} with its queue numbers:\n${summary}`);
  const [visits, first, last, calls] = match.slice(1, 5).map(Number) as [number, number, number, number];
  return { visits, first, last, calls };
}

/** What every run must end with: exit 0, no error, no stage counted otherwise by the read model. */
function assertAgreed(run: Run, printed: string): void {
  assert.equal(run.code, 0, `the simulation ended with exit code 0:\n${printed}`);
  assert.match(run.stdout, /^counts agree: yes /m, printed);
  assert.doesNotMatch(run.stdout, /DIFFER/, printed);
  assert.match(run.stdout, /^errors: 0/m, printed);
  assert.match(run.stdout, /^result: OK$/m, printed);
}

const printedOf = (run: Run) => `--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr.slice(-4000)}`;
const busy = await portsInUse();

describe('npm run simulate', { skip: busy.length > 0 ? `ports ${busy.join(', ')} are in use` : false }, () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-simulate-'));
  let system: RunningSystem | undefined;
  before(async () => {
    system = await startSystem({ dataDir, ports: DEFAULT_PORTS, env: { ...TEST_ENV, ...EMBEDDED, DATA_DIR: dataDir }, output: 'capture', readyTimeoutMs: 60_000 });
  });
  after(async () => {
    await system?.stopAll();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('drives visits through the gateway, and its counts of the waits agree with the read model', { timeout: 150_000 }, async (t) => {
    const run = await simulate(['--rate', '20/min', '--departments', DEPARTMENTS.join(','), '--minutes', '10', '--speed', '30', '--seed', '7']);
    const printed = printedOf(run);
    assertAgreed(run, printed);
    t.diagnostic(run.stdout.slice(run.stdout.indexOf('simulation of ')));
    for (const department of DEPARTMENTS) {
      const line = departmentLine(run.stdout, department);
      assert.ok(line.visits > 0, `${department}: visits registered\n${printed}`);
      assert.equal(line.first, 1, `${department}: a fresh system's queue numbers start at 1\n${printed}`);
      assert.ok(line.last >= line.first && line.last <= line.visits, `${department}: one number per visit, ${line.first}..${line.last} for ${line.visits} visits\n${printed}`);
      assert.ok(line.calls >= 1, `${department}: the doctor called at least one patient\n${printed}`);
      // The first calls were measured by the simulation and by the read model alike.
      assert.match(run.stdout, new RegExp(`^${department}\\s+RECEPTION_TO_CALL\\s+([1-9]\\d*)\\s.*\\s\\1\\s.*agree$`, 'm'), `${department}: the waits until the first call, counted alike\n${printed}`);
    }
    // One progress line per simulated minute, on stderr.
    assert.ok((run.stderr.match(/^\[\d\d:\d\d\] arrivals \d+ · waiting internal-medicine \d+, surgery \d+/gm) ?? []).length >= 5, printed);
  });

  // The run above is a crowded morning: each doctor sees three or four of a hundred patients, and
  // none reaches an examination. A quieter clinic, faster, takes visits through the examination
  // rooms and back to the doctor, so those stages are compared too.
  test("the README's command, a quieter clinic: examinations performed, patients recalled after them, and the stages still agree", { timeout: 90_000 }, async (t) => {
    const readme = fs.readFileSync(path.join(REPOSITORY_ROOT, 'README.md'), 'utf8');
    const documented = /^npm run simulate -- (.+)$/m.exec(readme);
    assert.ok(documented, 'the README documents npm run simulate');
    const args = documented[1]!.trim().split(/\s+/);
    assert.deepEqual(args, ['--rate', '0.5/min', '--departments', DEPARTMENTS.join(','), '--minutes', '40', '--speed', '160', '--seed', '11'], 'the command this test runs');
    const run = await simulate(args);
    const printed = printedOf(run);
    assertAgreed(run, printed);
    t.diagnostic(run.stdout.slice(run.stdout.indexOf('simulation of ')));
    const performed = [...run.stdout.matchAll(/^[a-z-]+\s+\d+\s+(\d+)\s+\d+$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    assert.ok(performed >= 1, `an examination room performed at least one examination\n${printed}`);
    assert.match(run.stdout, /^[a-z-]+\s+PRESCRIPTION_TO_EXAMINATION\s+([1-9]\d*)\s.*\s\1\s.*agree$/m, printed);
    assert.match(run.stdout, /^[a-z-]+\s+EXAMINATIONS_TO_COMPLETION\s+([1-9]\d*)\s.*\s\1\s.*agree$/m, printed);
  });
});
