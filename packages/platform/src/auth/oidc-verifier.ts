import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWSHeaderParameters,
  type FlattenedJWSInput,
  type JWTPayload,
  type RemoteJWKSet,
} from 'jose';
import { isDepartmentCode, roles as knownRoles, type Role } from '@medical/contracts';
import type { AuthConfig } from './auth-config.ts';
import { DEFAULT_MAX_VERIFIED_TOKENS, VerifiedTokens, type ValidityWindow } from './verified-tokens.ts';

/**
 * Verifies bearer tokens (JWTs) against an OpenID Connect issuer: its keys are found through
 * discovery (`<issuer>/.well-known/openid-configuration` names the `jwks_uri`), fetched lazily on
 * the first token and cached. The development identity provider is verified by this same code.
 * A token that verified is remembered (verified-tokens.ts) and not verified again while it is
 * valid and the key that verified it is still the issuer's.
 */

/**
 * Who a valid token names; which of its roles acts is decided per route (authentication.ts).
 * Read-only: one identity is handed to every request that carries the same token.
 */
export type VerifiedIdentity = {
  readonly subject: string;
  readonly name?: string;
  readonly roles: readonly Role[];
  /** The departments the holder works in (department codes); none when the token names none. */
  readonly departments: readonly string[];
  /**
   * The OAuth scopes the token carries (`scope`, or `scp`): what a system's client was granted,
   * such as SMART's `system/Encounter.read`. They count only where a role makes them count
   * (the contracts' fhirScopesFor); none when the token carries none.
   */
  readonly scopes: readonly string[];
};

export interface TokenVerifier {
  verify(token: string): Promise<VerifiedIdentity>;
}

/** The token is not acceptable: a 401 with `WWW-Authenticate: Bearer error="invalid_token"`. */
export class InvalidTokenError extends Error {
  override name = 'InvalidTokenError';
}

/** The issuer's keys cannot be had right now: a 503 (the token may be fine), retried shortly. */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

/**
 * Asymmetric algorithms only. Naming them is what stops the two classic forgeries: `alg: none`
 * (no signature at all) and HS256 signed with the issuer's *public* key as the HMAC secret
 * (algorithm confusion). jose checks the header's alg against this list before it looks a key up.
 */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

export type OidcVerifierOptions = Pick<AuthConfig, 'issuer' | 'audience' | 'rolesClaim' | 'clockToleranceSeconds'> & Partial<Pick<AuthConfig, 'departmentsClaim'>> & {
  /** How long a fetch of the discovery document or the JWKS may take. */
  timeoutMs?: number;
  /** After a failed discovery, requests are answered 503 at once for this long, then it is tried again. */
  retryAfterMs?: number;
  /**
   * A token whose `kid` is not in the cached set refetches the JWKS (a rotated key), but not more
   * often than this, so tokens with made-up kids cannot make this process hammer the issuer.
   */
  cooldownMs?: number;
  /** How long fetched keys are used before they are fetched again (kept if that fetch fails). */
  cacheMaxAgeMs?: number;
  /** How many verified tokens are remembered at most (the least recently used go first); 0 remembers none. */
  maxVerifiedTokens?: number;
};

type Discovered = { jwks: RemoteJWKSet };

/** The claim at a dot path (`realm_access.roles`), own properties only. */
function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const name of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, name)) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

/**
 * The roles a token grants (the staff's, a call screen's, another system's): an array of strings
 * (Keycloak's `realm_access.roles`, Entra ID's `roles`), or one space-separated string. Names this
 * system does not know are ignored: a provider's roles also hold `offline_access`,
 * `uma_authorization` and other systems' roles.
 */
export function rolesFromClaims(payload: JWTPayload, path: string): Role[] {
  const known = new Set<string>(knownRoles);
  return [...new Set(claimNames(payload, path).filter((n): n is Role => typeof n === 'string' && known.has(n)))];
}

/** The department codes a token names, in the same forms as roles; what is not a code is ignored. */
export function departmentsFromClaims(payload: JWTPayload, path: string): string[] {
  return [...new Set(claimNames(payload, path).filter(isDepartmentCode))];
}

/** The names a claim holds: an array's items, or one string's space-separated words; none otherwise. */
function claimNames(payload: JWTPayload, path: string): unknown[] {
  const value = claimAt(payload, path);
  return Array.isArray(value) ? value : typeof value === 'string' ? value.split(/\s+/) : [];
}

/** RFC 6749 §3.3: a scope token is printable ASCII but the space, the double quote and the backslash. */
const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes a token carries: the standard `scope` claim (RFC 8693 §4.2, RFC 9068: one
 * space-separated string), or `scp`, as Entra ID and Okta name it (an array, or a string); both
 * when a provider sends both. What is not a scope token is ignored.
 */
export function scopesFromClaims(payload: JWTPayload): string[] {
  const names = [...claimNames(payload, 'scope'), ...claimNames(payload, 'scp')];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && scopeToken.test(n)))];
}

function text(value: unknown, max: number): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim().slice(0, max) : undefined;
}

/** The discovery document's URL: a trailing slash of the issuer is dropped first (Discovery §4). */
export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/**
 * When jwtVerify would accept a token with these claims, in ms: jose compares whole seconds (the
 * current time rounded down) with `nbf - tolerance` and `exp + tolerance`, which comes to these
 * bounds exactly, fractional NumericDates included. So a remembered token is accepted neither
 * before nor after the times a verification would accept it.
 */
export function validityWindow(payload: JWTPayload, toleranceSeconds: number): ValidityWindow {
  return {
    notBeforeMs: typeof payload.nbf === 'number' ? Math.ceil(payload.nbf - toleranceSeconds) * 1000 : -Infinity,
    // `exp` is a required claim: jwtVerify has refused a token without a numeric one.
    expiresAtMs: Math.ceil(payload.exp! + toleranceSeconds) * 1000,
  };
}

/** JWKS failures that say the token is wrong, not that the keys could not be fetched. */
function isTokenFault(error: unknown): boolean {
  return (
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JOSEAlgNotAllowed
  );
}

/** The issuer's key set, found through its discovery document; jose fetches the keys themselves on the first lookup. */
async function discover(options: OidcVerifierOptions, timeoutMs: number): Promise<Discovered> {
  const url = discoveryUrl(options.issuer);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  // The document must be the issuer's own (Discovery §4.3): otherwise a provider could hand out
  // another issuer's keys, and tokens of the other would be taken for this one's.
  if (document.issuer !== options.issuer) throw new Error(`${url} names the issuer "${String(document.issuer)}", not "${options.issuer}"`);
  if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
  const jwksUri = new URL(document.jwks_uri);
  // Keys fetched over plain HTTP could be swapped on the way; only an http issuer (a local
  // development provider) may have an http JWKS.
  if (jwksUri.protocol !== 'https:' && !(jwksUri.protocol === 'http:' && url.protocol === 'http:')) {
    throw new Error(`${url} names a jwks_uri that is not https: ${jwksUri.href}`);
  }
  return {
    jwks: createRemoteJWKSet(jwksUri, {
      timeoutDuration: timeoutMs,
      cooldownDuration: options.cooldownMs ?? 10_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    }),
  };
}

/**
 * Discovery once, shared by concurrent requests and kept when it succeeds. When it fails (the
 * issuer is restarting, say) every request is a 503 for `retryAfterMs`, then the next one tries
 * again: an unreachable issuer is neither hammered nor given up on.
 */
function sharedDiscovery(options: OidcVerifierOptions, timeoutMs: number): () => Promise<Discovered> {
  const retryAfterMs = options.retryAfterMs ?? 1_000;
  let discovering: Promise<Discovered> | undefined;
  let failedAt = -Infinity;
  let failure: unknown;
  return function discovered(): Promise<Discovered> {
    if (discovering) return discovering;
    if (performance.now() - failedAt < retryAfterMs) {
      return Promise.reject(new IssuerUnavailableError(`the identity provider could not be reached: ${String(failure)}`));
    }
    discovering = discover(options, timeoutMs).catch((error: unknown) => {
      discovering = undefined;
      failedAt = performance.now();
      failure = error instanceof Error ? error.message : error;
      throw new IssuerUnavailableError(`the identity provider could not be reached: ${String(failure)}`, { cause: error });
    });
    return discovering;
  };
}

type VerificationKey = Awaited<ReturnType<RemoteJWKSet>>;
type KeyLookup = (header: JWSHeaderParameters, token?: FlattenedJWSInput) => Promise<VerificationKey>;

/** The key for a token's header; only called once its alg has passed ALLOWED_ALGORITHMS. */
async function keyFor(jwks: RemoteJWKSet, header: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<VerificationKey> {
  try {
    return await jwks(header, token);
  } catch (error) {
    if (isTokenFault(error)) throw error;
    return staleKeyFor(jwks, header, token, error);
  }
}

/**
 * The refresh of expired keys failed (the issuer is briefly down): the keys fetched before
 * still verify the tokens they signed, better than refusing every user meanwhile.
 */
async function staleKeyFor(jwks: RemoteJWKSet, header: JWSHeaderParameters, token: FlattenedJWSInput | undefined, fetchError: unknown): Promise<VerificationKey> {
  const unavailable = new IssuerUnavailableError(
    `the identity provider's keys could not be fetched: ${fetchError instanceof Error ? fetchError.message : String(fetchError)}`,
    { cause: fetchError },
  );
  const stale = jwks.jwks();
  if (!stale) throw unavailable;
  try {
    return await createLocalJWKSet(stale)(header, token);
  } catch (staleError) {
    // Not among the old keys: maybe a key the issuer rotated in, which could not be fetched.
    throw staleError instanceof errors.JWKSNoMatchingKey ? unavailable : staleError;
  }
}

/** A token that passed jwtVerify, with the header and the key that verified it (what remembering it needs). */
type VerifiedToken = { payload: JWTPayload; header: JWSHeaderParameters; key: VerificationKey };

/** The full verification but the subject's: signature, algorithm, issuer, audience, times. */
async function verifyToken(token: string, lookUp: KeyLookup, options: OidcVerifierOptions): Promise<VerifiedToken> {
  let header: JWSHeaderParameters | undefined;
  let verifiedWith: VerificationKey | undefined;
  try {
    const { payload } = await jwtVerify(
      token,
      async (protectedHeader, input) => {
        header = protectedHeader;
        verifiedWith = await lookUp(protectedHeader, input);
        return verifiedWith;
      },
      {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: options.clockToleranceSeconds,
        // A token without an expiry would be valid forever once leaked.
        requiredClaims: ['sub', 'exp'],
      },
    );
    return { payload, header: header!, key: verifiedWith! };
  } catch (error) {
    if (error instanceof IssuerUnavailableError) throw error;
    throw new InvalidTokenError(describe(error), { cause: error });
  }
}

/** Who a verified token names; frozen, since one identity is shared by every request with the token. */
function identityOf(payload: JWTPayload, rolesClaim: string, departmentsClaim: string): VerifiedIdentity {
  const subject = payload.sub;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 255) throw new InvalidTokenError('the token has no usable subject (sub)');
  const name = text(payload.name, 255) ?? text(payload.preferred_username, 255);
  return Object.freeze({
    subject,
    ...(name ? { name } : {}),
    roles: Object.freeze(rolesFromClaims(payload, rolesClaim)),
    departments: Object.freeze(departmentsFromClaims(payload, departmentsClaim)),
    scopes: Object.freeze(scopesFromClaims(payload)),
  });
}

type Remembered = { identity: VerifiedIdentity; header: JWSHeaderParameters; key: VerificationKey };

export function createOidcVerifier(options: OidcVerifierOptions): TokenVerifier {
  const discovered = sharedDiscovery(options, options.timeoutMs ?? 5_000);
  const key: KeyLookup = async (header, token) => keyFor((await discovered()).jwks, header, token);
  const verifiedTokens = new VerifiedTokens<Remembered>(options.maxVerifiedTokens ?? DEFAULT_MAX_VERIFIED_TOKENS);

  async function verifyAndRemember(token: string, lookUp: KeyLookup): Promise<VerifiedIdentity> {
    const verified = await verifyToken(token, lookUp, options);
    const identity = identityOf(verified.payload, options.rolesClaim, options.departmentsClaim ?? 'departments');
    // Only here, once every check has passed: a failure is never remembered.
    verifiedTokens.remember(token, { identity, header: verified.header, key: verified.key }, validityWindow(verified.payload, options.clockToleranceSeconds));
    return identity;
  }

  return {
    async verify(token) {
      const remembered = verifiedTokens.get(token);
      if (!remembered) return verifyAndRemember(token, key);
      // A revoked key: the token is only taken as verified while the issuer's keys, as this
      // process has them now, still give its header the very key object that verified it. The
      // lookup is the one a verification makes, so it also starts the refresh that is due after
      // cacheMaxAgeMs. A key that left the set gives no key at all; and since jose builds new
      // key objects on every fetch of the set, each remembered token is verified once more after
      // a fetch (a rotation, a refresh), which is simpler to trust than comparing key sets.
      // Comparing keys, not kids, also covers a token without a kid.
      const current = key(remembered.header);
      if ((await current.catch(() => undefined)) === remembered.key) return remembered.identity;
      verifiedTokens.forget(token);
      // The same token, so the same header: the key just looked up (or why there is none) is the
      // one a new verification would look up; looking again would ask the issuer twice.
      return verifyAndRemember(token, () => current);
    },
  };
}

/** What the 401 says (error_description): why, without echoing the token. */
function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'the token is not valid yet';
    if (error.claim === 'iss') return 'the token is from another issuer';
    if (error.claim === 'aud') return 'the token is for another audience';
    return `the token's ${error.claim} claim is invalid`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is not signed with an allowed algorithm';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token is signed with an unknown key';
  return 'the token is malformed or invalid';
}
