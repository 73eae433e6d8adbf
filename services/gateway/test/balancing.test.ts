import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RunningGateway } from '../src/gateway.ts';
import {
  assertProblem,
  closedPortUrl,
  echo,
  eventually,
  quiet,
  send,
  startUpstream,
  type Answer,
  type Answered,
  type FakeUpstream,
  startGateway,
} from './helpers.ts';

// Several replicas behind one route: the gateway spreads requests over the healthy ones, takes a
// replica out when its readiness check or a request to it fails, and retries on another replica
// only what cannot be executed twice.

/** The gateway's gateway_upstream_healthy value for one replica, or undefined if it has none. */
async function healthGauge(gateway: RunningGateway, service: string, upstream: string): Promise<number | undefined> {
  const metrics = await send(gateway.url, 'GET', '/metrics');
  for (const line of metrics.text.split('\n')) {
    const found = /^gateway_upstream_healthy\{([^}]*)\} (\S+)$/.exec(line);
    if (!found) continue;
    const labels = Object.fromEntries([...found[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.service === service && labels.upstream === upstream) return Number(found[2]);
  }
  return undefined;
}

const json = { 'content-type': 'application/json' };
const gets = (upstream: FakeUpstream) => upstream.seen.filter((s) => s.method === 'GET').length;
const posts = (upstream: FakeUpstream) => upstream.seen.filter((s) => s.method === 'POST').length;

describe('balancing across replicas', () => {
  test('spreads requests over two healthy replicas in turn, the OpenAPI document too', async () => {
    const [a, b] = [await startUpstream(), await startUpstream()];
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: `${a.url},${b.url}` });
    try {
      for (let i = 0; i < 10; i += 1) assert.equal((await send(gateway.url, 'GET', `/receptions/${i}`)).status, 200);
      for (let i = 0; i < 10; i += 1) {
        assert.equal((await send(gateway.url, 'POST', '/receptions', { body: `{"n":${i}}`, headers: json })).status, 200);
      }
      // Round-robin over two healthy replicas: strict turns.
      assert.deepEqual([gets(a), gets(b), posts(a), posts(b)], [5, 5, 5, 5]);

      const document = await send(gateway.url, 'GET', '/openapi/reception.json');
      assert.equal(document.status, 200);
      assert.equal([...a.seen, ...b.seen].filter((s) => s.url === '/openapi.json').length, 1);
      assert.equal(await healthGauge(gateway, 'reception', a.url), 1);
      assert.equal(await healthGauge(gateway, 'reception', b.url), 1);
    } finally {
      await gateway.stop();
      await a.close();
      await b.close();
    }
  });

  test('a replica shut down mid-burst fails no request, and each POST runs exactly once', async () => {
    // Every answer takes a moment, so the burst keeps requests in flight on both replicas.
    const slowEcho: Answer = (seen, response, request) => setTimeout(() => echo(seen, response, request), 2);
    const [a, b] = [await startUpstream(slowEcho), await startUpstream(slowEcho)];
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: `${a.url},${b.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '100' });
    let restarted: FakeUpstream | undefined;
    try {
      const total = 200;
      const answers: Answered[] = [];
      let next = 0;
      let shutdown: Promise<void> | undefined;
      let stopped = false;
      let afterShutdown = 0;
      const worker = async () => {
        while (next < total) {
          const n = next++;
          if (n === 60) shutdown = a.shutdown().then(() => void (stopped = true));
          const issuedAfterShutdown = stopped;
          const answer =
            n % 2 === 0
              ? await send(gateway.url, 'GET', `/receptions/${n}`)
              : await send(gateway.url, 'POST', '/receptions', { body: JSON.stringify({ n }), headers: json });
          answers[n] = answer;
          if (issuedAfterShutdown) afterShutdown += 1;
        }
      };
      await Promise.all(Array.from({ length: 10 }, worker));
      await shutdown;

      const failed = answers.map((answer, n) => [n, answer.status]).filter(([, status]) => status !== 200);
      assert.deepEqual(failed, [], 'no request failed');
      const postsRun = new Map<number, number>();
      for (const seen of [...a.seen, ...b.seen].filter((s) => s.method === 'POST')) {
        const { n } = JSON.parse(seen.body.toString()) as { n: number };
        postsRun.set(n, (postsRun.get(n) ?? 0) + 1);
      }
      for (let n = 1; n < total; n += 2) assert.equal(postsRun.get(n), 1, `POST ${n} ran ${postsRun.get(n) ?? 0} times`);
      assert.ok(a.seen.length > 0 && afterShutdown > 0, `a served ${a.seen.length}, ${afterShutdown} issued after it stopped`);
      assert.equal(await healthGauge(gateway, 'reception', a.url), 0);

      // While a is down, everything goes to b.
      const before = [a.seen.length, b.seen.length];
      for (let i = 0; i < 6; i += 1) assert.equal((await send(gateway.url, 'GET', '/receptions/1')).status, 200);
      assert.deepEqual([a.seen.length, b.seen.length], [before[0], before[1]! + 6]);

      // The restarted replica is back in the rotation once its readiness check answers 200.
      restarted = await startUpstream(echo, Number(new URL(a.url).port));
      await eventually(async () => (await healthGauge(gateway, 'reception', a.url)) === 1, 'the restarted replica is healthy');
      for (let i = 0; i < 4; i += 1) assert.equal((await send(gateway.url, 'GET', '/receptions/1')).status, 200);
      assert.equal(restarted.seen.length, 2);
    } finally {
      await gateway.stop();
      await a.close();
      await b.close();
      await restarted?.close();
    }
  });

  test('a replica whose readiness check answers 503 is taken out, and put back when it answers 200', async () => {
    const [a, b] = [await startUpstream(), await startUpstream()];
    const gateway = await startGateway({ ...quiet, DIAGNOSIS_URL: `${a.url},${b.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '25' });
    try {
      await eventually(() => a.checks > 0 && b.checks > 0, 'both replicas were checked');
      a.readyStatus = 503;
      await eventually(async () => (await healthGauge(gateway, 'diagnosis', a.url)) === 0, 'a is unhealthy');
      for (let i = 0; i < 6; i += 1) assert.equal((await send(gateway.url, 'GET', '/diagnoses/1')).status, 200);
      assert.deepEqual([a.seen.length, b.seen.length], [0, 6]);

      a.readyStatus = 200;
      await eventually(async () => (await healthGauge(gateway, 'diagnosis', a.url)) === 1, 'a is healthy again');
      for (let i = 0; i < 6; i += 1) assert.equal((await send(gateway.url, 'GET', '/diagnoses/1')).status, 200);
      assert.deepEqual([a.seen.length, b.seen.length], [3, 9]);
      assert.equal(await healthGauge(gateway, 'diagnosis', b.url), 1);
    } finally {
      await gateway.stop();
      await a.close();
      await b.close();
    }
  });

  test('a replica whose readiness check does not answer within a second is taken out', async () => {
    const [a, b] = [await startUpstream(), await startUpstream()];
    const gateway = await startGateway({ ...quiet, EXAMINATION_URL: `${a.url},${b.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '25' });
    try {
      await eventually(() => a.checks > 0, 'a was checked');
      // Answers every request but its readiness check, which it holds open.
      a.readyStatus = 'hang';
      const started = performance.now();
      await eventually(async () => (await healthGauge(gateway, 'examination', a.url)) === 0, 'a is unhealthy');
      assert.ok(performance.now() - started >= 900, 'not before the check timed out');
      assert.equal(await healthGauge(gateway, 'examination', b.url), 1);
    } finally {
      await gateway.stop();
      await a.close();
      await b.close();
    }
  });

  test('with every replica down the route answers the same 503 problem as with one', async () => {
    const [down1, down2] = [await closedPortUrl(), await closedPortUrl()];
    const gateway = await startGateway({ ...quiet, EXAMINATION_URL: `${down1},${down2}` });
    try {
      const requests = [
        ['GET', '/examinations/1', {}],
        ['POST', '/examinations/1/perform', { body: '{"result":"normal"}', headers: json }],
      ] as const;
      for (const [method, target, options] of requests) {
        const problem = assertProblem(await send(gateway.url, method, target, options), 503, 'urn:medical:problem:service-unavailable');
        assert.equal(problem.title, 'Service Unavailable');
        assert.equal(problem.detail, 'the examination service is unavailable; try again shortly');
        // The first request found both refusing, one after the other, without waiting for a check.
        assert.equal(await healthGauge(gateway, 'examination', down1), 0);
        assert.equal(await healthGauge(gateway, 'examination', down2), 0);
      }
    } finally {
      await gateway.stop();
    }
  });

  test('replicas the checks hold as down are still tried: one that is back answers at once', async () => {
    const down = await closedPortUrl();
    const back = await startUpstream();
    back.readyStatus = 503;
    // Checks far apart: the gateway only learns of the recovery from a request.
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: `${down},${back.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '600000' });
    try {
      await eventually(async () => (await healthGauge(gateway, 'reception', back.url)) === 0, 'the checks hold both as down');
      const answer = await send(gateway.url, 'POST', '/receptions', { body: '{"n":1}', headers: json });
      assert.equal(answer.status, 200);
      assert.equal(posts(back), 1);
    } finally {
      await gateway.stop();
      await back.close();
    }
  });
});

describe('retrying on another replica', () => {
  test('a POST whose connection was refused is sent to another replica, and runs once', async () => {
    const down = await closedPortUrl();
    const up = await startUpstream();
    // The first request of a new gateway goes to the first replica listed: the dead one.
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: `${down},${up.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '600000' });
    try {
      const answer = await send(gateway.url, 'POST', '/receptions', { body: '{"n":1}', headers: json });
      assert.equal(answer.status, 200);
      assert.equal(posts(up), 1);
      // Refused once: out of the rotation at once, without waiting for a check.
      assert.equal(await healthGauge(gateway, 'reception', down), 0);
    } finally {
      await gateway.stop();
      await up.close();
    }
  });

  test('a POST that hangs is a 503 after the timeout and is not sent to the other replica', async () => {
    const hanging = await startUpstream(() => {});
    // Its readiness check hangs too, so no check can put it back while the test looks.
    hanging.readyStatus = 'hang';
    const other = await startUpstream();
    const gateway = await startGateway({
      ...quiet,
      EXAMINATION_URL: `${hanging.url},${other.url}`,
      UPSTREAM_TIMEOUT_MS: '300',
      UPSTREAM_HEALTH_INTERVAL_MS: '600000',
    });
    try {
      const started = performance.now();
      const answer = await send(gateway.url, 'POST', '/examinations/1/perform', { body: '{"result":"normal"}', headers: json });
      const elapsed = performance.now() - started;
      const problem = assertProblem(answer, 503, 'urn:medical:problem:service-unavailable');
      assert.equal(problem.detail, 'the examination service is unavailable; try again shortly');
      assert.ok(elapsed >= 250 && elapsed < 5_000, `answered after ${elapsed} ms`);
      assert.equal(posts(hanging), 1, 'the hanging replica got the POST');
      assert.equal(other.seen.length, 0, 'and the other replica never did');
      assert.equal(await healthGauge(gateway, 'examination', hanging.url), 0);
    } finally {
      await gateway.stop();
      await hanging.close();
      await other.close();
    }
  });

  test('a POST whose connection is reset after sending is a 503, not sent to the other replica', async () => {
    const resetting = await startUpstream((_seen, _response, request) => request.socket.destroy());
    const other = await startUpstream();
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: `${resetting.url},${other.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '600000' });
    try {
      assertProblem(await send(gateway.url, 'POST', '/receptions', { body: '{}', headers: json }), 503, 'urn:medical:problem:service-unavailable');
      assert.deepEqual([posts(resetting), other.seen.length], [1, 0]);
    } finally {
      await gateway.stop();
      await resetting.close();
      await other.close();
    }
  });

  test('a GET that hangs is tried once more, on the other replica', async () => {
    const hanging = await startUpstream(() => {});
    const other = await startUpstream();
    const gateway = await startGateway({
      ...quiet,
      PATIENT_MANAGEMENT_URL: `${hanging.url},${other.url}`,
      UPSTREAM_TIMEOUT_MS: '300',
      UPSTREAM_HEALTH_INTERVAL_MS: '600000',
    });
    try {
      assert.equal((await send(gateway.url, 'GET', '/patientManagements/1')).status, 200);
      assert.deepEqual([gets(hanging), gets(other)], [1, 1]);
    } finally {
      await gateway.stop();
      await hanging.close();
      await other.close();
    }
  });

  test('a GET whose connection is reset is tried once more, on the other replica', async () => {
    const resetting = await startUpstream((_seen, _response, request) => request.socket.destroy());
    // Its readiness check hangs too, so no check can put it back while the test looks.
    resetting.readyStatus = 'hang';
    const other = await startUpstream();
    const gateway = await startGateway({ ...quiet, DIAGNOSIS_URL: `${resetting.url},${other.url}`, UPSTREAM_HEALTH_INTERVAL_MS: '600000' });
    try {
      assert.equal((await send(gateway.url, 'HEAD', '/diagnoses/1')).status, 200);
      assert.deepEqual([resetting.seen.length, other.seen.length], [1, 1]);
      // Out of the rotation now: the next requests go straight to the other replica.
      for (let i = 0; i < 3; i += 1) assert.equal((await send(gateway.url, 'GET', '/diagnoses/1')).status, 200);
      assert.deepEqual([resetting.seen.length, other.seen.length], [1, 4]);
    } finally {
      await gateway.stop();
      await resetting.close();
      await other.close();
    }
  });
});
