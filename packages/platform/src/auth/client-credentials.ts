import { decodeJwt } from 'jose';
import { ConfigError, type Env } from '../lib/env.ts';
import { discoveryUrl, IssuerUnavailableError } from './oidc-verifier.ts';

/**
 * Access tokens for a service acting as its own OAuth client (RFC 6749 §4.4, client
 * credentials): the interop service performing a laboratory's result on the examination service,
 * say, as a system rather than as a person. The token is asked of the hospital's OpenID Connect
 * provider (its token endpoint found by discovery on the issuer) or the gateway's development
 * provider, and kept until shortly before it expires; every caller in between shares it.
 */

export type ClientCredentials = { clientId: string; clientSecret: string };

export type ClientCredentialsOptions = ClientCredentials &
  ({ tokenEndpoint: string; issuer?: undefined } | { issuer: string; tokenEndpoint?: undefined }) & {
    /** The scopes to ask for (space-separated, or a list); none asks for the client's default. */
    scope?: string | readonly string[];
    fetch?: typeof fetch;
    /** How long a request to the provider may take (default 5 s). */
    timeoutMs?: number;
    /** The clock, in ms since the epoch (tests move it). */
    now?: () => number;
  };

export type TokenSource = {
  /** A valid access token: the one kept, or a new one once it is within 30 s of expiring. */
  token(): Promise<string>;
  /** Forgets the token kept (one a server refused with 401, say), so the next call asks for a new one. */
  invalidate(): void;
};

/** The provider refused the client (a wrong secret, a scope it may not have) or answered nonsense: a configuration fault, not an outage. */
export class ClientCredentialsError extends Error {
  override name = 'ClientCredentialsError';
}

/** A token is asked for again this long before it expires, so none is sent that expires on the way. */
const REFRESH_MARGIN_SECONDS = 30;
/** How long a token whose lifetime the provider does not say is kept (RFC 6749 §5.1 leaves expires_in optional). */
const UNSTATED_LIFETIME_SECONDS = 60;

/**
 * The client's id and secret from `<PREFIX>_CLIENT_ID` and `<PREFIX>_CLIENT_SECRET`, or undefined
 * when neither is set; one without the other is a ConfigError. The secret is not trimmed: it is a
 * password.
 */
export function loadClientCredentials(env: Env, prefix: string): ClientCredentials | undefined {
  const idName = `${prefix}_CLIENT_ID`;
  const secretName = `${prefix}_CLIENT_SECRET`;
  const clientId = env[idName]?.trim() || undefined;
  const clientSecret = env[secretName] || undefined;
  if (clientId === undefined && clientSecret === undefined) return undefined;
  if (clientId === undefined) throw new ConfigError(`${idName} must be set with ${secretName}: the client id the provider knows this service by`);
  if (clientSecret === undefined) throw new ConfigError(`${secretName} must be set with ${idName}: the client's secret at the provider`);
  return { clientId, clientSecret };
}

export function createClientCredentialsTokenSource(options: ClientCredentialsOptions): TokenSource {
  const now = options.now ?? Date.now;
  const endpoint = options.tokenEndpoint !== undefined ? () => Promise.resolve(new URL(options.tokenEndpoint)) : sharedTokenEndpoint(options);
  let kept: { token: string; refreshAtMs: number } | undefined;
  let asking: Promise<string> | undefined;

  async function ask(): Promise<string> {
    const askedAtMs = now();
    const { token, expiresIn } = await requestToken(await endpoint(), options);
    const lifetimeSeconds = lifetimeOf(token, expiresIn, askedAtMs);
    const margin = Math.min(REFRESH_MARGIN_SECONDS, lifetimeSeconds / 2);
    kept = { token, refreshAtMs: askedAtMs + (lifetimeSeconds - margin) * 1000 };
    return token;
  }

  return {
    token() {
      if (kept && now() < kept.refreshAtMs) return Promise.resolve(kept.token);
      // One request at a time: every caller waiting for a new token waits for the same one.
      asking ??= ask().finally(() => {
        asking = undefined;
      });
      return asking;
    },
    invalidate() {
      kept = undefined;
    },
  };
}

/** The token endpoint the issuer's discovery document names, looked up once; a failed lookup is tried again by the next call. */
function sharedTokenEndpoint(options: ClientCredentialsOptions & { issuer: string }): () => Promise<URL> {
  let found: Promise<URL> | undefined;
  return () =>
    (found ??= discoverTokenEndpoint(options).catch((error: unknown) => {
      found = undefined;
      throw error;
    }));
}

async function discoverTokenEndpoint(options: ClientCredentialsOptions & { issuer: string }): Promise<URL> {
  const url = discoveryUrl(options.issuer);
  const document = (await send(url, { headers: { accept: 'application/json' } }, options).then((response) => answerJson(response, url))) as {
    issuer?: unknown;
    token_endpoint?: unknown;
  };
  // The issuer's own document only (OpenID Connect Discovery §4.3), as for the verifier's keys.
  if (document.issuer !== options.issuer) throw new ClientCredentialsError(`${url} names the issuer "${String(document.issuer)}", not "${options.issuer}"`);
  if (typeof document.token_endpoint !== 'string') throw new ClientCredentialsError(`${url} names no token_endpoint`);
  const endpoint = new URL(document.token_endpoint);
  // The secret travels to it: over https, unless the issuer itself is plain http (a development provider).
  if (endpoint.protocol !== 'https:' && !(endpoint.protocol === 'http:' && url.protocol === 'http:')) {
    throw new ClientCredentialsError(`${url} names a token_endpoint that is not https: ${endpoint.href}`);
  }
  return endpoint;
}

/** A form-urlencoded value, as RFC 6749 §2.3.1 has the id and secret encoded before Basic joins them. */
const formEncoded = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);

async function requestToken(endpoint: URL, options: ClientCredentialsOptions): Promise<{ token: string; expiresIn: unknown }> {
  const scope = typeof options.scope === 'string' ? options.scope : options.scope?.join(' ');
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) });
  const basic = Buffer.from(`${formEncoded(options.clientId)}:${formEncoded(options.clientSecret)}`, 'utf8').toString('base64');
  const response = await send(
    endpoint,
    { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body },
    options,
  );
  const answer = (await answerJson(response, endpoint, options.clientId)) as { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
  if (typeof answer.access_token !== 'string' || answer.access_token === '' || typeof answer.token_type !== 'string' || answer.token_type.toLowerCase() !== 'bearer') {
    throw new ClientCredentialsError(`${endpoint} answered no bearer access_token`);
  }
  return { token: answer.access_token, expiresIn: answer.expires_in };
}

/** The token's lifetime in seconds from `askedAtMs`: expires_in (a number, or digits as some providers send it), else the token's own `exp` when it is a JWT, else a minute. */
function lifetimeOf(token: string, expiresIn: unknown, askedAtMs: number): number {
  const seconds = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds;
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === 'number') return Math.max(0, exp - askedAtMs / 1000);
  } catch {
    // Not a JWT: an opaque token, whose lifetime only the provider knows.
  }
  return UNSTATED_LIFETIME_SECONDS;
}

/** A request to the provider; not reaching it at all is an outage (IssuerUnavailableError). */
async function send(url: URL, init: RequestInit, options: ClientCredentialsOptions): Promise<Response> {
  try {
    return await (options.fetch ?? fetch)(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
  } catch (error) {
    throw new IssuerUnavailableError(`the identity provider could not be reached at ${url}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The JSON of a 200. A 5xx or 429 is an outage, to be tried again; any other status a refusal,
 * with the OAuth error it names (RFC 6749 §5.2: invalid_client, invalid_scope, …).
 */
async function answerJson(response: Response, url: URL, clientId?: string): Promise<Record<string, unknown>> {
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (response.status === 200 && body !== null && typeof body === 'object') return body;
  if (response.status >= 500 || response.status === 429) throw new IssuerUnavailableError(`${url} answered ${response.status}`);
  const error = typeof body?.error === 'string' ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}` : '';
  throw new ClientCredentialsError(`${url} answered ${response.status}${clientId ? ` to the client ${clientId}` : ''}${error}`);
}
