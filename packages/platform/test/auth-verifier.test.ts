import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test, type TestContext } from 'node:test';
import { base64url, SignJWT, UnsecuredJWT } from 'jose';
import { createOidcVerifier, InvalidTokenError, IssuerUnavailableError, rolesFromClaims, scopesFromClaims, validityWindow, type OidcVerifierOptions } from '../src/auth/oidc-verifier.ts';
import { VerifiedTokens } from '../src/auth/verified-tokens.ts';
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
    assert.deepEqual(await verifier.verify(token), { subject: 'f3c1', name: 'Kim Minji', roles: ['doctor'], departments: [], scopes: [] });
    // Without `name`, the username is the display name.
    const plain = await issuer.sign({ sub: 'f3c2', preferred_username: 'lee', roles: ['examiner'] });
    assert.deepEqual(await verifier.verify(plain), { subject: 'f3c2', name: 'lee', roles: ['examiner'], departments: [], scopes: [] });
    // The departments claim: codes only (a name that is not a department code is ignored), an array or one space-separated string.
    const surgeon = await issuer.sign({ sub: 'f3c3', roles: ['doctor'], departments: ['surgery', 'Internal Medicine', 'cardiology', 'surgery'] });
    assert.deepEqual((await verifier.verify(surgeon)).departments, ['surgery', 'cardiology']);
    const spaced = await issuer.sign({ sub: 'f3c4', roles: ['doctor'], departments: 'pediatrics family-medicine' });
    assert.deepEqual((await verifier.verify(spaced)).departments, ['pediatrics', 'family-medicine']);
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

  test("a system's role (integration) is a role like the staff's", async (t) => {
    const { issuer, verifier } = await setUp(t);
    assert.deepEqual((await verifier.verify(await issuer.sign({ sub: 'client:lis', roles: ['integration'] }))).roles, ['integration']);
  });

  test('a valid token without any staff role verifies, with no roles (a 403, not a 401)', async (t) => {
    const { issuer, verifier } = await setUp(t);
    assert.deepEqual((await verifier.verify(await issuer.sign({ sub: 'x' }))).roles, []);
  });
});

describe('OIDC verifier: the scopes claim', () => {
  test('the standard scope claim, one space-separated string (RFC 9068)', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const token = await issuer.sign({ sub: 'client:ehr', roles: ['integration'], scope: 'system/Encounter.read  system/Task.rs system/Encounter.read' });
    assert.deepEqual((await verifier.verify(token)).scopes, ['system/Encounter.read', 'system/Task.rs']);
  });

  test("scp, as Entra ID and Okta name it: an array, or a string; both claims together", () => {
    assert.deepEqual(scopesFromClaims({ scp: ['system/Encounter.read', 'system/Task.rs'] }), ['system/Encounter.read', 'system/Task.rs']);
    assert.deepEqual(scopesFromClaims({ scp: 'Files.Read User.Read' }), ['Files.Read', 'User.Read']);
    assert.deepEqual(scopesFromClaims({ scope: 'openid system/Patient.read', scp: ['system/Patient.read', 'system/Task.read'] }), ['openid', 'system/Patient.read', 'system/Task.read']);
  });

  test('what is not a scope token grants nothing; no claim is no scopes', () => {
    assert.deepEqual(scopesFromClaims({}), []);
    assert.deepEqual(scopesFromClaims({ scope: 7, scp: { read: true } }), []);
    // RFC 6749 §3.3: no double quote, backslash or control character in a scope token; array items are not split.
    assert.deepEqual(scopesFromClaims({ scp: ['a"b', 'c\\d', 'é', 'x y', '', null, 'ok'] }), ['ok']);
  });

  test('a token whose scopes are remembered keeps them, frozen', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const token = await issuer.sign({ sub: 'client:ehr', roles: ['integration'], scope: 'system/Encounter.read' });
    const first = await verifier.verify(token);
    assert.equal(await verifier.verify(token), first);
    assert.ok(Object.isFrozen(first.scopes));
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


describe('OIDC verifier: verified tokens are remembered', () => {
  /** Counts signature checks: jose checks every signature with Web Crypto's verify. */
  function countSignatureChecks(t: TestContext): () => number {
    const verify = t.mock.method(globalThis.crypto.subtle, 'verify');
    return () => verify.mock.callCount();
  }

  /** Waits until the wall clock has reached `epochMs`. */
  const until = (epochMs: number) => delay(Math.max(0, epochMs - Date.now()));

  test('a token is verified once, then its identity is reused', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const checks = countSignatureChecks(t);
    const token = await issuer.sign({ sub: 'f3c1', name: 'Kim Minji', roles: ['doctor'] });
    const first = await verifier.verify(token);
    assert.deepEqual(await verifier.verify(token), first);
    assert.deepEqual(await verifier.verify(token), { subject: 'f3c1', name: 'Kim Minji', roles: ['doctor'], departments: [], scopes: [] });
    assert.equal(checks(), 1);
    // One identity serves every request with the token: none of them may change it for the others.
    assert.throws(() => (first.roles as string[]).push('admin'));
    assert.deepEqual((await verifier.verify(token)).roles, ['doctor']);
  });

  test('a remembered token is refused once it expires, with the clock tolerance jwtVerify allows', async (t) => {
    const { issuer, verifier } = await setUp(t, { clockToleranceSeconds: 1 });
    const checks = countSignatureChecks(t);
    const exp = now() + 2;
    const token = await issuer.sign({ roles: ['doctor'] }, { expiresIn: exp });
    await verifier.verify(token);
    // Past exp but within the tolerance: still valid, and still not verified again.
    await until(exp * 1000 + 100);
    assert.deepEqual((await verifier.verify(token)).roles, ['doctor']);
    assert.equal(checks(), 1);
    // Past the tolerance too: refused, although it was remembered.
    await until((exp + 1) * 1000 + 100);
    await rejects(verifier.verify(token), /expired/);
  });

  test('the remembered window is the one jwtVerify accepts, to the millisecond', () => {
    const claims = [{ exp: 1_000, nbf: 500 }, { exp: 1_000.5, nbf: 499.25 }, { exp: 1_000 }];
    for (const tolerance of [0, 30]) {
      for (const claim of claims) {
        const window = validityWindow(claim, tolerance);
        const jwt = new UnsecuredJWT(claim).encode();
        const edges = [window.notBeforeMs, window.expiresAtMs].filter(Number.isFinite);
        for (const instant of edges.flatMap((edge) => [edge - 1, edge, edge + 1])) {
          let accepted = true;
          try {
            UnsecuredJWT.decode(jwt, { currentDate: new Date(instant), clockTolerance: tolerance });
          } catch {
            accepted = false;
          }
          const remembered = instant >= window.notBeforeMs && instant < window.expiresAtMs;
          assert.equal(remembered, accepted, `${JSON.stringify(claim)}, tolerance ${tolerance} s, at ${instant} ms`);
        }
      }
    }
  });

  test('a token not valid yet is never remembered', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const checks = countSignatureChecks(t);
    const early = await issuer.sign({ roles: ['doctor'], nbf: now() + 600 });
    await rejects(verifier.verify(early), /not valid yet/);
    await rejects(verifier.verify(early), /not valid yet/);
    assert.equal(checks(), 2);
  });

  test('another token is not taken for a remembered one: another subject, or the same claims with another signature', async (t) => {
    const { issuer, verifier } = await setUp(t);
    const minji = await issuer.sign({ sub: 'minji', roles: ['doctor'] });
    const lee = await issuer.sign({ sub: 'lee', roles: ['examiner'] });
    assert.equal((await verifier.verify(minji)).subject, 'minji');
    assert.equal((await verifier.verify(lee)).subject, 'lee');
    assert.deepEqual(await verifier.verify(minji), { subject: 'minji', roles: ['doctor'], departments: [], scopes: [] });
    assert.deepEqual(await verifier.verify(lee), { subject: 'lee', roles: ['examiner'], departments: [], scopes: [] });
    // The remembered token's header and claims under an attacker's signature.
    const attacker = await makeKey();
    const forged = await issuer.sign({ roles: ['doctor'] }, { key: { ...attacker, kid: issuer.keys[0]!.kid } });
    const [header, payload] = minji.split('.');
    await rejects(verifier.verify(`${header}.${payload}.${forged.split('.')[2]}`), /signature/);
    // A failure is not remembered either.
    await rejects(verifier.verify(`${header}.${payload}.${forged.split('.')[2]}`), /signature/);
  });

  test('at most maxVerifiedTokens are remembered, the least recently used going first', async (t) => {
    const { issuer, verifier } = await setUp(t, { maxVerifiedTokens: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => issuer.sign({ sub, roles: ['doctor'] })));
    const checks = countSignatureChecks(t);
    await verifier.verify(a!);
    await verifier.verify(b!);
    await verifier.verify(a!); // remembered, and now the most recent
    assert.equal(checks(), 2);
    await verifier.verify(c!); // b goes
    await verifier.verify(a!);
    await verifier.verify(c!);
    assert.equal(checks(), 3);
    await verifier.verify(b!);
    assert.equal(checks(), 4);
  });

  test('the cache itself: bounded, least recently used first, only within the window', () => {
    const tokens = new VerifiedTokens<string>(3);
    const window = { notBeforeMs: 1_000, expiresAtMs: 2_000 };
    for (const name of ['a', 'b', 'c', 'd']) tokens.remember(`token-${name}`, name, window);
    assert.equal(tokens.size, 3);
    assert.equal(tokens.get('token-a', 1_500), undefined);
    assert.equal(tokens.get('token-b', 1_500), 'b');
    tokens.remember('token-e', 'e', window);
    assert.equal(tokens.get('token-c', 1_500), undefined);
    assert.equal(tokens.get('token-b', 1_500), 'b');
    assert.equal(tokens.get('token-b', 999), undefined, 'before the window');
    assert.equal(tokens.get('token-d', 2_000), undefined, 'at its end');
    // An entry found outside its window is dropped: of b, d and e, e is left.
    assert.equal(tokens.size, 1);
    assert.equal(tokens.get('token-e', 1_500), 'e');
    const none = new VerifiedTokens<string>(0);
    none.remember('token', 'value', window);
    assert.equal(none.get('token', 1_500), undefined);
  });

  test('a token whose key the issuer withdrew is refused once the keys are fetched again (a new kid)', async (t) => {
    const { issuer, verifier } = await setUp(t, { cooldownMs: 0 });
    const old = issuer.keys[0]!;
    const token = await issuer.sign({ roles: ['doctor'] });
    await verifier.verify(token);
    const checks = countSignatureChecks(t);
    await verifier.verify(token);
    assert.equal(checks(), 0);

    // A new key beside the old one: the refetch it causes has the remembered token checked once
    // more, after which it is remembered again.
    const next = await makeKey('ES256');
    issuer.keys = [next, old];
    await verifier.verify(await issuer.sign({ roles: ['examiner'] }, { key: next }));
    assert.equal(issuer.fetches.jwks, 2);
    await verifier.verify(token);
    await verifier.verify(token);
    assert.equal(checks(), 2);

    // The old key withdrawn: once a token of a kid it does not know has the keys fetched again...
    issuer.keys = [next, await makeKey()];
    await verifier.verify(await issuer.sign({ roles: ['examiner'] }, { key: issuer.keys[1] }));
    assert.equal(issuer.fetches.jwks, 3);
    // ...the token the old key signed is refused, remembered or not.
    await rejects(verifier.verify(token), /unknown key/);
  });

  test('a token whose key the issuer withdrew is refused once the keys are refreshed (cacheMaxAgeMs)', async (t) => {
    const { issuer, verifier } = await setUp(t, { cacheMaxAgeMs: 50 });
    const token = await issuer.sign({ roles: ['doctor'] });
    await verifier.verify(token);
    await verifier.verify(token);
    issuer.keys = [await makeKey()];
    // Nothing but the remembered token is verified: its own lookup starts the refresh once due.
    await delay(80);
    await rejects(verifier.verify(token), /unknown key/);
    assert.equal(issuer.fetches.jwks, 2);
  });
});
