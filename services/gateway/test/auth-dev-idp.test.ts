import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { authentication, ConfigError, createApp, createMetrics, createOidcVerifier, loadAuthConfig } from '@medical/platform/edge';
import { defer, tempDir } from '../../../packages/platform/test/helpers.ts';
import { createDevIdentityProvider } from '../src/dev-identity-provider.ts';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

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
