import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import { demoIntegrationScopes, type Role } from '@medical/contracts';
import { ConfigError, DEV_ISSUER_PATH, HttpProblem, authProblemTypes, sendProblem, type App, type AuthConfig } from '@medical/platform/edge';
import { authenticateClient, checkGrantType, demoClient, scopesToGrant, type DemoClientId, type OAuthError, type TokenGrantFields } from './dev-clients.ts';

/**
 * The development identity provider (AUTH_MODE=dev, `npm start`'s default), run by the gateway:
 * one demo user per role, whose username is the role (`display` for a waiting room's call screen), and a surgeon (`doctor-surgery`), all with
 * the password DEV_PASSWORD ("demo"). The doctors carry their departments: `doctor` works in
 * internal medicine, `doctor-surgery` in surgery. Other systems sign in as its demo clients
 * (dev-clients.ts), with the client-credentials grant and the same secret.
 *
 *   POST /auth/token                            { username, password } → { access_token, token_type, expires_in }
 *                                               grant_type=client_credentials&scope=… (a form or JSON;
 *                                               the client by HTTP Basic or client_id and client_secret)
 *                                               → { access_token, token_type, expires_in, scope }
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
  /** The token a demo client gets, with the scopes given (each within the client's) or all of the client's: for the token route and for tests. */
  issueForClient(clientId: DemoClientId, scopes?: readonly string[]): Promise<string>;
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

const PasswordSignIn = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 1000 }) },
  { additionalProperties: false },
);
/** A client's token request (RFC 6749 §4.4.2, §2.3.1); parameters it does not name are ignored, as §3.2 says. */
const TokenGrantRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 100 }),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    client_secret: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: true },
);
/** The password sign-in (no grant_type) or a client's grant (with one): what has a grant_type is the client's. */
const TokenRequest = Type.Union([PasswordSignIn, TokenGrantRequest]);
const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.Optional(Type.String()),
});

/** The protection space of the clients' Basic challenge (RFC 7617): names the provider, nothing secret. */
const CLIENT_REALM = 'development identity provider';

/** A token request's form is a few short fields; 4 KiB is plenty and bounds what is parsed before authentication. */
const FORM_BODY_LIMIT_BYTES = 4096;

type DemoUser = { name: string; role: Role; departments: readonly string[] };

/** The roles of people; `integration` is a system's, whose demo clients are dev-clients.ts's. */
type PersonRole = Exclude<Role, 'integration'>;

/** The demo users: one per role of a person, named after it, and a second doctor in another department. */
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
} as const satisfies Record<string, DemoUser> & Record<PersonRole, DemoUser>;

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
    issue: (username) => signToken(config, key, userClaims(config, username), lifetimeOf(username, dev)),
    issueForClient: async (clientId, scopes) => signToken(config, key, clientClaims(config, clientId, grantableScopes(clientId, scopes)), dev.tokenLifetimeSeconds),
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

/** A token's subject and its other claims. */
type TokenClaims = { subject: string; claims: Record<string, unknown> };

function userClaims(config: AuthConfig, username: DemoUsername): TokenClaims {
  const user: DemoUser = demoUsers[username];
  // Where the verifiers look for roles and departments (OIDC_ROLES_CLAIM, OIDC_DEPARTMENTS_CLAIM), so dev exercises those settings too.
  const claims = setClaim({ name: user.name, preferred_username: username }, config.rolesClaim, [user.role]);
  if (user.departments.length > 0) setClaim(claims, config.departmentsClaim, [...user.departments]);
  return { subject: `dev:${username}`, claims };
}

/**
 * A client's claims, as a provider puts them in an access token for client credentials (RFC 9068
 * §2.2): `client_id` (and OIDC's `azp`), and `scope`, space-separated, when it has any.
 */
function clientClaims(config: AuthConfig, clientId: DemoClientId, scopes: readonly string[]): TokenClaims {
  const client = demoClient(clientId);
  const claims = setClaim({ name: client.name, client_id: clientId, azp: clientId }, config.rolesClaim, [client.role]);
  if (scopes.length > 0) claims.scope = scopes.join(' ');
  return { subject: `client:${clientId}`, claims };
}

/** The scopes given, if each is within the client's (all of those when none are given); a test asking for more is a mistake. */
function grantableScopes(clientId: DemoClientId, scopes: readonly string[] | undefined): string[] {
  const granted = scopesToGrant(clientId, scopes?.join(' '));
  if ('error' in granted) throw new RangeError(granted.description);
  return granted;
}

function signToken(config: AuthConfig, key: SigningKey, { subject, claims }: TokenClaims, lifetimeSeconds: number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(subject)
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
    grant_types_supported: ['password', 'client_credentials'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ALGORITHM],
    // `none`: the demo users' sign-in; the others: the demo clients' (dev-clients.ts).
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    scopes_supported: [...demoIntegrationScopes],
  };
}

function registerIssuerRoutes(app: App, provider: DevIdentityProvider, dev: DevSettings): void {
  app.get(`${DEV_ISSUER_PATH}/.well-known/openid-configuration`, { schema: { hide: true } }, async () => provider.discovery());
  app.get(`${DEV_ISSUER_PATH}/jwks`, { schema: { hide: true } }, async (_request, reply) => {
    reply.type('application/jwk-set+json');
    return provider.jwks();
  });
  // In a scope of its own, so the form body a client's token request is sent as (RFC 6749 §4.4.2)
  // is read on this route alone: every other route of the gateway takes JSON only.
  app.register(async (tokenRoute) => {
    tokenRoute.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT_BYTES }, (_request, body, done) =>
      done(null, formFields(body as string)),
    );
    tokenRoute.post(
      `${DEV_ISSUER_PATH}/token`,
      { schema: { summary: 'Sign in as a demo user or a demo client (development only)', body: TokenRequest, response: { 200: TokenResponse } } },
      async (request, reply) => {
        const body = request.body as { username: string; password: string } | TokenGrantFields;
        // A token is a credential: no cache may keep it, nor an error about one (RFC 6749 §5.1, §5.2).
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        if ('grant_type' in body) return clientToken(request, reply, body, provider, dev);
        const user = demoUser(body.username, body.password, dev.password);
        if (!user) {
          return sendProblem(
            reply,
            request,
            new HttpProblem({ status: 401, title: 'Unauthorized', type: authProblemTypes.unauthorized, detail: 'unknown username or wrong password' }),
          );
        }
        return { access_token: await provider.issue(user), token_type: 'Bearer' as const, expires_in: lifetimeOf(user, dev) };
      },
    );
  });
}

/**
 * A form's fields by name. A field sent twice becomes a list, which the route's schema refuses
 * (RFC 6749 §3.1: a parameter must not be repeated). Object.fromEntries defines each name as the
 * object's own, `__proto__` too.
 */
function formFields(body: string): Record<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    const earlier = fields.get(name);
    fields.set(name, earlier === undefined ? value : [...[earlier].flat(), value]);
  }
  return Object.fromEntries(fields);
}

/** The client-credentials grant: the client, then the grant type, then the scopes; each refusal in OAuth's words. */
async function clientToken(request: FastifyRequest, reply: FastifyReply, fields: TokenGrantFields, provider: DevIdentityProvider, dev: DevSettings) {
  const client = authenticateClient(request.headers.authorization, fields, (given) => samePassword(given, dev.password));
  if (typeof client !== 'string') return oauthError(reply, client);
  const unsupported = checkGrantType(fields.grant_type);
  if (unsupported) return oauthError(reply, unsupported);
  const scopes = scopesToGrant(client, fields.scope);
  if ('error' in scopes) return oauthError(reply, scopes);
  const answer = { access_token: await provider.issueForClient(client, scopes), token_type: 'Bearer' as const, expires_in: dev.tokenLifetimeSeconds };
  return scopes.length > 0 ? { ...answer, scope: scopes.join(' ') } : answer;
}

/**
 * An OAuth error answer (RFC 6749 §5.2): `invalid_client` is a 401 with a Basic challenge, as a
 * client that authenticated with Basic must get. The description may echo what the client sent,
 * so it is kept to the characters §5.2 allows.
 */
function oauthError(reply: FastifyReply, { status, error, description }: OAuthError): FastifyReply {
  if (status === 401) reply.header('www-authenticate', `Basic realm="${CLIENT_REALM}", charset="UTF-8"`);
  return reply.code(status).type('application/json').send({ error, error_description: description.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?') });
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
