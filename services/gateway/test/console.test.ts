import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultExaminations, defaultHospitalDepartments } from '@medical/contracts';
import { ConfigError, loadCatalog } from '@medical/platform/edge';
import { loadGatewayConfig } from '../src/config.ts';
import type { RunningGateway } from '../src/gateway.ts';
import { assertProblem, quiet, send, signIn, startGateway, startUpstream, type FakeUpstream } from './helpers.ts';

/**
 * The staff console at the entry point: its files (from CONSOLE_DIR) and settings without a token,
 * under a policy that lets them run and a cache policy that never serves a stale page; and the
 * live stream relayed as it comes, however quiet, and cut when the gateway stops.
 */

/** A console build as Vite lays it out: index.html, hashed assets, a file from public/. */
function fakeConsole(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'console-dist-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html lang="ko"><script type="module" src="/assets/index-abc123.js"></script></html>');
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("console")');
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('the staff console', () => {
  let gateway: RunningGateway;
  let dir: string;

  before(async () => {
    dir = fakeConsole();
    gateway = await startGateway({ ...quiet, CONSOLE_DIR: dir, HOSPITAL_TIME_ZONE: 'Asia/Seoul', RATE_LIMIT_PER_MINUTE: '0' });
  });
  after(async () => {
    await gateway.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('its page, assets and settings need no token; the page is never cached stale, the hashed assets for good', async () => {
    const none = { authorization: '' };
    for (const target of ['/', '/index.html']) {
      const page = await send(gateway.url, 'GET', target, { headers: none });
      assert.equal(page.status, 200, `${target}: ${page.text}`);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.text, /index-abc123\.js/);
      assert.equal(page.headers['cache-control'], 'no-cache', target);
    }
    const script = await send(gateway.url, 'GET', '/assets/index-abc123.js', { headers: none });
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.equal(script.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await send(gateway.url, 'GET', '/favicon.svg', { headers: none })).status, 200);

    const settings = await send(gateway.url, 'GET', '/console/config.json', { headers: none });
    assert.equal(settings.status, 200, settings.text);
    assert.deepEqual(settings.json(), {
      authMode: 'dev',
      issuer: `${gateway.url}/auth`,
      clientId: null,
      scope: 'openid profile',
      timeZone: 'Asia/Seoul',
      // The desk chooses a visit's department from the hospital's list.
      departments: defaultHospitalDepartments.departments,
      defaultDepartment: 'internal-medicine',
      // The catalog's examinations, and its version: the digest of what is in force.
      examinations: defaultExaminations,
      catalogVersion: loadCatalog({}).version,
      // The tickets' QR codes link to the console's own address unless TICKET_BASE_URL names another.
      ticketBaseUrl: null,
    });
  });

  test("the console's files run under a policy of their own; the API keeps default-src 'none'", async () => {
    const page = await send(gateway.url, 'GET', '/', { headers: { authorization: '' } });
    const policy = String(page.headers['content-security-policy']);
    assert.match(policy, /default-src 'self'/);
    assert.match(policy, /script-src 'self'(;|$)/, 'no inline or remote scripts');
    assert.match(policy, /img-src 'self' blob: data:/, 'attachments are shown from blob: URLs');
    assert.match(policy, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const api = await send(gateway.url, 'GET', '/openapi.json', { headers: { authorization: '' } });
    assert.match(String(api.headers['content-security-policy']), /default-src 'none'/);
  });

  test("the waiting room's pages are the console's page, public and under its policy; their data is not", async () => {
    const none = { authorization: '' };
    const home = await send(gateway.url, 'GET', '/', { headers: none });
    for (const target of ['/display/internal-medicine', '/ticket/AAAAAAAAAAAAAAAAAAAAAA']) {
      const page = await send(gateway.url, 'GET', target, { headers: none });
      assert.equal(page.status, 200, `${target}: ${page.text}`);
      assert.match(String(page.headers['content-type']), /^text\/html/, target);
      assert.equal(page.text, home.text, `${target} is the console's index.html`);
      assert.equal(page.headers['cache-control'], 'no-cache', target);
      assert.equal(page.headers['content-security-policy'], home.headers['content-security-policy'], target);
      assert.equal(page.headers['x-frame-options'], 'DENY', target);
    }
    // Only those two shapes of path: nothing below them, and not their parents.
    for (const target of ['/display', '/display/internal-medicine/extra', '/ticket/a/b']) {
      assertProblem(await send(gateway.url, 'GET', target, { headers: none }), 404);
    }
    // The call screen's data needs a token (the display role's); the page being public changes nothing.
    assertProblem(await send(gateway.url, 'GET', '/queues/internal-medicine', { headers: none }), 401);
    assertProblem(await send(gateway.url, 'GET', '/queues/internal-medicine/stream', { headers: none }), 401);
  });

  test('a path the build does not have is the API 404, and a protected path is not made public by the console', async () => {
    assertProblem(await send(gateway.url, 'GET', '/assets/missing.js', { headers: { authorization: '' } }), 404);
    // Dot segments are not resolved into a public file's route: no file, no API, a 404.
    assertProblem(await send(gateway.url, 'GET', '/index.html/../receptions', { headers: { authorization: '' } }), 404);
    assertProblem(await send(gateway.url, 'GET', '/receptions', { headers: { authorization: '' } }), 401);
  });
});

describe('the staff console, not built', () => {
  test('the API works and / is a 404 problem', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'console-none-'));
    const gateway = await startGateway({ ...quiet, CONSOLE_DIR: empty });
    try {
      assertProblem(await send(gateway.url, 'GET', '/', { headers: { authorization: '' } }), 404);
      assert.equal((await send(gateway.url, 'GET', '/console/config.json', { headers: { authorization: '' } })).status, 200);
      assert.equal((await send(gateway.url, 'GET', '/healthz', { headers: { authorization: '' } })).status, 200);
    } finally {
      await gateway.stop();
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

test('HOSPITAL_TIME_ZONE must be an IANA time zone; OIDC settings for the console reach its settings', () => {
  assert.throws(() => loadGatewayConfig({ AUTH_MODE: 'dev', HOSPITAL_TIME_ZONE: 'Mars/Olympus' }), (error: unknown) => error instanceof ConfigError && /HOSPITAL_TIME_ZONE/.test(error.message));
  const config = loadGatewayConfig({ AUTH_MODE: 'dev', HOSPITAL_TIME_ZONE: 'Europe/Berlin', CONSOLE_OIDC_CLIENT_ID: 'console-app', CONSOLE_OIDC_SCOPE: 'openid profile email' });
  const { dir: _dir, catalog, catalogReloadIntervalMs, ...settings } = config.console;
  assert.deepEqual(settings, { clientId: 'console-app', scope: 'openid profile email', timeZone: 'Europe/Berlin' });
  assert.equal(catalog.defaultDepartment, 'internal-medicine');
  assert.equal(catalogReloadIntervalMs, 10_000);
  assert.equal(loadGatewayConfig({ AUTH_MODE: 'dev' }).console.timeZone, 'Asia/Seoul');
});

test("TICKET_BASE_URL, where patients' phones reach their tickets, is an origin the console hands to the desk's QR codes", () => {
  assert.equal(loadGatewayConfig({ AUTH_MODE: 'dev', TICKET_BASE_URL: 'https://queue.hospital.example' }).console.ticketBaseUrl, 'https://queue.hospital.example');
  assert.equal(loadGatewayConfig({ AUTH_MODE: 'dev' }).console.ticketBaseUrl, undefined);
  for (const wrong of ['queue.hospital.example', 'https://queue.hospital.example/tickets', 'ftp://queue.hospital.example']) {
    assert.throws(() => loadGatewayConfig({ AUTH_MODE: 'dev', TICKET_BASE_URL: wrong }), (error: unknown) => error instanceof ConfigError && /TICKET_BASE_URL/.test(error.message), wrong);
  }
});

describe('the live stream through the gateway', () => {
  let patientManagement: FakeUpstream;
  let gateway: RunningGateway;
  /** What the fake service does with each stream: write to it later, keep it open. */
  const open: http.ServerResponse[] = [];

  before(async () => {
    patientManagement = await startUpstream((_seen, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      response.write('event: ready\ndata: {}\n\n');
      open.push(response);
    });
    // An upstream timeout far shorter than the quiet below: the API's proxy client would cut the stream.
    gateway = await startGateway({ ...quiet, PATIENT_MANAGEMENT_URL: patientManagement.url, UPSTREAM_TIMEOUT_MS: '300', RATE_LIMIT_PER_MINUTE: '0' });
  });
  after(async () => {
    await gateway.stop();
    await patientManagement.close();
  });

  test('each event is relayed as it is written, after a quiet longer than the upstream timeout, and the stop of the gateway cuts the stream', async () => {
    const token = await signIn(gateway.url, 'examiner');
    const received: string[] = [];
    let ended = false;
    await new Promise<void>((resolve, reject) => {
      const request = http.get(`${gateway.url}/patientManagements/stream`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (response) => {
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers['content-type']), /^text\/event-stream/);
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => received.push(chunk));
        response.on('close', () => (ended = true));
        response.on('error', () => (ended = true));
        resolve();
      });
      request.on('error', reject);
    });
    const waitFor = async (condition: () => boolean, what: string) => {
      const deadline = Date.now() + 5_000;
      while (!condition()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await waitFor(() => received.join('').includes('event: ready'), 'the first event arrives before the stream ends');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    open[0]!.write('event: visit\ndata: {"receptionId":1,"stage":"RECEIVED","updatedAt":"2026-11-26T09:00:00.000Z"}\n\n');
    await waitFor(() => received.join('').includes('"receptionId":1'), 'the event written after the quiet arrives');
    assert.equal(ended, false);

    const started = Date.now();
    await gateway.stop();
    assert.ok(Date.now() - started < 5_000, 'the gateway did not wait for the stream to end by itself');
    await waitFor(() => ended, 'the client sees the stream cut');
  });
});
