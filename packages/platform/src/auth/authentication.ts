import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { permissionFor, publicApiRoutes, type Permission, type Role } from '@medical/contracts';
import { sendProblem } from '../http/problem-answers.ts';
import { HttpProblem, problemTypes } from '../http/problem.ts';
import { matchesRoutePattern } from '../http/route-patterns.ts';
import { InvalidTokenError, IssuerUnavailableError, type TokenVerifier, type VerifiedIdentity } from './oidc-verifier.ts';
import './request-actor.ts';
import type {} from '../access/access-records.ts';

/**
 * Authentication and role checks for every API route, as one onRequest hook: it runs before the
 * body is read or parsed, so nobody without a valid token gets a request body buffered or
 * validated, let alone a handler run. The same hook serves the gateway (whose proxy routes are
 * wildcards: the concrete path is what is checked) and each service (which checks again, so a
 * service reached past the gateway, from inside the cluster, is no softer).
 *
 * Register it right after createApp (after the tracing hook, so refusals are traced too) and
 * before the routes. Answers, as problem+json:
 * - 404 for a method and path the permission table does not know: outside the API, as today;
 * - 401 with `WWW-Authenticate: Bearer ...` (RFC 6750 §3) without a bearer token or with one
 *   that does not verify;
 * - 503 with Retry-After while the identity provider's keys cannot be fetched: the token may be
 *   fine, so the client should retry, not sign in again;
 * - 403 when none of the token's roles may call the route.
 * Otherwise `request.actor` names who acts, with the role that grants the route.
 */

/**
 * The route patterns anyone may call: probes and scrapes (a load balancer has no token), the API
 * documents, the development identity provider (the token endpoint cannot require a token), and
 * the API's public routes (the contracts' publicApiRoutes: a patient's ticket, by its unguessable
 * token). A pattern ending in `/*` covers every route under it. The gateway adds its console's files.
 */
export const PUBLIC_ROUTES: readonly string[] = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/openapi/*',
  '/asyncapi.json',
  '/docs',
  '/docs/*',
  '/auth/token',
  '/auth/jwks',
  '/auth/.well-known/openid-configuration',
  ...publicApiRoutes.map((route) => route.path),
];

export type AuthenticationOptions = {
  verifier: TokenVerifier;
  /** Route patterns without authentication (default PUBLIC_ROUTES). */
  publicRoutes?: readonly string[];
  /** The permission table's lookup (default the contracts' one); tests pass their own. */
  permissionFor?: (method: string, concretePath: string) => Permission | undefined;
  /** Seconds a client should wait before retrying while the issuer is unavailable. */
  retryAfterSeconds?: number;
};

/** The `realm` of every challenge: names the protection space, nothing secret. */
const REALM = 'medical-visit-workflow';

export const authProblemTypes = {
  unauthorized: 'urn:medical:problem:unauthorized',
  forbidden: 'urn:medical:problem:forbidden',
} as const;

/** A challenge header value; descriptions are ours (never the token's text), so quoting is safe. */
function challenge(error?: string, description?: string): string {
  const params = [`realm="${REALM}"`];
  if (error) params.push(`error="${error}"`);
  if (description) params.push(`error_description="${description.replace(/["\\]/g, '')}"`);
  return `Bearer ${params.join(', ')}`;
}

/** RFC 6750 §2.1: `Bearer` (any case), one space or more, a b64token. */
const bearerPattern = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i;

type Credentials = { token: string } | { missing: true } | { malformed: true };

function credentials(header: string | undefined): Credentials {
  // No Authorization, or one for another scheme (Basic, say): no bearer credentials at all, which
  // RFC 6750 §3.1 answers with a bare challenge, no error code.
  if (!header || !/^Bearer(\s|$)/i.test(header)) return { missing: true };
  const match = bearerPattern.exec(header);
  return match ? { token: match[1]! } : { malformed: true };
}

function unauthorized(reply: FastifyReply, request: FastifyRequest, detail: string, error?: string) {
  request.refusedWith = 401;
  reply.header('www-authenticate', challenge(error, error ? detail : undefined));
  return sendProblem(reply, request, new HttpProblem({ status: 401, title: 'Unauthorized', type: authProblemTypes.unauthorized, detail }));
}

/**
 * The role a request acts in: the first of the route's roles the user holds. The table lists the
 * specific roles before admin, so a doctor who is also admin prescribes as doctor, and the audit
 * trail says so; admin acts as admin only where it is the user's only way in.
 */
export function pickRole(allowed: readonly Role[], held: readonly Role[]): Role | undefined {
  return allowed.find((role) => held.includes(role));
}

const notFound = (request: FastifyRequest) =>
  new HttpProblem({ status: 404, title: 'Not Found', type: problemTypes.notFound, detail: `no route for ${request.method} ${request.url.split('?')[0]}` });

const issuerUnavailable = () =>
  new HttpProblem({
    status: 503,
    title: 'Service Unavailable',
    type: problemTypes.unavailable,
    detail: 'the identity provider cannot be reached to verify the token; try again shortly',
  });

/** Who the bearer token names, or the answer already sent (401, or 503 while the issuer is away). */
async function verifiedIdentity(request: FastifyRequest, reply: FastifyReply, options: AuthenticationOptions): Promise<VerifiedIdentity | FastifyReply> {
  const found = credentials(request.headers.authorization);
  if ('missing' in found) return unauthorized(reply, request, 'this route needs a bearer token (Authorization: Bearer <token>)');
  if ('malformed' in found) return unauthorized(reply, request, 'the Authorization header is not a valid bearer token', 'invalid_token');
  try {
    return await options.verifier.verify(found.token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return unauthorized(reply, request, error.message, 'invalid_token');
    if (!(error instanceof IssuerUnavailableError)) throw error;
    request.log.warn({ err: error }, 'bearer token not verified: the identity provider is unavailable');
    reply.header('retry-after', String(options.retryAfterSeconds ?? 1));
    return sendProblem(reply, request, issuerUnavailable());
  }
}

function forbidden(reply: FastifyReply, request: FastifyRequest, permission: Permission, identity: VerifiedIdentity): FastifyReply {
  request.refusedWith = 403;
  reply.header('www-authenticate', challenge('insufficient_scope', `needs one of the roles ${permission.roles.join(', ')}`));
  return sendProblem(
    reply,
    request,
    new HttpProblem({
      status: 403,
      title: 'Forbidden',
      type: authProblemTypes.forbidden,
      detail: `${request.method} ${permission.path} needs one of the roles ${permission.roles.join(', ')}; the token grants ${identity.roles.join(', ') || 'none'}`,
    }),
  );
}

/** The hook: public routes pass, unknown routes are a 404, then the token, then the role. */
async function authenticate(request: FastifyRequest, reply: FastifyReply, options: AuthenticationOptions): Promise<FastifyReply | undefined> {
  // Public by the route that matched, never by the raw URL: the router has decoded and resolved
  // the path, so no spelling of a protected path (percent-encoding, dot segments) reads as public.
  const route = request.routeOptions.url;
  if (route !== undefined && matchesRoutePattern(route, options.publicRoutes ?? PUBLIC_ROUTES)) return undefined;
  // Fail closed: a route the table does not name is refused as unknown, even if a service
  // registered it, so a route added without its roles is unusable (and a test says so).
  const permission = (options.permissionFor ?? permissionFor)(request.method, request.url);
  if (!permission) return sendProblem(reply, request, notFound(request));
  const identity = await verifiedIdentity(request, reply, options);
  if (!('roles' in identity)) return identity;
  // Named before the role check, so a refusal's access record says who was refused.
  request.caller = { subject: identity.subject, ...(identity.name ? { name: identity.name } : {}), roles: identity.roles };
  const role = pickRole(permission.roles, identity.roles);
  if (!role) return forbidden(reply, request, permission, identity);
  request.actor = { subject: identity.subject, ...(identity.name ? { name: identity.name } : {}), role };
  request.grantedRoles = identity.roles;
  request.grantedDepartments = identity.departments;
  request.grantedScopes = identity.scopes;
  return undefined;
}

/** The plugin: one onRequest hook on every route of the app (see the module comment). */
export const authentication = fp<AuthenticationOptions>(
  async (app, options) => {
    if (!app.hasRequestDecorator('actor')) app.decorateRequest('actor', undefined);
    if (!app.hasRequestDecorator('grantedRoles')) app.decorateRequest('grantedRoles', undefined);
    if (!app.hasRequestDecorator('grantedDepartments')) app.decorateRequest('grantedDepartments', undefined);
    if (!app.hasRequestDecorator('grantedScopes')) app.decorateRequest('grantedScopes', undefined);
    if (!app.hasRequestDecorator('caller')) app.decorateRequest('caller', undefined);
    if (!app.hasRequestDecorator('refusedWith')) app.decorateRequest('refusedWith', undefined);
    app.addHook('onRequest', (request, reply) => authenticate(request, reply, options));
  },
  { name: 'authentication' },
);

