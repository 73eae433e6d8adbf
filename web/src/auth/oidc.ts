import * as oauth from 'oauth4webapi';
import type { ConsoleConfig } from '../config/consoleConfig.ts';
import { tokenStore } from './session.ts';

/**
 * Sign-in with the hospital's identity provider (authMode "oidc"): authorization code with PKCE,
 * a public client (no secret in a browser). The verifier and state wait in sessionStorage for
 * the provider to redirect back to `${origin}/?code=...&state=...`.
 */
const PENDING_KEY = 'console.oidc.pending';

type Pending = { verifier: string; state: string };

const redirectUri = () => `${location.origin}/`;

function requestOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  // A provider on plain http is only ever a local one (development, tests); production is https.
  return issuer.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {};
}

async function discover(config: ConsoleConfig, signal?: () => AbortSignal): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...requestOptions(issuer), signal });
  return oauth.processDiscoveryResponse(issuer, response);
}

function client(config: ConsoleConfig): oauth.Client {
  if (!config.clientId) throw new Error('the console config names no OIDC client id');
  return { client_id: config.clientId };
}

/** Sends the browser to the provider's authorization endpoint. */
export async function startOidcSignIn(config: ConsoleConfig): Promise<void> {
  const server = await discover(config);
  if (!server.authorization_endpoint) throw new Error('the provider has no authorization endpoint');
  const pending: Pending = { verifier: oauth.generateRandomCodeVerifier(), state: oauth.generateRandomState() };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(server.authorization_endpoint);
  url.searchParams.set('client_id', client(config).client_id);
  url.searchParams.set('redirect_uri', redirectUri());
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', pending.state);
  location.assign(url);
}

/**
 * On load: when the URL is the provider's redirect back, trades the code for an access token
 * and removes the code from the address bar. Resolves null when this load is not a redirect.
 * A refresh token in the answer is stored here, before the caller starts the session with the
 * access token, so that the session can renew itself (renewal.ts).
 */
export async function completeOidcSignIn(config: ConsoleConfig): Promise<string | null> {
  const currentUrl = new URL(location.href);
  if (!currentUrl.searchParams.has('state')) return null;
  const stored = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  // The code is single-use and must not stay in the history or be bookmarked.
  history.replaceState(null, '', `/${currentUrl.hash}`);
  if (!stored) throw new Error('no sign-in was started in this tab');
  const pending = JSON.parse(stored) as Pending;
  const server = await discover(config);
  const theClient = client(config);
  const parameters = oauth.validateAuthResponse(server, theClient, currentUrl, pending.state);
  const response = await oauth.authorizationCodeGrantRequest(
    server,
    theClient,
    oauth.None(),
    parameters,
    redirectUri(),
    pending.verifier,
    requestOptions(new URL(config.issuer)),
  );
  const result = await oauth.processAuthorizationCodeResponse(server, theClient, response);
  tokenStore.saveRefreshToken(result.refresh_token);
  return result.access_token;
}

export type RenewedTokens = {
  accessToken: string;
  /** The rotated refresh token; undefined when the provider keeps the one it was asked with. */
  refreshToken: string | undefined;
};

/**
 * A provider that does not answer must not hold a renewal past the token's expiry (the fetch
 * would wait forever): each request of a renewal gives up after this long, and is retried.
 */
const RENEWAL_REQUEST_TIMEOUT_MS = 10_000;
const renewalSignal = () => AbortSignal.timeout(RENEWAL_REQUEST_TIMEOUT_MS);

/** One refresh token grant at the provider's token endpoint (a public client: no authentication). */
export async function refreshTokens(config: ConsoleConfig, refreshToken: string): Promise<RenewedTokens> {
  const server = await discover(config, renewalSignal);
  const theClient = client(config);
  const options = { ...requestOptions(new URL(config.issuer)), signal: renewalSignal };
  const response = await oauth.refreshTokenGrantRequest(server, theClient, oauth.None(), refreshToken, options);
  const result = await oauth.processRefreshTokenResponse(server, theClient, response);
  return { accessToken: result.access_token, refreshToken: result.refresh_token };
}

/**
 * Whether a failed renewal may succeed when tried again: the provider said no (invalid_grant for
 * an expired, revoked or reused refresh token, invalid_client, ...) is final; a network failure,
 * a 5xx, a 429 or anything else unexpected may be the provider or the network being down.
 */
export function isRetryableRenewalFailure(error: unknown): boolean {
  if (error instanceof oauth.ResponseBodyError) return error.status === 429 || error.error === 'temporarily_unavailable';
  return !(error instanceof oauth.WWWAuthenticateChallengeError);
}
