import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { authentication, PUBLIC_ROUTES } from '../src/auth/authentication.ts';
import { grantedRoles, grantedScopes } from '../src/auth/request-actor.ts';
import { createOidcVerifier } from '../src/auth/oidc-verifier.ts';
import { createApp, type App } from '../src/http/app.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { defer } from './helpers.ts';
import { AUDIENCE, startTestIssuer, type TestIssuer } from './auth-test-issuer.ts';

type Response = { statusCode: number; headers: Record<string, unknown>; body: string };

function assertProblem(response: Response, status: number): { type: string; detail?: string } {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(response.body) as { status: number; type: string; detail?: string };
  assert.equal(problem.status, status);
  return problem;
}

const echoActor = async (request: { actor?: unknown }) => ({ actor: request.actor ?? null });
/** What the routes learn of the token: the role acting, every role and every scope it grants. */
const echoGrants = async (request: FastifyRequest) => ({ actor: request.actor ?? null, roles: grantedRoles(request), scopes: grantedScopes(request) });

/** A service-like app (route patterns as the services register them) or a gateway-like one (wildcards). */
async function build(t: TestContext, shape: 'service' | 'gateway', issuer: TestIssuer): Promise<App> {
  const app = await createApp({ serviceName: 'auth-test', title: 'Test', description: 'test', logLevel: 'silent', metrics: createMetrics('auth-test'), readiness: [] });
  await app.register(authentication, {
    verifier: createOidcVerifier({ issuer: issuer.issuer, audience: AUDIENCE, rolesClaim: 'roles', clockToleranceSeconds: 0, retryAfterMs: 60_000 }),
    publicRoutes: [...PUBLIC_ROUTES, '/console/*'],
  });
  if (shape === 'service') {
    app.post('/receptions', echoActor);
    app.get('/receptions', echoActor);
    app.post('/receptions/:id/cancel', echoActor);
    app.get('/diagnoses/:id', echoActor);
    app.post('/examinations/:id/perform', echoGrants);
    // Registered by a service but missing from the table: refused, not served.
    app.get('/receptions/:id/secret', echoActor);
  } else {
    for (const prefix of ['/receptions', '/diagnoses', '/examinations']) {
      app.all(prefix, echoActor);
      app.all(`${prefix}/*`, echoActor);
    }
    app.get('/openapi/reception.json', async () => ({ openapi: '3.1.0' }));
    app.get('/console/*', async () => 'console');
  }
  await app.ready();
  defer(t, () => app.close());
  return app;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the authentication plugin', () => {
  test('without a token: 401 with a bare Bearer challenge; another scheme counts as none', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    for (const headers of [{}, { authorization: 'Basic cmVjZXB0aW9uaXN0OmRlbW8=' }]) {
      const response = await app.inject({ method: 'GET', url: '/receptions', headers });
      const problem = assertProblem(response, 401);
      assert.equal(problem.type, 'urn:medical:problem:unauthorized');
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="medical-visit-workflow"');
    }
  });

  test('a bad token: 401 with error="invalid_token" and why', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const expired = await issuer.sign({ roles: ['receptionist'] }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    for (const [authorization, why] of [
      [`Bearer ${expired}`, /expired/],
      ['Bearer garbage', /malformed/],
      ['Bearer', /not a valid bearer token/],
      ['Bearer a b', /not a valid bearer token/],
    ] as const) {
      const response = await app.inject({ method: 'GET', url: '/receptions', headers: { authorization } });
      assertProblem(response, 401);
      const challenge = String(response.headers['www-authenticate']);
      assert.match(challenge, /^Bearer realm="medical-visit-workflow", error="invalid_token", error_description="[^"]+"$/);
      assert.match(challenge, why);
    }
  });

  test('the right role: the handler runs with request.actor', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const token = await issuer.sign({ sub: 'u-7', name: 'Park Jisoo', roles: ['receptionist'] });
    const response = await app.inject({ method: 'POST', url: '/receptions/12/cancel?x=1', headers: bearer(token), payload: {} });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), { actor: { subject: 'u-7', name: 'Park Jisoo', role: 'receptionist' } });
  });

  test('the wrong role: 403 with error="insufficient_scope"', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const doctor = await issuer.sign({ roles: ['doctor'] });
    const response = await app.inject({ method: 'GET', url: '/receptions', headers: bearer(doctor) });
    const problem = assertProblem(response, 403);
    assert.equal(problem.type, 'urn:medical:problem:forbidden');
    assert.match(problem.detail!, /receptionist, admin/);
    assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope"/);
    // No roles at all is the same 403.
    assertProblem(await app.inject({ method: 'GET', url: '/receptions', headers: bearer(await issuer.sign({})) }), 403);
  });

  test('the role acting is the one the route allows; admin acts where it is the only way in', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const both = await issuer.sign({ roles: ['admin', 'doctor'] });
    assert.equal((await app.inject({ url: '/diagnoses/3', headers: bearer(both) })).json().actor.role, 'doctor');
    assert.equal((await app.inject({ url: '/receptions', headers: bearer(both) })).json().actor.role, 'admin');
    const several = await issuer.sign({ roles: ['doctor', 'receptionist'] });
    assert.equal((await app.inject({ url: '/receptions', headers: bearer(several) })).json().actor.role, 'receptionist');
  });

  test("a system's token: it acts as integration where the table allows it, with its token's scopes beside its roles", async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const system = await issuer.sign({ sub: 'client:lis', name: 'Laboratory system', roles: ['integration'], scope: 'system/Task.read system/Observation.rs', client_id: 'lis' });
    const performed = await app.inject({ method: 'POST', url: '/examinations/4/perform', headers: bearer(system), payload: {} });
    assert.equal(performed.statusCode, 200, performed.body);
    assert.deepEqual(performed.json(), {
      actor: { subject: 'client:lis', name: 'Laboratory system', role: 'integration' },
      roles: ['integration'],
      scopes: ['system/Task.read', 'system/Observation.rs'],
    });
    // Nothing else of the staff's: the role is not a member of staff.
    const refused = await app.inject({ url: '/diagnoses/4', headers: bearer(system) });
    assert.match(assertProblem(refused, 403).detail!, /grants integration$/);
    // A member of staff's token without a scope claim: no scopes.
    const examiner = await app.inject({ method: 'POST', url: '/examinations/4/perform', headers: bearer(await issuer.sign({ roles: ['examiner'] })), payload: {} });
    assert.deepEqual(examiner.json().scopes, []);
  });

  test('public routes need no token; unknown routes are 404 before any token is asked for', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/metrics' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/openapi.json' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/docs/json' })).statusCode, 200);
    assertProblem(await app.inject({ url: '/nowhere' }), 404);
    // A route the table lacks is refused as unknown even with an admin token: fail closed.
    assertProblem(await app.inject({ url: '/receptions/1/secret', headers: bearer(await issuer.sign({ roles: ['admin'] })) }), 404);
  });

  test('refused before the body is read: an unauthenticated bad body is a 401, not a 400', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const response = await app.inject({ method: 'POST', url: '/receptions', headers: { 'content-type': 'application/json' }, payload: '{not json' });
    assertProblem(response, 401);
  });

  test('the identity provider down: 503 with Retry-After, not 401', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'service', issuer);
    const token = await issuer.sign({ roles: ['receptionist'] });
    issuer.down = true;
    const response = await app.inject({ url: '/receptions', headers: bearer(token) });
    assertProblem(response, 503);
    assert.equal(response.headers['retry-after'], '1');
    assert.equal(response.headers['www-authenticate'], undefined);
  });

  test('gateway: concrete paths behind wildcard routes get the table entry of their route', async (t) => {
    const issuer = await startTestIssuer(t);
    const app = await build(t, 'gateway', issuer);
    const doctor = bearer(await issuer.sign({ roles: ['doctor'] }));
    const examiner = bearer(await issuer.sign({ roles: ['examiner'] }));
    assert.equal((await app.inject({ url: '/examinations/1/attachments', headers: doctor })).statusCode, 200);
    assert.equal((await app.inject({ url: '/examinations/1/attachments/0123456789abcdef0123456789abcdef.pdf', headers: doctor })).statusCode, 200);
    assertProblem(await app.inject({ method: 'POST', url: '/examinations/1/attachments', headers: doctor }), 403);
    assert.equal((await app.inject({ method: 'POST', url: '/examinations/1/perform', headers: examiner, payload: {} })).statusCode, 200);
    assertProblem(await app.inject({ method: 'POST', url: '/examinations/1/perform', headers: doctor, payload: {} }), 403);
    assert.equal((await app.inject({ url: '/receptions/', headers: bearer(await issuer.sign({ roles: ['receptionist'] })) })).statusCode, 200);
    assertProblem(await app.inject({ url: '/diagnoses/1/unknown', headers: doctor }), 404);
    assertProblem(await app.inject({ method: 'DELETE', url: '/diagnoses/1', headers: doctor }), 404);
    // The gateway's own public routes, matched by route pattern.
    assert.equal((await app.inject({ url: '/openapi/reception.json' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/console/app.js' })).statusCode, 200);
    assertProblem(await app.inject({ url: '/diagnoses/1' }), 401);
  });
});
