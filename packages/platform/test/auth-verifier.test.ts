import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { base64url, SignJWT } from 'jose';
import { createOidcVerifier, InvalidTokenError, IssuerUnavailableError, rolesFromClaims, type OidcVerifierOptions } from '../src/auth/oidc-verifier.ts';
import { AUDIENCE, makeKey, startTestIssuer } from './auth-test-issuer.ts';

async function setUp(t: TestContext, options: Partial<OidcVerifierOptions> = {}) {
  const issuer = await startTestIssuer(t);
  const verifier = createOidcVerifier({ issuer: issuer.issuer, audience: AUDIENCE, rolesClaim: 'roles', clockToleranceSeconds: 30, ...options });
  return { issuer, verifier };
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InvalidTokenError, `expected InvalidTokenError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const now = () => Math.floor(Date.now() / 1000);

describe('OIDC verifier: tokens', () => {
  test('a valid token names its subject, name and staff roles', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const token = await issuer.sign({ sub: 'f3c1', name: 'Kim Minji', preferred_username: 'minji', roles: ['doctor', 'offline_access'] });
    assert.deepEqual(await verifier.verify(token), { subject: 'f3c1', name: 'Kim Minji', roles: ['doctor'] });
    // Without `name`, the username is the display name.
    const plain = await issuer.sign({ sub: 'f3c2', preferred_username: 'lee', roles: ['examiner'] });
    assert.deepEqual(await verifier.verify(plain), { subject: 'f3c2', name: 'lee', roles: ['examiner'] });
  });

  test('the issuer is discovered once and its keys cached across tokens', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => issuer.sign({ sub: `u${i}`, roles: ['doctor'] })));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    await verifier.verify(tokens[0]!);
    assert.deepEqual(issuer.fetches, { discovery: 1, jwks: 1 });
  });

  test('an expired token is refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    await rejects(verifier.verify(await issuer.sign({ roles: ['doctor'] }, { expiresIn: now() - 120 })), /expired/);
  });

  test('a token not valid yet (nbf beyond the clock tolerance) is refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    await rejects(verifier.verify(await issuer.sign({ roles: ['doctor'], nbf: now() + 600 })), /not valid yet/);
    // Within the tolerance (30 s) it passes: the provider's clock may run a little ahead.
    await verifier.verify(await issuer.sign({ roles: ['doctor'], nbf: now() + 10 }));
  });

  test('a token of another issuer or for another audience is refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    await rejects(verifier.verify(await issuer.sign({ roles: ['doctor'] }, { issuer: `${issuer.url}/realms/other` })), /another issuer/);
    await rejects(verifier.verify(await issuer.sign({ roles: ['doctor'] }, { audience: 'account' })), /another audience/);
  });

  test('a forged signature is refused: another key under the issuer kid, or an unknown kid', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const attacker = await makeKey();
    const sameKid = await issuer.sign({ roles: ['admin'] }, { key: { ...attacker, kid: issuer.keys[0]!.kid } });
    await rejects(verifier.verify(sameKid), /signature/);
    await rejects(verifier.verify(await issuer.sign({ roles: ['admin'] }, { key: attacker })), /unknown key/);
  });

  test('alg "none" (an unsigned token) is refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
    const claims = { iss: issuer.issuer, aud: AUDIENCE, sub: 'mallory', roles: ['admin'], exp: now() + 300 };
    for (const alg of ['none', 'None', 'NONE']) {
      await rejects(verifier.verify(`${encode({ alg, typ: 'JWT' })}.${encode(claims)}.`), /allowed algorithm|malformed/);
    }
  });

  test('HS256 signed with the issuer public key as secret (algorithm confusion) is refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const publicJwk = issuer.keys[0]!.publicJwk;
    // The secrets an attacker would try: the key as the JWKS publishes it, and as PEM.
    const { createPublicKey } = await import('node:crypto');
    const pem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    for (const secret of [Buffer.from(JSON.stringify(publicJwk)), Buffer.from(pem)]) {
      const forged = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid! })
        .setIssuer(issuer.issuer)
        .setAudience(AUDIENCE)
        .setSubject('mallory')
        .setExpirationTime('5m')
        .sign(createSecretKey(secret));
      await rejects(verifier.verify(forged), /allowed algorithm/);
    }
  });

  test('garbage, a truncated token and a token without exp or sub are refused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    for (const garbage of ['garbage', 'a.b.c', 'eyJhbGciOiJSUzI1NiJ9..', '']) await rejects(verifier.verify(garbage), /malformed|invalid/);
    const token = await issuer.sign({ roles: ['doctor'] });
    await rejects(verifier.verify(token.slice(0, -10)), /signature|malformed/);
    const noExp = await new SignJWT({ roles: ['doctor'] })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.keys[0]!.kid })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .setSubject('u')
      .sign(issuer.keys[0]!.privateKey);
    await rejects(verifier.verify(noExp), /exp/);
    const noSub = await new SignJWT({ roles: ['doctor'] })
      .setProtectedHeader({ alg: 'RS256', kid: issuer.keys[0]!.kid })
      .setIssuer(issuer.issuer)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(issuer.keys[0]!.privateKey);
    await rejects(verifier.verify(noSub), /sub/);
  });

  test('EC and EdDSA issuers verify too', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const es = await makeKey('ES256');
    const ed = await makeKey('EdDSA');
    issuer.keys = [...issuer.keys, es, ed];
    assert.deepEqual((await verifier.verify(await issuer.sign({ roles: ['manager'] }, { key: es }))).roles, ['manager']);
    assert.deepEqual((await verifier.verify(await issuer.sign({ roles: ['manager'] }, { key: ed }))).roles, ['manager']);
  });
});

describe('OIDC verifier: the roles claim', () => {
  test("Keycloak's realm_access.roles", async (t) => {
    const { issuer, verifier } = await setUp(t, { rolesClaim: 'realm_access.roles' });
    const token = await issuer.sign({
      realm_access: { roles: ['offline_access', 'uma_authorization', 'doctor', 'default-roles-hospital'] },
      resource_access: { account: { roles: ['manage-account'] } },
      roles: ['admin'], // not where this deployment reads roles: ignored
    });
    assert.deepEqual((await verifier.verify(token)).roles, ['doctor']);
  });

  test("Entra ID's roles (app roles)", async (t) => {
    const { issuer, verifier } = await setUp(t, { rolesClaim: 'roles' });
    const token = await issuer.sign({ roles: ['receptionist', 'manager'], oid: '00000000-0000-0000-0000-000000000001' });
    assert.deepEqual((await verifier.verify(token)).roles, ['receptionist', 'manager']);
  });

  test('unknown, missing or odd role claims grant nothing', () => {
    assert.deepEqual(rolesFromClaims({ roles: 'doctor examiner' }, 'roles'), ['doctor', 'examiner']);
    assert.deepEqual(rolesFromClaims({ roles: ['Doctor', 'root', 7, null] }, 'roles'), []);
    assert.deepEqual(rolesFromClaims({}, 'realm_access.roles'), []);
    assert.deepEqual(rolesFromClaims({ realm_access: 'doctor' }, 'realm_access.roles'), []);
    // Only the token's own claims, never what an object inherits.
    assert.deepEqual(rolesFromClaims({ realm_access: {} }, 'realm_access.constructor'), []);
  });

  test('a valid token without any staff role verifies, with no roles (a 403, not a 401)', async (t) => {
    const { issuer, verifier } = await setUp(t);
    assert.deepEqual((await verifier.verify(await issuer.sign({ sub: 'x' }))).roles, []);
  });
});

describe('OIDC verifier: the issuer', () => {
  async function unavailable(promise: Promise<unknown>): Promise<void> {
    await assert.rejects(promise, IssuerUnavailableError);
  }

  test('an unreachable issuer is a 503 (IssuerUnavailable), retried after retryAfterMs, then verified', async (t) => {
    const { issuer, verifier } = await setUp(t, { retryAfterMs: 100 });
    const token = await issuer.sign({ roles: ['doctor'] });
    issuer.down = true;
    await unavailable(verifier.verify(token));
    // Within the retry delay the issuer is not asked again.
    issuer.down = false;
    await unavailable(verifier.verify(token));
    assert.equal(issuer.fetches.discovery, 0);
    await delay(120);
    assert.deepEqual((await verifier.verify(token)).roles, ['doctor']);
  });

  test('a token that cannot be a valid one is refused (401) even while the issuer is down', async (t) => {
    const { issuer, verifier } = await setUp(t);
    issuer.down = true;
    await rejects(verifier.verify('garbage'), /malformed/);
  });

  test('a discovery document naming another issuer is refused (mix-up), as unavailable', async (t) => {
    const { issuer, verifier } = await setUp(t, { retryAfterMs: 0 });
    issuer.claimedIssuer = 'https://evil.example/realms/hospital';
    await unavailable(verifier.verify(await issuer.sign({ roles: ['doctor'] })));
  });

  test('a rotated key (a new kid) is fetched; the old keys serve while a refresh fails', async (t) => {
    const { issuer, verifier } = await setUp(t, { cooldownMs: 0, cacheMaxAgeMs: 50 });
    const first = await issuer.sign({ roles: ['doctor'] });
    await verifier.verify(first);
    const next = await makeKey('ES256');
    issuer.keys = [next, ...issuer.keys];
    assert.deepEqual((await verifier.verify(await issuer.sign({ roles: ['examiner'] }, { key: next }))).roles, ['examiner']);
    assert.equal(issuer.fetches.jwks, 2);

    // The cache is past its age and the issuer is down: the keys fetched before still verify.
    await delay(80);
    issuer.down = true;
    assert.deepEqual((await verifier.verify(first)).roles, ['doctor']);
    // A key it has never seen cannot be checked now: unavailable, not invalid.
    await unavailable(verifier.verify(await issuer.sign({ roles: ['doctor'] }, { key: await makeKey() })));
  });
});

