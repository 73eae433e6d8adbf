import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { demoIntegrationScopes } from '@medical/contracts';
import { authentication, ConfigError, createApp, createMetrics, createOidcVerifier, grantedScopes, loadAuthConfig } from '@medical/platform/edge';
import { defer, tempDir } from '../../../packages/platform/test/helpers.ts';
import { createDevIdentityProvider } from '../src/dev-identity-provider.ts';
import { freePort } from '../../../scripts/lib/processes.ts';

/**
 * A gateway in miniature: the development identity provider and a protected route in one app,
 * listening, so that its verifier finds the keys by OIDC discovery over HTTP, as in production.
 */
async function startGatewayLike(t: TestContext, env: Record<string, string> = {}) {
  const port = await freePort();
  const config = loadAuthConfig({ AUTH_MODE: 'dev', OIDC_ISSUER: `http://127.0.0.1:${port}/auth`, ...env });
  const app = await createApp({ serviceName: 'gateway', title: 'Test', description: 'test', logLevel: 'silent', metrics: createMetrics('gateway'), readiness: [] });
  await app.register(authentication, { verifier: createOidcVerifier(config) });
  const idp = await createDevIdentityProvider({ config, keyFile: path.join(tempDir(t, 'dev-idp-'), 'auth', 'dev-signing-key.json'), env: {} });
  idp.register(app);
  app.get('/diagnoses/:id', async (request) => ({ actor: request.actor }));
  app.post('/examinations/:id/perform', async (request) => ({ actor: request.actor, scopes: grantedScopes(request) }));
  await app.listen({ host: '127.0.0.1', port });
  defer(t, () => app.close());
  const url = `http://127.0.0.1:${port}`;
  const token = (username: string, password = 'demo') =>
    fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return { url, config, idp, token };
}

describe('development identity provider', () => {
  test('issues ES256 tokens the OIDC verifier accepts through discovery', async (t) => {
    const { url, config, token } = await startGatewayLike(t);
    const response = await token('doctor');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as { access_token: string; token_type: string; expires_in: number };
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 900);
    assert.equal(decodeProtectedHeader(body.access_token).alg, 'ES256');

    const discovery = (await (await fetch(`${url}/auth/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    assert.equal(discovery.issuer, config.issuer);
    assert.equal(discovery.jwks_uri, `${config.issuer}/jwks`);

    const authorization = `Bearer ${body.access_token}`;
    const allowed = await fetch(`${url}/diagnoses/1`, { headers: { authorization } });
    assert.equal(allowed.status, 200);
    assert.deepEqual(await allowed.json(), { actor: { subject: 'dev:doctor', name: 'Demo Doctor', role: 'doctor' } });
    // The receptionist's route is not the doctor's.
    const refused = await fetch(`${url}/receptions`, { headers: { authorization } });
    assert.equal(refused.status, 403);
  });

  test('one demo user per role; a wrong password or an unknown user: 401', async (t) => {
    const { token } = await startGatewayLike(t);
    for (const role of ['receptionist', 'doctor', 'examiner', 'manager', 'admin']) assert.equal((await token(role)).status, 200, role);
    for (const [username, password] of [['doctor', 'wrong'], ['root', 'demo'], ['Doctor', 'demo']] as const) {
      const response = await token(username, password);
      assert.equal(response.status, 401);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(((await response.json()) as { detail: string }).detail, 'unknown username or wrong password');
    }
  });

  test("a call screen's token (the display user) lasts a clinic day, and reads the queues alone", async (t) => {
    const { config, token } = await startGatewayLike(t);
    const body = (await (await token('display')).json()) as { access_token: string; expires_in: number };
    assert.equal(body.expires_in, 12 * 60 * 60);
    const verified = await createOidcVerifier(config).verify(body.access_token);
    assert.deepEqual(verified.roles, ['display']);
    const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    assert.equal(claims.exp - claims.iat, 12 * 60 * 60);
  });

  test('a bad body is a 400 problem', async (t) => {
    const { url } = await startGatewayLike(t);
    for (const body of ['{"username":"doctor"}', '{"username":"doctor","password":"demo","extra":1}', '{"username":5,"password":"demo"}', 'nope']) {
      const response = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(response.status, 400, body);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
  });

  test('DEV_PASSWORD, DEV_TOKEN_LIFETIME_SECONDS and the roles claim path are honoured', async (t) => {
    const { token, config } = await startGatewayLike(t, { DEV_PASSWORD: 's3cret', DEV_TOKEN_LIFETIME_SECONDS: '120', OIDC_ROLES_CLAIM: 'realm_access.roles' });
    assert.equal((await token('examiner')).status, 401);
    const response = await token('examiner', 's3cret');
    const body = (await response.json()) as { access_token: string; expires_in: number };
    assert.equal(body.expires_in, 120);
    const verified = await createOidcVerifier(config).verify(body.access_token);
    assert.deepEqual(verified.roles, ['examiner']);
  });

  test('the signing key is kept under DATA_DIR: a restarted provider keeps tokens valid', async (t) => {
    const config = loadAuthConfig({ AUTH_MODE: 'dev' });
    const file = path.join(tempDir(t, 'dev-idp-key-'), 'auth', 'dev-signing-key.json');
    const first = await createDevIdentityProvider({ config, keyFile: file, env: {} });
    const token = await first.issue('manager');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const second = await createDevIdentityProvider({ config, keyFile: file, env: {} });
    assert.deepEqual(second.jwks(), first.jwks());
    const { payload } = await jwtVerify(token, createLocalJWKSet(second.jwks()), { issuer: config.issuer, audience: config.audience });
    assert.deepEqual(payload.roles, ['manager']);
    // The JWKS never carries the private part.
    assert.equal((second.jwks().keys[0] as { d?: string }).d, undefined);
  });

  test('refuses NODE_ENV=production (a ConfigError naming AUTH_MODE)', async () => {
    assert.throws(() => loadAuthConfig({ NODE_ENV: 'production' }), (error: unknown) => error instanceof ConfigError && /^OIDC_ISSUER must be set with AUTH_MODE=oidc/.test(error.message));
    assert.throws(() => loadAuthConfig({ NODE_ENV: 'production', AUTH_MODE: 'dev' }), /AUTH_MODE=dev/);
    const config = loadAuthConfig({ AUTH_MODE: 'dev' });
    await assert.rejects(createDevIdentityProvider({ config, env: { NODE_ENV: 'production' } }), (error: unknown) => error instanceof ConfigError && /AUTH_MODE/.test(error.message));
  });
});

/** HTTP Basic credentials of a client (RFC 6749 §2.3.1: the id and secret form-urlencoded first). */
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = (fields: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded', body: new URLSearchParams(fields).toString() });

type TokenAnswer = { access_token: string; token_type: string; expires_in: number; scope?: string };
type OAuthErrorAnswer = { error: string; error_description: string };

/** POSTs a token request: a form unless `json` says otherwise. */
function requestToken(url: string, fields: Record<string, string>, options: { authorization?: string; json?: boolean } = {}) {
  const { 'content-type': contentType, body } = options.json ? { 'content-type': 'application/json', body: JSON.stringify(fields) } : form(fields);
  const headers: Record<string, string> = { 'content-type': contentType, ...(options.authorization ? { authorization: options.authorization } : {}) };
  return fetch(`${url}/auth/token`, { method: 'POST', headers, body });
}

async function assertOAuthError(response: Response, status: number, error: string): Promise<OAuthErrorAnswer> {
  assert.equal(response.status, status);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const body = (await response.json()) as OAuthErrorAnswer;
  assert.equal(body.error, error);
  assert.equal(typeof body.error_description, 'string');
  return body;
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('development identity provider: client credentials', () => {
  test("HTTP Basic: the demo client's token, with all its scopes when it asks none, verified by the platform's verifier", async (t) => {
    const { url, config } = await startGatewayLike(t);
    const response = await requestToken(url, { grant_type: 'client_credentials' }, { authorization: basic('demo-integration', 'demo') });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const body = (await response.json()) as TokenAnswer;
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 900);
    assert.equal(body.scope, demoIntegrationScopes.join(' '));
    const verified = await createOidcVerifier(config).verify(body.access_token);
    assert.deepEqual(verified, { subject: 'client:demo-integration', name: 'Demo integration client', roles: ['integration'], departments: [], scopes: demoIntegrationScopes });
    const claims = claimsOf(body.access_token);
    assert.equal(claims.client_id, 'demo-integration');
    assert.equal(claims.azp, 'demo-integration');
    assert.equal(Number(claims.exp) - Number(claims.iat), 900);
  });

  test('client_secret_post: the id and secret in the form, with the scopes asked for (v1 or v2, within its own)', async (t) => {
    const { url, config } = await startGatewayLike(t);
    const scope = 'system/Encounter.read system/Task.rs system/Subscription.cruds';
    const response = await requestToken(url, { grant_type: 'client_credentials', client_id: 'demo-integration', client_secret: 'demo', scope });
    assert.equal(response.status, 200);
    const body = (await response.json()) as TokenAnswer;
    assert.equal(body.scope, scope);
    assert.deepEqual((await createOidcVerifier(config).verify(body.access_token)).scopes, scope.split(' '));
  });

  test('a JSON body of the same fields; Basic with the client_id repeated in the body', async (t) => {
    const { url, config } = await startGatewayLike(t);
    const json = await requestToken(url, { grant_type: 'client_credentials', client_id: 'demo-integration', client_secret: 'demo', scope: 'system/Patient.read' }, { json: true });
    assert.equal(json.status, 200);
    assert.deepEqual((await createOidcVerifier(config).verify(((await json.json()) as TokenAnswer).access_token)).scopes, ['system/Patient.read']);
    const both = await requestToken(url, { grant_type: 'client_credentials', client_id: 'demo-integration' }, { authorization: basic('demo-integration', 'demo') });
    assert.equal(both.status, 200);
  });

  test("the interop service's client: role integration, no scopes, and it performs an examination as itself", async (t) => {
    const { url, config } = await startGatewayLike(t);
    const response = await requestToken(url, { grant_type: 'client_credentials' }, { authorization: basic('interop', 'demo') });
    assert.equal(response.status, 200);
    const body = (await response.json()) as TokenAnswer;
    assert.equal(body.scope, undefined);
    assert.equal(claimsOf(body.access_token).scope, undefined);
    assert.deepEqual((await createOidcVerifier(config).verify(body.access_token)).roles, ['integration']);
    const authorization = `Bearer ${body.access_token}`;
    const performed = await fetch(`${url}/examinations/3/perform`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(performed.status, 200);
    assert.deepEqual(await performed.json(), { actor: { subject: 'client:interop', name: 'Interoperability service', role: 'integration' }, scopes: [] });
    // A system is no member of staff: the doctor's route is refused.
    assert.equal((await fetch(`${url}/diagnoses/1`, { headers: { authorization } })).status, 403);
  });

  test('a wrong secret, an unknown client or none: 401 invalid_client with a Basic challenge', async (t) => {
    const { url } = await startGatewayLike(t);
    const grant = { grant_type: 'client_credentials' };
    const refusals = [
      requestToken(url, grant, { authorization: basic('demo-integration', 'wrong') }),
      requestToken(url, grant, { authorization: basic('ehr', 'demo') }),
      requestToken(url, { ...grant, client_id: 'demo-integration', client_secret: 'wrong' }),
      requestToken(url, { ...grant, client_id: 'demo-integration' }),
      requestToken(url, grant),
      requestToken(url, grant, { authorization: 'Basic !!!' }),
      // A demo user is no client, and a client no user.
      requestToken(url, grant, { authorization: basic('doctor', 'demo') }),
    ];
    for (const response of await Promise.all(refusals)) {
      await assertOAuthError(response, 401, 'invalid_client');
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"/);
    }
    const user = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'demo-integration', password: 'demo' }) });
    assert.equal(user.status, 401);
  });

  test('two ways of authenticating at once, or another client named in the body: 400 invalid_request', async (t) => {
    const { url } = await startGatewayLike(t);
    const authorization = basic('demo-integration', 'demo');
    await assertOAuthError(await requestToken(url, { grant_type: 'client_credentials', client_secret: 'demo' }, { authorization }), 400, 'invalid_request');
    await assertOAuthError(await requestToken(url, { grant_type: 'client_credentials', client_id: 'interop' }, { authorization }), 400, 'invalid_request');
  });

  test('another grant type: 400 unsupported_grant_type', async (t) => {
    const { url } = await startGatewayLike(t);
    const authorization = basic('demo-integration', 'demo');
    for (const grant_type of ['authorization_code', 'password', 'refresh_token']) {
      await assertOAuthError(await requestToken(url, { grant_type }, { authorization }), 400, 'unsupported_grant_type');
    }
  });

  test('a scope the client may not have: 400 invalid_scope, naming it', async (t) => {
    const { url } = await startGatewayLike(t);
    const authorization = basic('demo-integration', 'demo');
    for (const scope of ['system/Binary.read', 'system/Encounter.write', 'system/*.read', 'user/Encounter.read', 'openid', 'system/Observation.rs?category=laboratory']) {
      const body = await assertOAuthError(await requestToken(url, { grant_type: 'client_credentials', scope: `system/Encounter.read ${scope}` }, { authorization }), 400, 'invalid_scope');
      assert.match(body.error_description, /may not ask for the scope/);
    }
    await assertOAuthError(await requestToken(url, { grant_type: 'client_credentials', scope: 'system/Encounter.read' }, { authorization: basic('interop', 'demo') }), 400, 'invalid_scope');
    // What the description echoes is kept to the characters RFC 6749 §5.2 allows.
    const echoed = await assertOAuthError(await requestToken(url, { grant_type: 'client_credentials', scope: 'a"b\\é' }, { authorization }), 400, 'invalid_scope');
    assert.match(echoed.error_description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/);
  });

  test('a repeated parameter or a malformed body: 400; the form is read on the token route alone', async (t) => {
    const { url, idp } = await startGatewayLike(t);
    const repeated = await fetch(`${url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('demo-integration', 'demo') },
      body: 'grant_type=client_credentials&scope=system/Task.read&scope=system/Patient.read',
    });
    assert.equal(repeated.status, 400);
    const token = await idp.issueForClient('interop');
    const elsewhere = await fetch(`${url}/examinations/3/perform`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'result=normal',
    });
    assert.equal(elsewhere.status, 415);
  });

  test('the discovery document names the grant and the ways a client authenticates', async (t) => {
    const { url, idp } = await startGatewayLike(t);
    const discovery = (await (await fetch(`${url}/auth/.well-known/openid-configuration`)).json()) as Record<string, string[]>;
    assert.deepEqual(discovery.grant_types_supported, ['password', 'client_credentials']);
    assert.deepEqual(discovery.token_endpoint_auth_methods_supported, ['none', 'client_secret_basic', 'client_secret_post']);
    // The provider refuses a test's token with more than its client may have, as the route would.
    await assert.rejects(idp.issueForClient('demo-integration', ['system/Binary.read']), RangeError);
  });
});
