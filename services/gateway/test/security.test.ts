import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '@medical/platform/edge';
import { loadGatewayConfig } from '../src/config.ts';
import type { RunningGateway } from '../src/gateway.ts';
import { assertProblem, closedPortUrl, quiet, send, signIn, startGateway, startUpstream, type FakeUpstream } from './helpers.ts';

/**
 * Authentication and hardening at the entry point: tokens and roles on every proxied route, the
 * development identity provider, security headers, CORS and rate limits.
 */

const CONSOLE = 'https://console.hospital.example';

describe('gateway authentication and hardening', () => {
  let reception: FakeUpstream;
  let gateway: RunningGateway;

  before(async () => {
    reception = await startUpstream();
    gateway = await startGateway({ ...quiet, RECEPTION_URL: reception.url, CORS_ORIGINS: CONSOLE, RATE_LIMIT_PER_MINUTE: '0' });
  });
  after(async () => {
    await gateway.stop();
    await reception.close();
  });

  test('no token: 401 problem with a Bearer challenge, and the service never sees the request', async () => {
    reception.seen.length = 0;
    const answer = await send(gateway.url, 'POST', '/receptions', { body: '{}', headers: { 'content-type': 'application/json', authorization: '' } });
    const problem = assertProblem(answer, 401, 'urn:medical:problem:unauthorized');
    assert.match(String(answer.headers['www-authenticate']), /^Bearer realm="medical-visit-workflow"/);
    assert.doesNotMatch(JSON.stringify(problem), /stack|at \w+ \(|node_modules/);
    const forged = await send(gateway.url, 'GET', '/receptions', { headers: { authorization: 'Bearer not.a.token' } });
    assertProblem(forged, 401);
    assert.match(String(forged.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal(reception.seen.length, 0);
  });

  test('the wrong role: 403 problem naming the roles; the right one is forwarded with its token', async () => {
    reception.seen.length = 0;
    const doctor = await signIn(gateway.url, 'doctor');
    const refused = await send(gateway.url, 'GET', '/receptions/1', { headers: { authorization: `Bearer ${doctor}` } });
    const problem = assertProblem(refused, 403, 'urn:medical:problem:forbidden');
    assert.match(String(problem.detail), /receptionist/);
    assert.equal(reception.seen.length, 0);

    const receptionist = await signIn(gateway.url, 'receptionist');
    const allowed = await send(gateway.url, 'GET', '/receptions/1', { headers: { authorization: `Bearer ${receptionist}` } });
    assert.equal(allowed.status, 200, allowed.text);
    // The service checks the token again: it gets it as it came.
    assert.equal(reception.seen[0]?.headers.authorization, `Bearer ${receptionist}`);
  });

  test('the token endpoint: a token for a demo user, 401 for a wrong password, never cached', async () => {
    const ok = await send(gateway.url, 'POST', '/auth/token', {
      body: JSON.stringify({ username: 'examiner', password: 'demo' }),
      headers: { 'content-type': 'application/json', authorization: '' },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json().token_type, 'Bearer');
    assert.equal(ok.headers['cache-control'], 'no-store');
    const wrong = await send(gateway.url, 'POST', '/auth/token', {
      body: JSON.stringify({ username: 'examiner', password: 'guess' }),
      headers: { 'content-type': 'application/json', authorization: '' },
    });
    assertProblem(wrong, 401);
    const discovery = await send(gateway.url, 'GET', '/auth/.well-known/openid-configuration', { headers: { authorization: '' } });
    assert.equal(discovery.json().issuer, gateway.config.auth.issuer);
  });

  test('security headers on every answer: success, refusal and 404', async () => {
    for (const [method, target] of [
      ['GET', '/receptions'],
      ['GET', '/healthz'],
      ['GET', '/nope'],
    ] as const) {
      const answer = await send(gateway.url, method, target, target === '/receptions' ? {} : { headers: { authorization: '' } });
      assert.equal(answer.headers['x-content-type-options'], 'nosniff', target);
      assert.equal(answer.headers['x-frame-options'], 'DENY', target);
      assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/, target);
      assert.match(String(answer.headers['content-security-policy']), /frame-ancestors 'none'/, target);
      assert.equal(answer.headers['referrer-policy'], 'no-referrer', target);
      assert.ok(answer.headers['strict-transport-security'], target);
      assert.equal(answer.headers['x-powered-by'], undefined, target);
      // The rest of helmet's set, written once at start (security-headers.ts), on every answer too.
      assert.equal(answer.headers['cross-origin-resource-policy'], 'cross-origin', target);
      assert.equal(answer.headers['cross-origin-opener-policy'], 'same-origin', target);
      assert.equal(answer.headers['origin-agent-cluster'], '?1', target);
      assert.equal(answer.headers['x-dns-prefetch-control'], 'off', target);
      assert.equal(answer.headers['x-download-options'], 'noopen', target);
      assert.equal(answer.headers['x-permitted-cross-domain-policies'], 'none', target);
      assert.equal(answer.headers['x-xss-protection'], '0', target);
    }
    // A refusal by authentication carries them as well: the headers are set before it runs.
    const refused = await send(gateway.url, 'GET', '/receptions', { headers: { authorization: '' } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['x-frame-options'], 'DENY');
    assert.match(String(refused.headers['content-security-policy']), /default-src 'none'/);
  });

  test('CORS: an allowed origin gets its preflight answered before authentication; another gets no CORS headers', async () => {
    const preflight = await send(gateway.url, 'OPTIONS', '/receptions', {
      headers: { origin: CONSOLE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type', authorization: '' },
    });
    assert.equal(preflight.status, 204, preflight.text);
    assert.equal(preflight.headers['access-control-allow-origin'], CONSOLE);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);

    const simple = await send(gateway.url, 'GET', '/receptions', { headers: { origin: CONSOLE } });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers['access-control-allow-origin'], CONSOLE);

    const evil = 'https://evil.example';
    const refused = await send(gateway.url, 'OPTIONS', '/receptions', {
      headers: { origin: evil, 'access-control-request-method': 'POST', authorization: '' },
    });
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    const other = await send(gateway.url, 'GET', '/receptions', { headers: { origin: evil } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});

describe('gateway rate limits', () => {
  test('per client: a 429 problem with Retry-After past RATE_LIMIT_PER_MINUTE; another user has their own budget', async () => {
    const reception = await startUpstream();
    const gateway = await startGateway({ ...quiet, RECEPTION_URL: reception.url, RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 4; i++) {
        last = await send(gateway.url, 'GET', '/receptions');
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const problem = assertProblem(last!, 429);
      assert.equal(problem.title, 'Too Many Requests');
      assert.match(String(last!.headers['retry-after']), /^\d+$/);
      assert.doesNotMatch(last!.text, /stack|node_modules|fastify/i);

      // Keyed by the token's subject: the receptionist is not held back by the admin's requests.
      const receptionist = await signIn(gateway.url, 'receptionist');
      assert.equal((await send(gateway.url, 'GET', '/receptions', { headers: { authorization: `Bearer ${receptionist}` } })).status, 200);
      // Probes are never limited: a 429 would take the gateway out of its load balancer.
      for (let i = 0; i < 5; i++) assert.equal((await send(gateway.url, 'GET', '/healthz', { headers: { authorization: '' } })).status, 200);
    } finally {
      await gateway.stop();
      await reception.close();
    }
  });

  test('per address, every request counts before authentication: a flood of 401s and 404s is stopped', async () => {
    const gateway = await startGateway({ ...quiet, ADDRESS_RATE_LIMIT_PER_MINUTE: '4', RATE_LIMIT_PER_MINUTE: '0', RECEPTION_URL: await closedPortUrl() });
    try {
      // startGateway signed in once as admin already: one request of this address's four.
      const anonymous = { headers: { authorization: '' } };
      assert.equal((await send(gateway.url, 'GET', '/receptions', anonymous)).status, 401);
      assert.equal((await send(gateway.url, 'GET', '/receptions', { headers: { authorization: 'Bearer not-a-token' } })).status, 401);
      assert.equal((await send(gateway.url, 'GET', '/no-such-route', anonymous)).status, 404);
      const limited = await send(gateway.url, 'GET', '/receptions', anonymous);
      assertProblem(limited, 429);
      assert.match(String(limited.headers['retry-after']), /^\d+$/);
      // Probes are never limited.
      assert.equal((await send(gateway.url, 'GET', '/healthz', anonymous)).status, 200);
    } finally {
      await gateway.stop();
    }
  });

  test('behind TRUST_PROXY_HOPS proxies each client address has its own budget; without, a forged X-Forwarded-For changes nothing', async () => {
    const limits = { ADDRESS_RATE_LIMIT_PER_MINUTE: '2', RATE_LIMIT_PER_MINUTE: '0', AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '0', RECEPTION_URL: await closedPortUrl() };
    const from = (address: string) => ({ headers: { authorization: '', 'x-forwarded-for': address } });
    const behindProxy = await startGateway({ ...quiet, ...limits, TRUST_PROXY_HOPS: '1' });
    try {
      // Each address: two requests pass, the third is refused; another address is not held back.
      const statuses = [];
      for (const address of ['203.0.113.7', '203.0.113.7', '203.0.113.7', '198.51.100.9']) statuses.push((await send(behindProxy.url, 'GET', '/receptions', from(address))).status);
      assert.deepEqual(statuses, [401, 401, 429, 401]);
    } finally {
      await behindProxy.stop();
    }
    const direct = await startGateway({ ...quiet, ...limits });
    try {
      // The sign-in of startGateway spent one; a new forged address each time does not buy more.
      const statuses = [];
      for (const address of ['203.0.113.1', '203.0.113.2']) statuses.push((await send(direct.url, 'GET', '/receptions', from(address))).status);
      assert.deepEqual(statuses, [401, 429]);
    } finally {
      await direct.stop();
    }
  });

  test('sign-in attempts have their own, stricter limit per address', async () => {
    // A reception that is down (not the default port, where a system started by hand may be answering).
    const gateway = await startGateway({ ...quiet, AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '3', RATE_LIMIT_PER_MINUTE: '0', RECEPTION_URL: await closedPortUrl() });
    try {
      // startGateway signed in once as admin already.
      const attempt = () =>
        send(gateway.url, 'POST', '/auth/token', {
          body: JSON.stringify({ username: 'doctor', password: 'wrong' }),
          headers: { 'content-type': 'application/json', authorization: '' },
        });
      assert.equal((await attempt()).status, 401);
      assert.equal((await attempt()).status, 401);
      const limited = await attempt();
      assertProblem(limited, 429);
      assert.ok(limited.headers['retry-after']);
      // RATE_LIMIT_PER_MINUTE=0: the API itself is not limited.
      for (let i = 0; i < 10; i++) assert.equal((await send(gateway.url, 'GET', '/receptions')).status, 503);
    } finally {
      await gateway.stop();
    }
  });
});

describe('gateway security settings', () => {
  test('defaults: no CORS origins, 600 requests a minute per user, 6000 per address, 10 sign-ins, no trusted proxy; the dev issuer on loopback when asked for', () => {
    const config = loadGatewayConfig({ AUTH_MODE: 'dev' });
    assert.deepEqual(config.corsOrigins, []);
    assert.equal(config.rateLimitPerMinute, 600);
    assert.equal(config.addressRateLimitPerMinute, 6000);
    assert.equal(config.tokenRateLimitPerMinute, 10);
    assert.equal(config.trustProxyHops, 0);
    assert.equal(config.auth.mode, 'dev');
    assert.equal(config.auth.issuer, 'http://127.0.0.1:8088/auth');
    assert.equal(config.host, '127.0.0.1', 'the demo users listen on loopback only');
    assert.deepEqual(loadGatewayConfig({ AUTH_MODE: 'dev', CORS_ORIGINS: 'https://a.example, http://localhost:5173/' }).corsOrigins, ['https://a.example', 'http://localhost:5173']);
  });

  test('a bad value fails with a ConfigError naming the variable', () => {
    const dev = { AUTH_MODE: 'dev' };
    const bad: Array<[Record<string, string>, string]> = [
      [{ ...dev, CORS_ORIGINS: '*' }, 'CORS_ORIGINS'],
      [{ ...dev, CORS_ORIGINS: 'https://a.example/app' }, 'CORS_ORIGINS'],
      [{ ...dev, CORS_ORIGINS: 'a.example' }, 'CORS_ORIGINS'],
      [{ ...dev, CORS_ORIGINS: 'https://a.example,,https://b.example' }, 'CORS_ORIGINS'],
      [{ ...dev, RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE'],
      [{ ...dev, RATE_LIMIT_PER_MINUTE: 'lots' }, 'RATE_LIMIT_PER_MINUTE'],
      [{ ...dev, AUTH_TOKEN_RATE_LIMIT_PER_MINUTE: '1.5' }, 'AUTH_TOKEN_RATE_LIMIT_PER_MINUTE'],
      [{ AUTH_MODE: 'none' }, 'AUTH_MODE'],
      [{ AUTH_MODE: 'oidc' }, 'OIDC_ISSUER'],
      [{ AUTH_MODE: 'oidc', OIDC_ISSUER: 'https://idp.example/realms/h' }, 'OIDC_AUDIENCE'],
      [{ NODE_ENV: 'production', AUTH_MODE: 'dev' }, 'AUTH_MODE'],
      // Nothing said: a real provider is expected, and none was named.
      [{}, 'OIDC_ISSUER'],
      [{ NODE_ENV: 'production' }, 'OIDC_ISSUER'],
      [{ ...dev, ADDRESS_RATE_LIMIT_PER_MINUTE: '-1' }, 'ADDRESS_RATE_LIMIT_PER_MINUTE'],
      [{ ...dev, TRUST_PROXY_HOPS: 'all' }, 'TRUST_PROXY_HOPS'],
      [{ AUTH_MODE: 'dev', HOST: '0.0.0.0' }, 'HOST'],
      [{ AUTH_MODE: 'dev', HOST: '10.1.2.3' }, 'HOST'],
    ];
    for (const [env, variable] of bad) {
      assert.throws(() => loadGatewayConfig(env), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `${variable}: ${String(error)}`);
        assert.match(error.message, new RegExp(`^${variable}\\b`));
        return true;
      });
    }
  });
});
