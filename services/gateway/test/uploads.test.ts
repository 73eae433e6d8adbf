import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '@medical/platform/edge';
import { loadGatewayConfig } from '../src/config.ts';
import type { RunningGateway } from '../src/gateway.ts';
import { assertProblem, closedPortUrl, quiet, send, startGateway, startUpstream, type FakeUpstream } from './helpers.ts';

/**
 * Uploads through the gateway (issue 7): on an upload route (POST /examinations/{id}/attachments)
 * a multipart body passes up to ATTACHMENT_MAX_BYTES plus the multipart framing, streamed to the
 * service unchanged; every other body keeps the API's 1 MiB limit; a streamed upload whose
 * replica fails is answered 503, never sent again.
 */

const MiB = 1024 * 1024;
const LIMIT = 2 * MiB;

function multipart(bytes: Buffer, boundary = 'gateway-test'): { body: Buffer; headers: Record<string, string> } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

describe('uploads through the gateway', () => {
  let examination: FakeUpstream;
  let gateway: RunningGateway;

  before(async () => {
    examination = await startUpstream((seen, response) => {
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ bytes: seen.body.length }));
    });
    gateway = await startGateway({ ...quiet, EXAMINATION_URL: examination.url, ATTACHMENT_MAX_BYTES: String(LIMIT) });
  });
  after(async () => {
    await gateway.stop();
    await examination.close();
  });

  test('a multipart body above 1 MiB reaches the service unchanged, with its Content-Length', async () => {
    examination.seen.length = 0;
    const { body, headers } = multipart(Buffer.alloc(LIMIT, 0x41));
    const answer = await send(gateway.url, 'POST', '/examinations/7/attachments', { body, headers });
    assert.equal(answer.status, 201, answer.text);
    const seen = examination.seen[0]!;
    assert.ok(seen.body.equals(body));
    assert.equal(seen.headers['content-length'], String(body.length));
    assert.equal(seen.headers['content-type'], headers['content-type']);
  });

  test('over the upload limit, or over 1 MiB on any other route: 413 from the gateway', async () => {
    examination.seen.length = 0;
    const over = multipart(Buffer.alloc(LIMIT + 128 * 1024));
    assertProblem(await send(gateway.url, 'POST', '/examinations/7/attachments', over), 413);
    const other = multipart(Buffer.alloc(1.5 * MiB));
    assertProblem(await send(gateway.url, 'POST', '/examinations/7/perform', other), 413);
    const json = JSON.stringify({ result: 'x'.repeat(1.5 * MiB) });
    assertProblem(await send(gateway.url, 'POST', '/examinations/7/perform', { body: json, headers: { 'content-type': 'application/json' } }), 413);
    const jsonOver = JSON.stringify({ file: 'x'.repeat(LIMIT + 128 * 1024) });
    assertProblem(await send(gateway.url, 'POST', '/examinations/7/attachments', { body: jsonOver, headers: { 'content-type': 'application/json' } }), 413);
    assert.equal(examination.seen.length, 0);
  });

  test('an upload whose replica cannot be reached is answered 503 and not retried with a consumed body', async () => {
    const down = await closedPortUrl();
    const twoReplicas = await startGateway({ ...quiet, EXAMINATION_URL: `${down},${examination.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '600000' });
    try {
      examination.seen.length = 0;
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const { body, headers } = multipart(Buffer.alloc(64 * 1024, 0x42));
        statuses.push((await send(twoReplicas.url, 'POST', '/examinations/7/attachments', { body, headers })).status);
      }
      // One of the two went to the replica that is down: a 503, not a second (empty) attempt elsewhere.
      assert.ok(statuses.every((s) => s === 201 || s === 503), JSON.stringify(statuses));
      for (const seen of examination.seen) assert.equal(seen.body.length > 64 * 1024, true, 'the service never got a truncated body');
    } finally {
      await twoReplicas.stop();
    }
  });

  test('ATTACHMENT_MAX_BYTES is validated at start', () => {
    assert.equal(loadGatewayConfig({ AUTH_MODE: 'dev' }).attachmentMaxBytes, 20 * MiB);
    assert.throws(() => loadGatewayConfig({ AUTH_MODE: 'dev', ATTACHMENT_MAX_BYTES: '20MiB' }), (error: Error) => error instanceof ConfigError && /ATTACHMENT_MAX_BYTES/.test(error.message));
  });
});
