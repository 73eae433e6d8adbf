import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { demoIntegrationScopes } from '@medical/contracts';
import { createDevIdentityProvider } from '../../../services/gateway/src/dev-identity-provider.ts';
import { loadAuthConfig } from '../src/auth/auth-config.ts';
import {
  ClientCredentialsError,
  createClientCredentialsTokenSource,
  loadClientCredentials,
  type ClientCredentialsOptions,
} from '../src/auth/client-credentials.ts';
import { createOidcVerifier, IssuerUnavailableError } from '../src/auth/oidc-verifier.ts';
import { createApp } from '../src/http/app.ts';
import { ConfigError } from '../src/lib/env.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { defer } from './helpers.ts';
import { freePort } from '../../../scripts/lib/processes.ts';

/**
 * The gateway's development identity provider, served in process on its own port as the gateway
 * serves it (discovery, JWKS, the token route), with a count of what is asked of it.
 */
async function startProvider(t: TestContext, env: Record<string, string> = {}) {
  const port = await freePort();
  const config = loadAuthConfig({ AUTH_MODE: 'dev', OIDC_ISSUER: `http://127.0.0.1:${port}/auth`, ...env });
  const app = await createApp({ serviceName: 'idp-test', title: 'Test', description: 'test', logLevel: 'silent', metrics: createMetrics('idp-test'), readiness: [] });
  const provider = await createDevIdentityProvider({ config, env: {} });
  provider.register(app);
  const asked = { discovery: 0, token: 0 };
  app.addHook('onRequest', async (request) => {
    if (request.url.endsWith('/openid-configuration')) asked.discovery++;
    if (request.url === '/auth/token') asked.token++;
  });
  await app.listen({ host: '127.0.0.1', port });
  defer(t, () => app.close());
  const verifier = createOidcVerifier(config);
  return { config, asked, verifier, tokenEndpoint: `${config.issuer}/token` };
}

const demoClient = { clientId: 'demo-integration', clientSecret: 'demo' };

describe('client credentials: a token source', () => {
  test('finds the token endpoint by discovery; the token names the client, its role and the scopes asked', async (t) => {
    const { config, asked, verifier } = await startProvider(t);
    const source = createClientCredentialsTokenSource({ issuer: config.issuer, ...demoClient, scope: ['system/Encounter.read', 'system/Task.rs'] });
    const token = await source.token();
    assert.deepEqual(asked, { discovery: 1, token: 1 });
    const identity = await verifier.verify(token);
    assert.equal(identity.subject, 'client:demo-integration');
    assert.deepEqual(identity.roles, ['integration']);
    assert.deepEqual(identity.scopes, ['system/Encounter.read', 'system/Task.rs']);
  });

  test('keeps the token until 30 s before it expires, then asks again; invalidate forgets it', async (t) => {
    const { asked, tokenEndpoint, verifier } = await startProvider(t);
    let nowMs = Date.now();
    const source = createClientCredentialsTokenSource({ tokenEndpoint, clientId: 'interop', clientSecret: 'demo', now: () => nowMs });
    const first = await source.token();
    assert.equal(asked.discovery, 0, 'a token endpoint given is not discovered');
    assert.deepEqual((await verifier.verify(first)).scopes, []);
    // The dev tokens last 900 s: kept for 870.
    nowMs += 869_000;
    assert.equal(await source.token(), first);
    assert.equal(asked.token, 1);
    nowMs += 1_000;
    const second = await source.token();
    assert.notEqual(second, first);
    assert.equal(asked.token, 2);
    source.invalidate();
    assert.notEqual(await source.token(), second);
    assert.equal(asked.token, 3);
  });

  test('never two requests at once: callers waiting for a token share one', async (t) => {
    const { config, asked } = await startProvider(t);
    const source = createClientCredentialsTokenSource({ issuer: config.issuer, ...demoClient });
    const tokens = await Promise.all(Array.from({ length: 8 }, () => source.token()));
    assert.equal(new Set(tokens).size, 1);
    assert.deepEqual(asked, { discovery: 1, token: 1 });
  });

  test("no scope asked: the client's own", async (t) => {
    const { tokenEndpoint, verifier } = await startProvider(t);
    const source = createClientCredentialsTokenSource({ tokenEndpoint, ...demoClient });
    assert.deepEqual((await verifier.verify(await source.token())).scopes, demoIntegrationScopes);
  });

  test('a refusal (a wrong secret, a scope the client may not have) is a ClientCredentialsError naming the OAuth error; the next call asks again', async (t) => {
    const { tokenEndpoint, asked } = await startProvider(t);
    const refused = async (options: Partial<ClientCredentialsOptions>, error: RegExp) => {
      const source = createClientCredentialsTokenSource({ tokenEndpoint, ...demoClient, ...options } as ClientCredentialsOptions);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(source.token(), (e: unknown) => e instanceof ClientCredentialsError && error.test(e.message));
      }
    };
    await refused({ clientSecret: 'wrong' }, /401 to the client demo-integration: invalid_client/);
    await refused({ clientId: 'ehr' }, /invalid_client/);
    await refused({ scope: 'system/Binary.read' }, /400 to the client demo-integration: invalid_scope \(.*system\/Binary\.read/);
    assert.equal(asked.token, 6, 'a failure is not kept');
  });

  test('a secret with a colon, a plus, a percent sign and a space is form-encoded before Basic joins it (RFC 6749 §2.3.1)', async (t) => {
    const secret = 'p:a+s%s w ü';
    const { tokenEndpoint } = await startProvider(t, { DEV_PASSWORD: secret });
    assert.match(await createClientCredentialsTokenSource({ tokenEndpoint, clientId: 'interop', clientSecret: secret }).token(), /^eyJ/);
    await assert.rejects(createClientCredentialsTokenSource({ tokenEndpoint, clientId: 'interop', clientSecret: 'p' }).token(), /invalid_client/);
  });

  test('the provider unreachable: IssuerUnavailableError (an outage), then it works once it is back', async (t) => {
    const port = await freePort();
    const source = createClientCredentialsTokenSource({ issuer: `http://127.0.0.1:${port}/auth`, ...demoClient, timeoutMs: 2_000 });
    await assert.rejects(source.token(), IssuerUnavailableError);
    // The same source, once a provider answers on that address: the discovery is tried again.
    const config = loadAuthConfig({ AUTH_MODE: 'dev', OIDC_ISSUER: `http://127.0.0.1:${port}/auth` });
    const app = await createApp({ serviceName: 'idp-test', title: 'Test', description: 'test', logLevel: 'silent', metrics: createMetrics('idp-test'), readiness: [] });
    (await createDevIdentityProvider({ config, env: {} })).register(app);
    await app.listen({ host: '127.0.0.1', port });
    defer(t, () => app.close());
    assert.match(await source.token(), /^eyJ/);
  });

  test("a discovery document of another issuer is refused (mix-up), as the verifier's is", async (t) => {
    const { config } = await startProvider(t);
    // The trailing slash is another issuer: the document names the one without it.
    const source = createClientCredentialsTokenSource({ issuer: `${config.issuer}/`, ...demoClient });
    await assert.rejects(source.token(), (e: unknown) => e instanceof ClientCredentialsError && /names the issuer/.test(e.message));
  });
});

describe('client credentials: the settings', () => {
  test('<PREFIX>_CLIENT_ID and <PREFIX>_CLIENT_SECRET, both or neither', () => {
    assert.equal(loadClientCredentials({}, 'INTEROP'), undefined);
    assert.equal(loadClientCredentials({ INTEROP_CLIENT_ID: ' ', INTEROP_CLIENT_SECRET: '' }, 'INTEROP'), undefined);
    // The id is trimmed; the secret is a password, kept as it is.
    assert.deepEqual(loadClientCredentials({ INTEROP_CLIENT_ID: ' interop ', INTEROP_CLIENT_SECRET: ' s3cret ' }, 'INTEROP'), { clientId: 'interop', clientSecret: ' s3cret ' });
    assert.throws(() => loadClientCredentials({ INTEROP_CLIENT_ID: 'interop' }, 'INTEROP'), (e: unknown) => e instanceof ConfigError && /^INTEROP_CLIENT_SECRET must be set/.test(e.message));
    assert.throws(() => loadClientCredentials({ INTEROP_CLIENT_SECRET: 'demo' }, 'INTEROP'), (e: unknown) => e instanceof ConfigError && /^INTEROP_CLIENT_ID must be set/.test(e.message));
  });
});
