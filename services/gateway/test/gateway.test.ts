import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '@medical/platform/edge';
import { loadGatewayConfig } from '../src/config.ts';
import type { RunningGateway } from '../src/gateway.ts';
import { assertProblem, closedPortUrl, echo, quiet, send, signIn, startGateway, startUpstream, type FakeUpstream } from './helpers.ts';

describe('gateway with every upstream up', () => {
  const upstreams: Record<string, FakeUpstream> = {};
  let gateway: RunningGateway;

  before(async () => {
    for (const name of ['reception', 'diagnosis', 'examination', 'patientManagement']) upstreams[name] = await startUpstream();
    gateway = await startGateway({
      ...quiet,
      RECEPTION_URL: upstreams.reception!.url,
      DIAGNOSIS_URL: upstreams.diagnosis!.url,
      EXAMINATION_URL: upstreams.examination!.url,
      PATIENT_MANAGEMENT_URL: upstreams.patientManagement!.url,
    });
  });
  after(async () => {
    await gateway.stop();
    for (const upstream of Object.values(upstreams)) await upstream.close();
  });

  test("forwards method, path, query, body bytes, content type and trace context unchanged, with the gateway's own request id and the client's beside it", async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    // Odd spacing and key order: a gateway that parsed and re-serialised the JSON would change them.
    const body = '{ "patientName":"Kim Minji",   "patientId": "P-001" }';
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const answer = await send(gateway.url, 'POST', '/receptions/7/cancel?reason=a%20b&x=1&x=2', {
      body,
      headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req-123', traceparent },
    });

    assert.equal(answer.status, 200);
    assert.equal(reception.seen.length, 1);
    const seen = reception.seen[0]!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/receptions/7/cancel?reason=a%20b&x=1&x=2');
    assert.equal(seen.body.toString('utf8'), body);
    assert.equal(seen.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(seen.headers['content-length'], String(Buffer.byteLength(body)));
    // The request id is the gateway's, never the client's: a client cannot make the services' logs
    // and access records point at another request. The client's own is kept beside it.
    const gatewayId = answer.headers['x-request-id'];
    assert.match(String(gatewayId), /^[0-9a-f-]{36}$/);
    assert.equal(seen.headers['x-request-id'], gatewayId);
    assert.equal(seen.headers['x-client-request-id'], 'req-123');
    assert.equal(seen.headers.traceparent, traceparent);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');

    // A client's x-client-request-id header is not passed on as if the gateway had set it.
    reception.seen.length = 0;
    await send(gateway.url, 'POST', '/receptions/7/cancel', { body, headers: { 'content-type': 'application/json', 'x-client-request-id': 'forged' } });
    assert.equal(reception.seen[0]!.headers['x-client-request-id'], undefined);
  });

  test('does not judge bodies: malformed JSON and other media types reach the service as sent', async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    await send(gateway.url, 'POST', '/receptions', { body: '{"patientId": ', headers: { 'content-type': 'application/json' } });
    await send(gateway.url, 'POST', '/receptions/1/cancel', { body: 'a,b\n1,2', headers: { 'content-type': 'text/csv' } });
    const bytes = Buffer.from([0, 255, 1, 254]);
    await send(gateway.url, 'POST', '/receptions/1/confirm', { body: bytes, headers: { 'content-type': 'application/octet-stream' } });

    assert.deepEqual(
      reception.seen.map((s) => [s.method, s.url, s.headers['content-type'], s.body.toString('hex')]),
      [
        ['POST', '/receptions', 'application/json', Buffer.from('{"patientId": ').toString('hex')],
        ['POST', '/receptions/1/cancel', 'text/csv', Buffer.from('a,b\n1,2').toString('hex')],
        ['POST', '/receptions/1/confirm', 'application/octet-stream', bytes.toString('hex')],
      ],
    );
  });

  test('a request with no body arrives with no body, and carries the id the gateway gave it', async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    const confirm = await send(gateway.url, 'POST', '/receptions/3/confirm');
    const list = await send(gateway.url, 'GET', '/receptions?page=0&size=20&status=RECEIVED');

    assert.equal(confirm.status, 200);
    assert.equal(list.status, 200);
    const [confirmSeen, listSeen] = reception.seen;
    assert.equal(confirmSeen!.body.length, 0);
    assert.equal(confirmSeen!.headers['content-type'], undefined);
    assert.equal(listSeen!.url, '/receptions?page=0&size=20&status=RECEIVED');
    assert.equal(listSeen!.body.length, 0);
    // No id from the caller: the gateway made one, answered with it and passed it on.
    assert.match(String(confirm.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.equal(confirmSeen!.headers['x-request-id'], confirm.headers['x-request-id']);
  });

  test('passes the upstream status, Location and body through', async () => {
    const reception = upstreams.reception!;
    const created = '{"id":41,"status":"RECEIVED"}';
    reception.answer = (_seen, response) => {
      response.writeHead(201, { 'content-type': 'application/json', location: '/receptions/41', 'x-custom': 'kept' });
      response.end(created);
    };
    try {
      const answer = await send(gateway.url, 'POST', '/receptions', {
        body: '{"patientId":"P-1","patientName":"Lee"}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 201);
      assert.equal(answer.headers.location, '/receptions/41');
      assert.equal(answer.headers['x-custom'], 'kept');
      assert.equal(answer.headers['content-type'], 'application/json');
      assert.equal(answer.text, created);
    } finally {
      reception.answer = echo;
    }
  });

  test("passes the upstream's problem documents through as they are", async () => {
    const diagnosis = upstreams.diagnosis!;
    const problem = {
      type: 'urn:medical:problem:invalid-transition',
      title: 'Conflict',
      status: 409,
      detail: 'diagnosis 5 has a pending prescription',
      instance: '/diagnoses/5/complete',
    };
    diagnosis.answer = (_seen, response) => {
      response.writeHead(409, { 'content-type': 'application/problem+json; charset=utf-8' });
      response.end(JSON.stringify(problem));
    };
    try {
      const answer = await send(gateway.url, 'POST', '/diagnoses/5/complete', {
        body: '{"opinion":"ok"}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(answer.status, 409);
      assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual(answer.json(), problem);
    } finally {
      diagnosis.answer = echo;
    }
  });

  test("an upstream's own 503 is passed through once, not replayed", async () => {
    const examination = upstreams.examination!;
    examination.seen.length = 0;
    examination.answer = (_seen, response) => {
      response.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      response.end('{"title":"Service Unavailable","status":503,"detail":"shutting down"}');
    };
    try {
      const answer = await send(gateway.url, 'GET', '/examinations/1');
      assert.equal(answer.status, 503);
      assert.equal(answer.json().detail, 'shutting down');
      assert.equal(examination.seen.length, 1);
    } finally {
      examination.answer = echo;
    }
  });

  test('does not relay hop-by-hop headers of the upstream connection', async () => {
    const reception = upstreams.reception!;
    reception.answer = (_seen, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'keep-alive': 'timeout=1234', 'x-end-to-end': 'yes' });
      response.end('ok');
    };
    try {
      const answer = await send(gateway.url, 'GET', '/receptions/1');
      assert.equal(answer.headers['x-end-to-end'], 'yes');
      assert.equal(answer.headers['keep-alive'], undefined);
    } finally {
      reception.answer = echo;
    }
  });

  test('routes each prefix, and everything below it, to its own service only', async () => {
    for (const upstream of Object.values(upstreams)) upstream.seen.length = 0;
    const cases = [
      ['reception', 'GET', '/receptions'],
      ['reception', 'POST', '/receptions/9/confirm'],
      ['diagnosis', 'POST', '/diagnoses/2/prescriptions'],
      ['examination', 'POST', '/examinations/4/perform'],
      ['patientManagement', 'GET', '/patientManagements/12?stage=DIAGNOSIS'],
      ['patientManagement', 'GET', '/patientManagements/12/timeline'],
      // The registry is the reception's; a patient's access log alone, below it, patient-management's.
      ['reception', 'GET', '/patients?q=%E3%84%B1%E3%85%81%E3%85%88'],
      ['reception', 'GET', '/patients/00000018'],
      ['reception', 'POST', '/patients/00000018/merge'],
      ['patientManagement', 'GET', '/patients/00000018/access-log?page=1'],
    ] as const;
    for (const [, method, target] of cases) {
      const answer = await send(gateway.url, method, target);
      assert.equal(answer.status, 200, `${method} ${target}`);
    }
    const routed = Object.entries(upstreams).flatMap(([name, upstream]) => upstream.seen.map((s) => [name, s.method, s.url]));
    assert.deepEqual(
      routed.sort(),
      cases.map((c) => [...c]).sort(),
    );
  });

  test('HEAD is forwarded and answered without a body', async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    const answer = await send(gateway.url, 'HEAD', '/receptions/1');
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, 0);
    assert.deepEqual(reception.seen.map((s) => s.method), ['HEAD']);
  });

  test('a path that only starts like a route, or is unknown, is a 404 problem from the gateway', async () => {
    for (const upstream of Object.values(upstreams)) upstream.seen.length = 0;
    const nope = assertProblem(await send(gateway.url, 'GET', '/nope'), 404, 'urn:medical:problem:not-found');
    assert.equal(nope.instance, '/nope');
    assertProblem(await send(gateway.url, 'GET', '/receptionsX/1'), 404);
    assert.equal(Object.values(upstreams).reduce((n, u) => n + u.seen.length, 0), 0);
  });

  test('a path that climbs out of its route is refused, not forwarded', async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    const answer = await send(gateway.url, 'GET', '/receptions/../metrics');
    // No API route has that path: the authentication's check of the concrete path refuses it.
    assertProblem(answer, 404);
    assert.equal(reception.seen.length, 0);
  });

  test('refuses a body over 1 MiB with a 413 problem, without troubling the service', async () => {
    const reception = upstreams.reception!;
    reception.seen.length = 0;
    const body = Buffer.alloc(3 * 1024 * 1024, 'a');
    const answer = await send(gateway.url, 'POST', '/receptions', { body, headers: { 'content-type': 'application/json' } });
    assertProblem(answer, 413);
    assert.equal(reception.seen.length, 0);
    // Just under the limit still goes through.
    const fits = Buffer.alloc(1024 * 1024 - 16, 'a');
    const accepted = await send(gateway.url, 'POST', '/receptions', { body: fits, headers: { 'content-type': 'text/plain' } });
    assert.equal(accepted.status, 200);
    assert.equal(reception.seen[0]?.body.length, fits.length);
  });

  test('serves an index of the services and proxies each one\'s OpenAPI document', async () => {
    const index = await send(gateway.url, 'GET', '/openapi.json');
    assert.equal(index.status, 200);
    const document = index.json();
    assert.equal(document.openapi, '3.1.0');
    const reception = document['x-services'].find((s: { service: string }) => s.service === 'reception');
    assert.deepEqual(reception.paths, ['/receptions', '/receptions/*', '/patients', '/patients/*']);
    const patientManagement = document['x-services'].find((s: { service: string }) => s.service === 'patient-management');
    assert.deepEqual(patientManagement.paths, ['/patientManagements', '/patientManagements/*', '/queues', '/queues/*', '/tickets', '/tickets/*', '/patients/:patientId/access-log', '/tickets/:token']);

    upstreams.reception!.seen.length = 0;
    const proxied = await send(gateway.url, 'GET', reception.openapi);
    assert.equal(proxied.status, 200);
    assert.deepEqual(upstreams.reception!.seen.map((s) => [s.method, s.url]), [['GET', '/openapi.json']]);
  });

  test('serves the AsyncAPI document of the events, without a token, as docs/asyncapi.json has it', async () => {
    const reply = await send(gateway.url, 'GET', '/asyncapi.json', { headers: { authorization: '' } });
    assert.equal(reply.status, 200);
    const copy = JSON.parse(fs.readFileSync(new URL('../../../docs/asyncapi.json', import.meta.url), 'utf8')) as unknown;
    assert.deepEqual(reply.json(), copy);
  });

  test('/metrics records proxied requests by route pattern', async () => {
    await send(gateway.url, 'GET', '/diagnoses/77');
    const metrics = await send(gateway.url, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(metrics.text, /^http_request_duration_seconds_count\{[^}]*route="\/diagnoses\/\*"[^}]*\} [1-9]/m);
  });
});

describe('gateway with upstreams down', () => {
  test('a refused connection is a 503 problem for that route while the others keep working', async () => {
    const reception = await startUpstream();
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: reception.url, DIAGNOSIS_URL: await closedPortUrl() });
    try {
      for (const [method, target] of [['GET', '/diagnoses/1'], ['POST', '/diagnoses/1/reject']] as const) {
        const problem = assertProblem(await send(gateway.url, method, target), 503, 'urn:medical:problem:service-unavailable');
        assert.equal(problem.title, 'Service Unavailable');
        assert.equal(problem.detail, 'the diagnosis service is unavailable; try again shortly');
      }
      const ok = await send(gateway.url, 'POST', '/receptions', { body: '{}', headers: { 'content-type': 'application/json' } });
      assert.equal(ok.status, 200);
      assert.equal(reception.seen.length, 1);
    } finally {
      await gateway.stop();
      await reception.close();
    }
  });

  test('an upstream that does not answer within UPSTREAM_TIMEOUT_MS is a 503 problem', async () => {
    const hanging = await startUpstream(() => {});
    const gateway = await startGateway({ ...quiet, EXAMINATION_URL: hanging.url, UPSTREAM_TIMEOUT_MS: '300' });
    try {
      const started = performance.now();
      const answer = await send(gateway.url, 'POST', '/examinations/1/perform', {
        body: '{"result":"normal"}',
        headers: { 'content-type': 'application/json' },
      });
      const elapsed = performance.now() - started;
      const problem = assertProblem(answer, 503, 'urn:medical:problem:service-unavailable');
      assert.match(String(problem.detail), /examination service is unavailable/);
      assert.equal(hanging.seen.length, 1, 'the request reached the upstream; the gateway gave up waiting');
      assert.ok(elapsed >= 250, `answered after ${elapsed} ms, before the timeout`);
      assert.ok(elapsed < 5_000, `answered after ${elapsed} ms`);
    } finally {
      await gateway.stop();
      await hanging.close();
    }
  });

  test('a reset connection is a 503; a GET is tried once more, a POST never replayed', async () => {
    const flaky = await startUpstream();
    let resets = 0;
    flaky.answer = (seen, response, request) => {
      if (seen.method === 'POST' || resets === 0) {
        resets += 1;
        request.socket.destroy();
        return;
      }
      echo(seen, response, request);
    };
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: flaky.url });
    try {
      const post = await send(gateway.url, 'POST', '/receptions', { body: '{}', headers: { 'content-type': 'application/json' } });
      assertProblem(post, 503, 'urn:medical:problem:service-unavailable');
      assert.deepEqual(flaky.seen.map((s) => s.method), ['POST']);

      resets = 0;
      flaky.seen.length = 0;
      const get = await send(gateway.url, 'GET', '/receptions/5');
      assert.equal(get.status, 200);
      assert.deepEqual(flaky.seen.map((s) => s.url), ['/receptions/5', '/receptions/5']);
    } finally {
      await gateway.stop();
      await flaky.close();
    }
  });

  test('a GET whose connection is reset every time is a 503 after the one retry', async () => {
    const broken = await startUpstream((_seen, _response, request) => request.socket.destroy());
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: broken.url });
    try {
      assertProblem(await send(gateway.url, 'GET', '/receptions'), 503, 'urn:medical:problem:service-unavailable');
      assert.equal(broken.seen.length, 2);
    } finally {
      await gateway.stop();
      await broken.close();
    }
  });

  test('an answer cut short by the upstream is a 502 problem, not a truncated body', async () => {
    const short = await startUpstream((_seen, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"id":1,');
      // The replica dies mid-answer: 9 of the 100 bytes it announced.
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const gateway = await startGateway({ ...quiet, DIAGNOSIS_URL: short.url });
    try {
      const problem = assertProblem(await send(gateway.url, 'GET', '/diagnoses/1'), 502);
      assert.equal(problem.detail, 'the diagnosis service sent an invalid answer');
    } finally {
      await gateway.stop();
      await short.close();
    }
  });

  test('an answer of unknown length is relayed as it arrives, not held until it ends', async () => {
    let finish: () => void = () => {};
    const streaming = await startUpstream((_seen, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write('data: first\n\n');
      finish = () => response.end('data: last\n\n');
    });
    const gateway = await startGateway({ ...quiet, PATIENT_MANAGEMENT_URL: streaming.url });
    try {
      const response = await fetch(`${gateway.url}/patientManagements/stream`, { headers: { authorization: `Bearer ${await signIn(gateway.url, 'manager')}` } });
      assert.equal(response.status, 200);
      const reader = response.body!.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), 'data: first\n\n', 'the first event arrived before the answer ended');
      finish();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      assert.equal(rest, 'data: last\n\n');
    } finally {
      await gateway.stop();
      await streaming.close();
    }
  });

  test('an upstream answering with an impossible status is a 502 problem, never a 500', async () => {
    const odd = await startUpstream((_seen, response) => {
      response.writeHead(600, { 'content-type': 'text/plain' });
      response.end('?');
    });
    const gateway = await startGateway({ ...quiet, DIAGNOSIS_URL: odd.url });
    try {
      const problem = assertProblem(await send(gateway.url, 'GET', '/diagnoses'), 502);
      assert.equal(problem.detail, 'the diagnosis service sent an invalid answer');
    } finally {
      await gateway.stop();
      await odd.close();
    }
  });

  test('/healthz and /readyz stay 200 with every upstream down, and /metrics answers', async () => {
    const down = await closedPortUrl();
    const gateway = await startGateway({
      ...quiet,
      RECEPTION_URL: down,
      DIAGNOSIS_URL: down,
      EXAMINATION_URL: down,
      PATIENT_MANAGEMENT_URL: down,
    });
    try {
      assertProblem(await send(gateway.url, 'GET', '/receptions'), 503);
      const health = await send(gateway.url, 'GET', '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(health.json(), { status: 'UP' });
      const ready = await send(gateway.url, 'GET', '/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.json(), { status: 'READY' });
      const metrics = await send(gateway.url, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /http_request_duration_seconds_bucket\{[^}]*route="\/receptions"[^}]*status_code="503"/);
    } finally {
      await gateway.stop();
    }
  });
});

describe('configuration', () => {
  test('defaults match the local ports of DESIGN.md', () => {
    const config = loadGatewayConfig({ AUTH_MODE: 'dev' });
    assert.equal(config.port, 8088);
    // With the development provider, loopback only; with a real one every interface, as the services.
    assert.equal(config.host, '127.0.0.1');
    assert.equal(loadGatewayConfig({ OIDC_ISSUER: 'https://idp.example/realms/h', OIDC_AUDIENCE: 'medical' }).host, '0.0.0.0');
    assert.equal(config.upstreamTimeoutMs, 10_000);
    assert.equal(config.healthIntervalMs, 2_000);
    assert.equal(config.healthTimeoutMs, 1_000);
    assert.deepEqual(
      config.upstreams.map((u) => [u.prefixes, u.origins]),
      [
        [['/receptions', '/patients'], ['http://127.0.0.1:8082']],
        [['/diagnoses'], ['http://127.0.0.1:8083']],
        [['/examinations'], ['http://127.0.0.1:8084']],
        [['/patientManagements', '/queues', '/tickets'], ['http://127.0.0.1:8085']],
        [['/fhir'], ['http://127.0.0.1:8086']],
      ],
    );
  });

  test('upstream URLs are read from the environment, a trailing slash tolerated', () => {
    const config = loadGatewayConfig({
      AUTH_MODE: 'dev',
      EXAMINATION_URL: 'http://examination:8080/',
      UPSTREAM_TIMEOUT_MS: '2500',
      UPSTREAM_HEALTH_INTERVAL_MS: '500',
    });
    assert.deepEqual(config.upstreams.find((u) => u.service === 'examination')?.origins, ['http://examination:8080']);
    assert.equal(config.upstreamTimeoutMs, 2500);
    assert.equal(config.healthIntervalMs, 500);
  });

  test('an upstream variable lists its replicas, comma-separated, in order', () => {
    const config = loadGatewayConfig({
      AUTH_MODE: 'dev',
      RECEPTION_URL: 'http://reception-0:8080, http://reception-1:8080/ ,https://reception-2.internal',
      DIAGNOSIS_URL: '  ',
    });
    const origins = Object.fromEntries(config.upstreams.map((u) => [u.variable, u.origins]));
    assert.deepEqual(origins.RECEPTION_URL, ['http://reception-0:8080', 'http://reception-1:8080', 'https://reception-2.internal']);
    // Blank is unset, as for every variable: the local default.
    assert.deepEqual(origins.DIAGNOSIS_URL, ['http://127.0.0.1:8083']);
  });

  test('a bad value fails the start with a ConfigError naming the variable', async () => {
    const bad: Array<[Record<string, string>, string, RegExp?]> = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
      [{ RECEPTION_URL: 'reception:8082' }, 'RECEPTION_URL'],
      [{ DIAGNOSIS_URL: 'ftp://diagnosis' }, 'DIAGNOSIS_URL'],
      [{ PATIENT_MANAGEMENT_URL: 'http://pm:8080/api' }, 'PATIENT_MANAGEMENT_URL'],
      [{ UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS'],
      [{ UPSTREAM_TIMEOUT_MS: '1s' }, 'UPSTREAM_TIMEOUT_MS'],
      [{ UPSTREAM_HEALTH_INTERVAL_MS: '2s' }, 'UPSTREAM_HEALTH_INTERVAL_MS'],
      [{ UPSTREAM_HEALTH_INTERVAL_MS: '0' }, 'UPSTREAM_HEALTH_INTERVAL_MS'],
      // Lists: one bad entry among good ones, an empty list, an empty entry, a replica twice.
      [{ EXAMINATION_URL: 'http://examination-0:8080,examination-1:8080' }, 'EXAMINATION_URL', /"examination-1:8080"/],
      [{ EXAMINATION_URL: 'http://examination-0:8080,http://examination-1:8080/v1' }, 'EXAMINATION_URL', /no path/],
      [{ RECEPTION_URL: ',' }, 'RECEPTION_URL', /at least one origin/],
      [{ RECEPTION_URL: ' , , ' }, 'RECEPTION_URL', /at least one origin/],
      [{ DIAGNOSIS_URL: 'http://diagnosis-0:8080,,http://diagnosis-1:8080' }, 'DIAGNOSIS_URL', /empty entry/],
      [{ DIAGNOSIS_URL: 'http://diagnosis-0:8080,' }, 'DIAGNOSIS_URL', /empty entry/],
      [{ PATIENT_MANAGEMENT_URL: 'http://pm:8080,http://pm:8080/' }, 'PATIENT_MANAGEMENT_URL', /lists http:\/\/pm:8080 twice/],
    ];
    for (const [env, variable, message] of bad) {
      await assert.rejects(startGateway({ ...quiet, ...env }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${variable}: ${String(error)}`);
        assert.match(error.message, new RegExp(`^${variable} `));
        if (message) assert.match(error.message, message);
        return true;
      });
    }
  });
});

describe('process', () => {
  const main = path.join(import.meta.dirname, '..', 'src', 'main.ts');

  test('logs its URL, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, AUTH_MODE: 'dev', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-process-')) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const found = /gateway listening on (http:\/\/\S+?)"/.exec(output);
          if (found) resolve(found[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${output}`)));
      });
      assert.equal((await send(url, 'GET', '/healthz')).status, 200);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('a bad setting stops the start with exit code 1 and names the variable', async () => {
    const child = spawn(process.execPath, [main], { env: { ...process.env, PORT: 'abc' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(errors, /gateway failed to start: PORT must be an integer, got "abc"/);
  });

  test('refuses to start its development identity provider with NODE_ENV=production', async () => {
    const env: Record<string, string | undefined> = { ...process.env, NODE_ENV: 'production', AUTH_MODE: 'dev', PORT: '0', HOST: '127.0.0.1' };
    const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(errors, /gateway failed to start: AUTH_MODE=dev is refused with NODE_ENV=production/);
  });

  test('started with nothing said, expects a real identity provider and names the setting it lacks', async () => {
    const env: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.AUTH_MODE;
    delete env.OIDC_ISSUER;
    const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1);
    assert.match(errors, /gateway failed to start: OIDC_ISSUER must be set with AUTH_MODE=oidc/);
  });
});
