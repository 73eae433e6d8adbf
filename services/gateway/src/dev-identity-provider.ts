import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Type } from 'typebox';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { Role } from '@medical/contracts';
import { ConfigError, DEV_ISSUER_PATH, HttpProblem, authProblemTypes, sendProblem, type App, type AuthConfig } from '@medical/platform/edge';

/**
 * The development identity provider (AUTH_MODE=dev, `npm start`'s default), run by the gateway:
 * one demo user per role, whose username is the role (`display` for a waiting room's call screen), and a surgeon (`doctor-surgery`), all with
 * the password DEV_PASSWORD ("demo"). The doctors carry their departments: `doctor` works in
 * internal medicine, `doctor-surgery` in surgery.
 *
 *   POST /auth/token                            { username, password } → { access_token, token_type, expires_in }
 *   GET  /auth/jwks                             its public key
 *   GET  /auth/.well-known/openid-configuration the discovery document naming both
 *
 * Tokens are ES256 JWTs with the issuer, audience and roles claim the verifiers are configured
 * for, so the gateway and the services check them with exactly the code (OIDC discovery, JWKS,
 * oidc-verifier.ts) that checks a real provider's in production. Never for production: it refuses
 * to start with NODE_ENV=production.
 */

const ALGORITHM = 'ES256';

export type DevIdentityProviderOptions = {
  config: AuthConfig;
  /**
   * Where the signing key is kept (DATA_DIR/auth/dev-signing-key.json for the gateway). Kept, a
   * restart of the gateway leaves the tokens it issued valid; unset, a key is made per process.
   */
  keyFile?: string;
  env?: Record<string, string | undefined>;
};

export type DevIdentityProvider = {
  /** The token a demo user gets: for the login route and for tests. */
  issue(username: DemoUsername): Promise<string>;
  jwks(): { keys: JWK[] };
  discovery(): Record<string, unknown>;
  register(app: App): void;
};

type SigningKey = { privateKey: CryptoKey; publicJwk: JWK; kid: string };

async function keyFromJwk(jwk: JWK): Promise<SigningKey> {
  const { d: _private, ...publicJwk } = jwk;
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateKey = (await importJWK({ ...jwk, alg: ALGORITHM }, ALGORITHM)) as CryptoKey;
  return { privateKey, kid, publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y, kid, alg: ALGORITHM, use: 'sig' } };
}

async function newJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  return exportJWK(privateKey);
}

/**
 * The key kept in `file`, or a new one written there (readable by this user only). Written with
 * `wx`, so of two gateways starting together on one DATA_DIR the second reads the first's key.
 */
async function loadOrCreateKey(file: string): Promise<SigningKey> {
  try {
    return await keyFromJwk(JSON.parse(await fs.readFile(file, 'utf8')) as JWK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`the development identity provider's key ${file} is unreadable (${(error as Error).message}); delete it to make a new one`);
    }
  }
  const jwk = await newJwk();
  await fs.mkdir(path.dirname(file), { recursive: true });
  try {
    await fs.writeFile(file, JSON.stringify(jwk), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return keyFromJwk(JSON.parse(await fs.readFile(file, 'utf8')) as JWK);
    throw error;
  }
  return keyFromJwk(jwk);
}

/** Compared in constant time, by digest, so neither the content nor the length leaks by timing. */
function samePassword(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** Sets `value` at a claim path: `{ realm_access: { roles } }` for realm_access.roles, beside what `claims` holds there already. */
function setClaim(claims: Record<string, unknown>, claimPath: string, value: unknown): Record<string, unknown> {
  const names = claimPath.split('.');
  let node = claims;
  for (const name of names.slice(0, -1)) node = (node[name] ??= {}) as Record<string, unknown>;
  node[names.at(-1)!] = value;
  return claims;
}

const TokenRequest = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
const TokenResponse = Type.Object({ access_token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() });

type DemoUser = { name: string; role: Role; departments: readonly string[] };

/** The demo users: one per role, named after it, and a second doctor in another department. */
const demoUsers = {
  receptionist: { name: 'Demo Receptionist', role: 'receptionist', departments: [] },
  doctor: { name: 'Demo Doctor', role: 'doctor', departments: ['internal-medicine'] },
  'doctor-surgery': { name: 'Demo Surgeon', role: 'doctor', departments: ['surgery'] },
  examiner: { name: 'Demo Examiner', role: 'examiner', departments: [] },
  manager: { name: 'Demo Manager', role: 'manager', departments: [] },
  auditor: { name: 'Demo Privacy Officer', role: 'auditor', departments: [] },
  admin: { name: 'Demo Administrator', role: 'admin', departments: [] },
  // A waiting room's call screen: it reads the queues, and nothing else.
  display: { name: 'Waiting room display', role: 'display', departments: [] },
} as const satisfies Record<string, DemoUser> & Record<Role, DemoUser>;

export type DemoUsername = keyof typeof demoUsers;

/**
 * A call screen's token lasts a clinic day (12 hours), or DEV_TOKEN_LIFETIME_SECONDS if that is
 * longer: the screen on the waiting room's wall has nobody to sign it in again every 15 minutes,
 * and what it may read (the queues: numbers and masked names) is worth little to a thief. With a
 * real provider the display's account renews its session with a refresh token instead.
 */
const DISPLAY_TOKEN_LIFETIME_SECONDS = 12 * 60 * 60;

function lifetimeOf(username: DemoUsername, dev: DevSettings): number {
  return demoUsers[username].role === 'display' ? Math.max(DISPLAY_TOKEN_LIFETIME_SECONDS, dev.tokenLifetimeSeconds) : dev.tokenLifetimeSeconds;
}

/** The demo users' password and the lifetime of the tokens issued to them. */
type DevSettings = NonNullable<AuthConfig['dev']>;

export async function createDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  const { config } = options;
  const dev = devSettings(config, options.env ?? process.env);
  const key = options.keyFile ? await loadOrCreateKey(options.keyFile) : await keyFromJwk(await newJwk());
  const provider: DevIdentityProvider = {
    issue: (username) => signToken(config, key, username, lifetimeOf(username, dev)),
    jwks: () => ({ keys: [key.publicJwk] }),
    discovery: () => discoveryDocument(config.issuer),
    register: (app) => registerIssuerRoutes(app, provider, dev),
  };
  return provider;
}

/**
 * The settings of the demo users, refused with NODE_ENV=production. Also checked by
 * loadAuthConfig; checked again here, where the demo users come to life, so no path around the
 * configuration starts them in production.
 */
function devSettings(config: AuthConfig, env: Record<string, string | undefined>): DevSettings {
  if (env.NODE_ENV?.trim() === 'production') {
    throw new ConfigError('AUTH_MODE=dev is refused with NODE_ENV=production: the development identity provider has demo users with a known password');
  }
  if (config.mode !== 'dev' || !config.dev) throw new ConfigError('the development identity provider needs AUTH_MODE=dev');
  return config.dev;
}

function signToken(config: AuthConfig, key: SigningKey, username: DemoUsername, lifetimeSeconds: number): Promise<string> {
  const user: DemoUser = demoUsers[username];
  // Where the verifiers look for roles and departments (OIDC_ROLES_CLAIM, OIDC_DEPARTMENTS_CLAIM), so dev exercises those settings too.
  const claims = setClaim({ name: user.name, preferred_username: username }, config.rolesClaim, [user.role]);
  if (user.departments.length > 0) setClaim(claims, config.departmentsClaim, [...user.departments]);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(`dev:${username}`)
    .setJti(randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${lifetimeSeconds}s`)
    .sign(key.privateKey);
}

function discoveryDocument(issuer: string): Record<string, unknown> {
  const issuerBase = issuer.replace(/\/+$/, '');
  return {
    issuer,
    jwks_uri: `${issuerBase}/jwks`,
    token_endpoint: `${issuerBase}/token`,
    grant_types_supported: ['password'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ALGORITHM],
    token_endpoint_auth_methods_supported: ['none'],
  };
}

function registerIssuerRoutes(app: App, provider: DevIdentityProvider, dev: DevSettings): void {
  app.get(`${DEV_ISSUER_PATH}/.well-known/openid-configuration`, { schema: { hide: true } }, async () => provider.discovery());
  app.get(`${DEV_ISSUER_PATH}/jwks`, { schema: { hide: true } }, async (_request, reply) => {
    reply.type('application/jwk-set+json');
    return provider.jwks();
  });
  app.post(
    `${DEV_ISSUER_PATH}/token`,
    { schema: { summary: 'Sign in as a demo user (development only)', body: TokenRequest, response: { 200: TokenResponse } } },
    async (request, reply) => {
      const { username, password } = request.body as { username: string; password: string };
      const user = demoUser(username, password, dev.password);
      if (!user) {
        return sendProblem(
          reply,
          request,
          new HttpProblem({ status: 401, title: 'Unauthorized', type: authProblemTypes.unauthorized, detail: 'unknown username or wrong password' }),
        );
      }
      // A token is a credential: no cache may keep it (RFC 6749 §5.1).
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { access_token: await provider.issue(user), token_type: 'Bearer' as const, expires_in: lifetimeOf(user, dev) };
    },
  );
}

/**
 * The demo user these credentials sign in as, if any. The password is checked for unknown users
 * too: the answer and its timing say nothing about which usernames exist.
 */
function demoUser(username: string, given: string, password: string): DemoUsername | undefined {
  const passwordOk = samePassword(given, password);
  const user = Object.hasOwn(demoUsers, username) ? (username as DemoUsername) : undefined;
  return user && passwordOk ? user : undefined;
}
