import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real OpenID Connect provider for the console's production sign-in test: panva's
 * oidc-provider (v9), in this process, on 127.0.0.1 and a port the OS picks, over plain http
 * (the console's oauth4webapi allows insecure requests only for an http issuer, which is only
 * ever a local one).
 *
 * The server listens first (`startOidcServer`), so its issuer is known before the system starts
 * (every process is given OIDC_ISSUER); the provider itself is configured once the gateway's URL
 * is known (`configure`), because the console's redirect URI is the gateway's origin. Until then
 * every request is a 503, which the system's verifiers treat as "the issuer is unavailable, try
 * again shortly": they discover the issuer lazily, on the first token.
 *
 * What the provider does:
 * - One public client (no secret: token_endpoint_auth_method none), authorization code with
 *   PKCE (S256) required, its one redirect URI the console's; and the refresh token grant: every
 *   code is answered with a refresh token too (issueRefreshToken, without asking for
 *   offline_access: the console's scope stays "openid profile"), which the library rotates on
 *   each use for a public client and whose reuse revokes the whole grant.
 * - Access tokens are JWTs for one resource server (resource indicators: every request defaults
 *   to it, and the code's resource is used at the token endpoint even with the openid scope),
 *   whose audience is the API's and which are signed with ES256 from the provider's keys; the
 *   account's roles and name are added to them (extraTokenClaims).
 * - CORS for the console's origin only, on the endpoints the browser calls cross-origin
 *   (discovery is open to any origin anyway; the token endpoint asks clientBasedCORS).
 * - devInteractions: the library's own login and consent pages. The dev login takes any
 *   password; findAccount knows only the accounts given here.
 */

/** oidc-provider ships no TypeScript types: the little of it used here, typed by hand. */
type OidcProviderModule = {
  default: new (issuer: string, configuration: Record<string, unknown>) => {
    callback(): (request: http.IncomingMessage, response: http.ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): void;
  };
  errors: { InvalidTarget: new (description?: string) => Error };
};

export type OidcAccount = {
  /** The `sub` of its tokens, and the login typed at the provider's login page. */
  id: string;
  name: string;
  roles: string[];
};

export type OidcProviderOptions = {
  /** The one client's id (the console's CONSOLE_OIDC_CLIENT_ID). */
  clientId: string;
  /** The client's one redirect URI: the console's own URL, `${gatewayUrl}/`. */
  redirectUri: string;
  /** The `aud` of every access token (the system's OIDC_AUDIENCE). */
  audience: string;
  accounts: OidcAccount[];
  /** Access token lifetime in seconds (default 600). */
  accessTokenTtlSeconds?: number;
  /** Refresh token lifetime in seconds (default 3600; it also ends with the provider's session). */
  refreshTokenTtlSeconds?: number;
};

export type OidcServer = {
  /** http://127.0.0.1:<port>, exactly as tokens carry it in `iss` and discovery names it. */
  issuer: string;
  /** The resource indicator access tokens are issued for (its audience is `options.audience`). */
  readonly resource: string;
  /** Builds the provider and starts answering with it; called once, before any sign-in. */
  configure(options: OidcProviderOptions): Promise<void>;
  /** What the provider reported failing (server_error and friends), for failure messages. */
  errors(): string[];
  close(): Promise<void>;
};

/** The resource indicator (an absolute URI, as RFC 8707 requires); the audience is separate. */
const RESOURCE = 'urn:medical-visit-workflow:api';

function signingKeys(): Array<Record<string, unknown>> {
  const jwk = (key: KeyObject, kid: string, alg: string) => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  // RS256 first: the ID token's default algorithm (the client's id_token_signed_response_alg);
  // the access tokens name ES256 and get the EC key.
  return [jwk(rsa.privateKey, 'test-rs256', 'RS256'), jwk(ec.privateKey, 'test-es256', 'ES256')];
}

/** Listens on 127.0.0.1:0 now; the provider answers once `configure` has run. */
export async function startOidcServer(): Promise<OidcServer> {
  let handler: ((request: http.IncomingMessage, response: http.ServerResponse) => void) | undefined;
  const reported: string[] = [];
  const server = http.createServer((request, response) => {
    if (handler) return handler(request, response);
    response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('the test provider is not configured yet');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  async function configure(options: OidcProviderOptions): Promise<void> {
    if (handler) throw new Error('the test provider is configured already');
    // A specifier TypeScript does not resolve: the package has no types (see OidcProviderModule).
    const specifier: string = 'oidc-provider';
    const { default: Provider, errors } = (await import(specifier)) as OidcProviderModule;
    const accounts = new Map(options.accounts.map((account) => [account.id, account]));
    const consoleOrigin = new URL(options.redirectUri).origin;

    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: options.clientId,
          // A public client: a browser app keeps no secret.
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: [options.redirectUri],
          application_type: 'web',
        },
      ],
      jwks: { keys: signingKeys() },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      async findAccount(_ctx: unknown, sub: string) {
        const account = accounts.get(sub);
        if (!account) return undefined;
        return {
          accountId: account.id,
          async claims() {
            return { sub: account.id, name: account.name, preferred_username: account.id };
          },
        };
      },
      claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
      // The library's default issues one only for the offline_access scope; here every client
      // allowed the grant gets one, as Keycloak and Entra ID give one without offline_access.
      async issueRefreshToken(_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) {
        return client.grantTypeAllowed('refresh_token');
      },
      // Required for every client; the library's default already requires it for public ones.
      pkce: { required: () => true },
      clientBasedCORS(_ctx: unknown, origin: string, client: { clientId: string }) {
        return client.clientId === options.clientId && origin === consoleOrigin;
      },
      async extraTokenClaims(_ctx: unknown, token: { kind: string; accountId?: string }) {
        if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
        const account = accounts.get(token.accountId);
        return account ? { roles: account.roles, name: account.name } : undefined;
      },
      ttl: {
        AccessToken: options.accessTokenTtlSeconds ?? 600,
        RefreshToken: options.refreshTokenTtlSeconds ?? 3600,
        AuthorizationCode: 60,
        IdToken: 600,
        Interaction: 600,
        Session: 3600,
        Grant: 3600,
      },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // The console sends no `resource`: every authorization request is for the API.
          defaultResource: async () => RESOURCE,
          // Without this, a code asked with the openid scope gives an opaque access token for
          // the userinfo endpoint, not a JWT for the API.
          useGrantedResource: async () => true,
          async getResourceServerInfo(_ctx: unknown, indicator: string) {
            if (indicator !== RESOURCE) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
            return {
              scope: 'api',
              audience: options.audience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: options.accessTokenTtlSeconds ?? 600,
              jwt: { sign: { alg: 'ES256' } },
            };
          },
        },
      },
    });
    for (const event of ['server_error', 'grant.error', 'authorization.error', 'discovery.error', 'interaction.error']) {
      provider.on(event, (...args: unknown[]) => {
        const error = args.find((arg) => arg instanceof Error) as (Error & { error_description?: string }) | undefined;
        reported.push(`${event}: ${error ? `${error.message}${error.error_description ? ` (${error.error_description})` : ''}` : 'no detail'}`);
      });
    }
    handler = provider.callback();
  }

  return {
    issuer,
    resource: RESOURCE,
    configure,
    errors: () => [...reported],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
