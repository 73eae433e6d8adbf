import { ConfigError, readInteger, readString } from '../lib/env.ts';

/**
 * How requests are authenticated, read once at start like every other setting, so a typo fails
 * the start with a message naming the variable.
 *
 * - AUTH_MODE=oidc (the default): bearer tokens from a real OpenID Connect provider. OIDC_ISSUER
 *   and OIDC_AUDIENCE are required, so a deployment that names no provider fails to start rather
 *   than opening the demo users' door.
 * - AUTH_MODE=dev (asked for by `npm start` and `npm run service`): the gateway runs a development identity provider
 *   with one demo user per role (services/gateway/src/dev-identity-provider.ts), and every process
 *   verifies its tokens through the same OIDC discovery as in production. Refused when
 *   NODE_ENV=production: demo users with a known password must never guard patient data.
 */
export type AuthMode = 'dev' | 'oidc';

export type AuthConfig = {
  mode: AuthMode;
  /**
   * The issuer, exactly as tokens carry it in `iss` (a trailing slash is kept: Auth0's has one).
   * Its discovery document is `<issuer>/.well-known/openid-configuration`.
   */
  issuer: string;
  /** The `aud` every token must carry: the identifier of this API at the provider. */
  audience: string;
  /** Where the roles are in the token's claims, as a dot path: `roles`, `realm_access.roles`. */
  rolesClaim: string;
  /**
   * Where the token names the departments its holder works in (OIDC_DEPARTMENTS_CLAIM, a dot path
   * as for roles; default `departments`): a doctor sees and acts on the visits of these only.
   */
  departmentsClaim: string;
  /** Clock skew allowed on `exp` and `nbf` between the provider and this host. */
  clockToleranceSeconds: number;
  /** AUTH_MODE=dev only: the demo users' password and the lifetime of the tokens issued. */
  dev?: { password: string; tokenLifetimeSeconds: number };
};

type Env = Record<string, string | undefined>;

/** Where the gateway serves the development identity provider (`npm start`'s gateway). */
export const DEV_ISSUER_PATH = '/auth';
export const DEFAULT_DEV_ISSUER = `http://127.0.0.1:8088${DEV_ISSUER_PATH}`;
export const DEFAULT_DEV_AUDIENCE = 'medical-visit-workflow';
export const DEFAULT_DEV_PASSWORD = 'demo';

function readIssuer(env: Env, fallback: string | undefined): string {
  const raw = env.OIDC_ISSUER?.trim() || fallback;
  if (!raw) throw new ConfigError('OIDC_ISSUER must be set with AUTH_MODE=oidc: the issuer URL of your OpenID Connect provider');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`OIDC_ISSUER must be an http(s) URL, got "${raw}"`);
  }
  // An issuer is a URL with no query or fragment (OpenID Connect Discovery §2).
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || url.username !== '') {
    throw new ConfigError(`OIDC_ISSUER must be an http(s) URL with no query, fragment or credentials, got "${raw}"`);
  }
  return raw;
}

/** A claim as a dot path of claim names (no empty name: `realm_access..roles` is a typo). */
function readClaimPath(env: Env, variable: string, fallback: string, example: string): string {
  const claim = readString(env, variable, fallback);
  if (!/^[^.\s]+(\.[^.\s]+)*$/.test(claim)) {
    throw new ConfigError(`${variable} must be a claim name or a dot path such as ${example}, got "${claim}"`);
  }
  return claim;
}

export function loadAuthConfig(env: Env = process.env): AuthConfig {
  const mode = readString(env, 'AUTH_MODE', 'oidc');
  if (mode !== 'dev' && mode !== 'oidc') throw new ConfigError(`AUTH_MODE must be dev or oidc, got "${mode}"`);
  if (mode === 'dev' && env.NODE_ENV?.trim() === 'production') {
    throw new ConfigError(
      'AUTH_MODE=dev is refused with NODE_ENV=production: its demo users have a known password. ' +
        'Set AUTH_MODE=oidc with OIDC_ISSUER and OIDC_AUDIENCE',
    );
  }
  const common = {
    rolesClaim: readClaimPath(env, 'OIDC_ROLES_CLAIM', 'roles', 'realm_access.roles'),
    departmentsClaim: readClaimPath(env, 'OIDC_DEPARTMENTS_CLAIM', 'departments', 'attributes.departments'),
    clockToleranceSeconds: readInteger(env, 'OIDC_CLOCK_TOLERANCE_SECONDS', 30, 0, 300),
  };
  if (mode === 'oidc') {
    const issuer = readIssuer(env, undefined);
    const audience = env.OIDC_AUDIENCE?.trim();
    if (!audience) throw new ConfigError('OIDC_AUDIENCE must be set with AUTH_MODE=oidc: the audience (aud) your provider puts in tokens for this API');
    return { mode, issuer, audience, ...common };
  }
  const issuer = readIssuer(env, DEFAULT_DEV_ISSUER);
  // The gateway serves the development provider under /auth, and its discovery document names
  // `<issuer>/jwks`: an issuer elsewhere would send every verifier to a JWKS nobody serves.
  if (new URL(issuer).pathname !== DEV_ISSUER_PATH) {
    throw new ConfigError(`OIDC_ISSUER must be the gateway's URL followed by ${DEV_ISSUER_PATH} with AUTH_MODE=dev (such as ${DEFAULT_DEV_ISSUER}), got "${issuer}"`);
  }
  // Unset or empty means the default, as for every variable; not trimmed: it is a password.
  const password = env.DEV_PASSWORD || DEFAULT_DEV_PASSWORD;
  return {
    mode,
    issuer,
    audience: readString(env, 'OIDC_AUDIENCE', DEFAULT_DEV_AUDIENCE),
    ...common,
    dev: {
      password,
      // Short-lived, as access tokens should be: the console signs in again, nothing revokes them.
      tokenLifetimeSeconds: readInteger(env, 'DEV_TOKEN_LIFETIME_SECONDS', 900, 60, 86_400),
    },
  };
}
