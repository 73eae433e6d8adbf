import { demoIntegrationScopes, scopeWithin, type Role } from '@medical/contracts';

/**
 * The development identity provider's demo clients: the other systems of a hospital, which sign
 * in with OAuth 2 client credentials (RFC 6749 §4.4) rather than as a person, each with the
 * secret DEV_PASSWORD ("demo"):
 *
 * - `demo-integration`: an EHR, a laboratory or radiology system reading the FHIR API, with the
 *   scopes it may ask for (the contracts' demoIntegrationScopes; all of them when it asks none);
 * - `interop`: the interop service's own account, which performs a laboratory's results on the
 *   examination service (a route its role allows) and needs no scope.
 *
 * The client authenticates with HTTP Basic (RFC 6749 §2.3.1, the one every server supports) or
 * with `client_id` and `client_secret` in the body, never both. Errors are OAuth's (§5.2), not
 * problem+json: a client library reads `error` to know what went wrong.
 */

type DemoClient = { name: string; role: Role; scopes: readonly string[] };

const demoClients = {
  'demo-integration': { name: 'Demo integration client', role: 'integration', scopes: demoIntegrationScopes },
  interop: { name: 'Interoperability service', role: 'integration', scopes: [] },
} as const satisfies Record<string, DemoClient>;

export type DemoClientId = keyof typeof demoClients;

export function demoClient(clientId: DemoClientId): DemoClient {
  return demoClients[clientId];
}

/** The fields of a token request other than the password sign-in's (RFC 6749 §4.4.2, §2.3.1). */
export type TokenGrantFields = { grant_type: string; scope?: string; client_id?: string; client_secret?: string };

export type OAuthError = {
  status: 400 | 401;
  error: 'invalid_request' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope';
  description: string;
};

const invalidClient = (description: string): OAuthError => ({ status: 401, error: 'invalid_client', description });
const invalidRequest = (description: string): OAuthError => ({ status: 400, error: 'invalid_request', description });

/** A form-urlencoded value (`+` is a space), or undefined when a `%` escape is malformed. */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The client id and secret of `Authorization: Basic`: base64 of `id:secret`, each of them
 * form-urlencoded first (RFC 6749 §2.3.1), so a `:` in an id arrives as `%3A`.
 */
function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/]+=*)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const id = formDecoded(decoded.slice(0, colon));
  const secret = formDecoded(decoded.slice(colon + 1));
  return id && secret !== undefined ? { id, secret } : undefined;
}

/** The credentials the request presents, by one method only (RFC 6749 §2.3). */
function presentedCredentials(authorization: string | undefined, fields: TokenGrantFields): { id: string; secret: string } | OAuthError {
  if (authorization && /^Basic(\s|$)/i.test(authorization)) {
    if (fields.client_secret !== undefined) return invalidRequest('the client authenticated twice (HTTP Basic and client_secret): use one');
    const basic = basicCredentials(authorization);
    if (!basic) return invalidClient('the Authorization header is not valid HTTP Basic credentials');
    if (fields.client_id !== undefined && fields.client_id !== basic.id) return invalidRequest('client_id names another client than the Authorization header');
    return basic;
  }
  if (fields.client_id === undefined || fields.client_secret === undefined) {
    return invalidClient('client authentication is required: HTTP Basic, or client_id and client_secret');
  }
  return { id: fields.client_id, secret: fields.client_secret };
}

/**
 * The demo client the request authenticates as, or why not. The secret is checked for unknown
 * clients too: the answer and its timing say nothing about which clients exist.
 */
export function authenticateClient(authorization: string | undefined, fields: TokenGrantFields, isSecret: (given: string) => boolean): DemoClientId | OAuthError {
  const credentials = presentedCredentials(authorization, fields);
  if ('error' in credentials) return credentials;
  const secretOk = isSecret(credentials.secret);
  const known = Object.hasOwn(demoClients, credentials.id) ? (credentials.id as DemoClientId) : undefined;
  return known && secretOk ? known : invalidClient('unknown client or wrong secret');
}

/** The grant this provider issues to clients; any other is answered `unsupported_grant_type`. */
export function checkGrantType(grantType: string): OAuthError | undefined {
  if (grantType === 'client_credentials') return undefined;
  return { status: 400, error: 'unsupported_grant_type', description: `grant_type ${grantType} is not supported for clients: use client_credentials` };
}

/**
 * The scopes a client's token carries: those it asks for (`scope`, space-separated), each within
 * the client's allowed scopes, or all of those when it asks none (RFC 6749 §3.3 lets the server
 * choose a default).
 */
export function scopesToGrant(clientId: DemoClientId, requested: string | undefined): string[] | OAuthError {
  const allowed = demoClients[clientId].scopes;
  const asked = [...new Set((requested ?? '').split(' ').filter((scope) => scope !== ''))];
  if (asked.length === 0) return [...allowed];
  const refused = asked.find((scope) => !scopeWithin(scope, allowed));
  if (refused !== undefined) return { status: 400, error: 'invalid_scope', description: `the client ${clientId} may not ask for the scope ${refused}` };
  return asked;
}
