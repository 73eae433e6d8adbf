import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { defer } from './helpers.ts';

/**
 * A local OpenID Connect issuer for the authentication tests: an in-process HTTP server with a
 * discovery document and a JWKS for keys the test made, which it can take down and bring back.
 */

export type TestKey = { privateKey: CryptoKey; publicJwk: JWK; kid: string; alg: string };

export async function makeKey(alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, alg, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export type TestIssuer = {
  issuer: string;
  url: string;
  /** The keys the JWKS publishes (change it to rotate). */
  keys: TestKey[];
  /** While true every request is answered 503, as by a provider restarting. */
  down: boolean;
  /** Overrides the `issuer` the discovery document names (a mix-up attack). */
  claimedIssuer?: string;
  fetches: { discovery: number; jwks: number };
  sign(claims: JWTPayload, options?: { key?: TestKey; expiresIn?: string | number; header?: Record<string, unknown>; issuer?: string; audience?: string }): Promise<string>;
};

export const AUDIENCE = 'medical-api';

type HasAfter = { after: (fn: () => void | Promise<void>) => void };

export async function startTestIssuer(t: HasAfter, realmPath = '/realms/hospital'): Promise<TestIssuer> {
  const state = {
    keys: [] as TestKey[],
    down: false,
    claimedIssuer: undefined as string | undefined,
    fetches: { discovery: 0, jwks: 0 },
  };
  let issuer = '';
  const server = http.createServer((request, response) => {
    if (state.down) {
      response.writeHead(503).end();
      return;
    }
    if (request.url === `${realmPath}/.well-known/openid-configuration`) {
      state.fetches.discovery++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ issuer: state.claimedIssuer ?? issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` }));
      return;
    }
    if (request.url === `${realmPath}/protocol/openid-connect/certs`) {
      state.fetches.jwks++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.unref();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  issuer = `${url}${realmPath}`;
  const key = await makeKey();
  state.keys.push(key);

  const testIssuer: TestIssuer = {
    issuer,
    url,
    get keys() {
      return state.keys;
    },
    set keys(keys) {
      state.keys = keys;
    },
    get down() {
      return state.down;
    },
    set down(value) {
      state.down = value;
    },
    get claimedIssuer() {
      return state.claimedIssuer;
    },
    set claimedIssuer(value) {
      state.claimedIssuer = value;
    },
    fetches: state.fetches,
    async sign(claims, options = {}) {
      const signingKey = options.key ?? state.keys[0]!;
      const jwt = new SignJWT({ sub: 'user-1', ...claims })
        .setProtectedHeader({ alg: signingKey.alg, kid: signingKey.kid, typ: 'JWT', ...options.header })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? AUDIENCE)
        .setIssuedAt();
      if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
      else if (claims.exp === undefined) jwt.setExpirationTime('5m');
      return jwt.sign(signingKey.privateKey);
    },
  };
  return testIssuer;
}
