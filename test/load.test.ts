import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_TARGET_URL, parseOptions, requestMix, type LoadSummary } from '../scripts/load.ts';
import { REPOSITORY_ROOT } from '../scripts/lib/processes.ts';
import { useTestSystem, type TestSystem } from './e2e/helpers.ts';

/**
 * `npm run load` (scripts/load.ts): run for real, briefly, against a real system through its
 * gateway, and against a gateway that answers 503, where it must fail (the Kubernetes Job's
 * status is the script's exit code).
 */

type Run = { code: number | null; stdout: string; stderr: string };

function runLoad(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPOSITORY_ROOT, 'scripts', 'load.ts'), ...args], {
      cwd: REPOSITORY_ROOT,
      env: { ...process.env, LOAD_TARGET_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Bounded by the script's own watchdog; this is the test's.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function summaryOf(run: Run): LoadSummary {
  try {
    return JSON.parse(run.stdout) as LoadSummary;
  } catch {
    assert.fail(`no JSON summary on stdout (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}

describe('options', () => {
  test('20 connections for 60 s against the local gateway by default; LOAD_TARGET_URL, then the argument', () => {
    const defaults = parseOptions([], {});
    assert.equal(defaults.target.href, `${DEFAULT_TARGET_URL}/`);
    assert.equal(defaults.connections, 20);
    assert.equal(defaults.durationS, 60);
    assert.equal(defaults.readOnly, false);
    assert.equal(parseOptions([], { LOAD_TARGET_URL: 'http://gateway.medical.svc.cluster.local:8080' }).target.host, 'gateway.medical.svc.cluster.local:8080');
    const explicit = parseOptions(['http://example.test:9000', '-c', '5', '--duration', '3', '--read-only'], { LOAD_TARGET_URL: 'http://other:1' });
    assert.equal(explicit.target.host, 'example.test:9000');
    assert.equal(explicit.connections, 5);
    assert.equal(explicit.durationS, 3);
    assert.equal(explicit.readOnly, true);
  });

  test('the token: --token, else LOAD_TOKEN, else a login as LOAD_USERNAME / LOAD_PASSWORD (admin / demo)', () => {
    const defaults = parseOptions([], {});
    assert.equal(defaults.token, undefined);
    assert.equal(defaults.username, 'admin');
    assert.equal(defaults.password, 'demo');
    const login = parseOptions([], { LOAD_USERNAME: 'manager', LOAD_PASSWORD: 'secret' });
    assert.deepEqual([login.username, login.password], ['manager', 'secret']);
    assert.equal(parseOptions([], { LOAD_TOKEN: 'Bearer abc.def.ghi' }).token, 'abc.def.ghi');
    assert.equal(parseOptions(['--token', 'x.y.z'], { LOAD_TOKEN: 'a.b.c' }).token, 'x.y.z');
  });

  test('refuses unbounded or malformed settings', () => {
    assert.throws(() => parseOptions(['--duration', '0'], {}), /--duration/);
    assert.throws(() => parseOptions(['--duration', '100000'], {}), /--duration/);
    assert.throws(() => parseOptions(['--connections', 'many'], {}), /--connections/);
    assert.throws(() => parseOptions(['--connections', '1.5'], {}), /--connections/);
    assert.throws(() => parseOptions(['--amount', '5', '-c', '10'], {}), /--amount/);
    assert.throws(() => parseOptions(['ftp://host'], {}), /http/);
    assert.throws(() => parseOptions(['--no-such-flag'], {}), /no-such-flag/);
  });

  test('the mix is mostly the dashboards\' lists, with some registrations unless read-only', () => {
    const mix = requestMix('', false, ['00000018']);
    const posts = mix.filter((r) => r.method === 'POST');
    assert.deepEqual(posts.map((r) => r.route), ['POST /receptions']);
    assert.ok(mix.length - posts.length >= 4 * posts.length, 'reads outnumber writes');
    for (const list of ['/patientManagements', '/receptions', '/diagnoses', '/examinations']) {
      assert.ok(mix.some((r) => r.method === 'GET' && r.path.startsWith(`${list}?`) && r.path.includes('page=0&size=20')), `${list} is read`);
    }
    assert.ok(requestMix('', true).every((r) => r.method === 'GET'));
    assert.ok(requestMix('/api', true).every((r) => r.path.startsWith('/api/')));
  });
});

describe('against a real system (embedded profile)', () => {
  let system: TestSystem;
  useTestSystem('load', 'embedded', (started) => {
    system = started;
  });

  test('2 connections for 2 s: every request answered 2xx, a summary, exit 0', async () => {
    const run = await runLoad([system.system.gatewayUrl, '--connections', '2', '--duration', '2', '--json']);
    const summary = summaryOf(run);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(summary.requests > 0, 'requests were made');
    assert.ok(summary.requestsPerSecond > 0);
    assert.equal(summary.errors, 0, `errors: ${summary.errorSamples.join(', ')}`);
    assert.equal(summary.status5xx, 0);
    // Valid bodies and queries: not even a 4xx.
    assert.equal(summary.non2xx, 0, JSON.stringify(summary.routes));
    assert.equal(summary.ok, true);
    for (const p of [summary.latencyMs.p50, summary.latencyMs.p95, summary.latencyMs.p99]) assert.equal(typeof p, 'number');
    assert.ok(summary.latencyMs.p50! <= summary.latencyMs.p95! && summary.latencyMs.p95! <= summary.latencyMs.p99!);
    assert.ok((summary.routes['POST /receptions']?.['201'] ?? 0) > 0, 'receptions registered');
    assert.ok((summary.routes['GET /receptions/{id}']?.['200'] ?? 0) > 0, 'the registered receptions opened');
    assert.ok((summary.routes['GET /patientManagements']?.['200'] ?? 0) > 0);
    // The registrations are real ones.
    const receptions = await system.client.get('/receptions?page=0&size=1');
    assert.equal(receptions.status, 200);
    assert.ok(receptions.body.total >= summary.routes['POST /receptions']!['201']!);
  });

  test('the human summary names requests/s, the latency percentiles, non-2xx and errors', async () => {
    const run = await runLoad(['--connections', '1', '--duration', '1', '--read-only'], { LOAD_TARGET_URL: system.system.gatewayUrl });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /requests\/s/);
    assert.match(run.stdout, /p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(run.stdout, /non-2xx\s+0 \(5xx: 0\)/);
    assert.match(run.stdout, /errors\s+0/);
    assert.doesNotMatch(run.stdout, /POST \/receptions/);
    assert.match(run.stdout, /result\s+OK/);
  });
});

describe('against a failing gateway', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      response.writeHead(503, { 'content-type': 'application/problem+json' });
      response.end('{"type":"about:blank","title":"Service Unavailable","status":503}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('answers 503: the summary counts them and the exit code is 1', async () => {
    const run = await runLoad([url, '-c', '2', '-d', '1', '--json']);
    const summary = summaryOf(run);
    assert.equal(run.code, 1);
    assert.ok(summary.status5xx > 0);
    assert.equal(summary.non2xx, summary.requests);
    assert.equal(summary.ok, false);
  });

  test('does not answer at all: exit 1 at once, saying so', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const started = Date.now();
    const run = await runLoad([`http://127.0.0.1:${port}`, '-d', '30']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /does not answer/);
    assert.ok(Date.now() - started < 15_000, 'fails fast, not after the duration');
  });

  test('bad options: exit 64 with the reason', async () => {
    const run = await runLoad([url, '--duration', '0']);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /--duration/);
  });
});
