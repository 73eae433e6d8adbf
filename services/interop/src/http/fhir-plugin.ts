import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fhirScopesFor, scopePermits, type ScopeAccess } from '@medical/contracts';
import { authProblemTypes, grantedRoles, grantedScopes, HttpProblem } from '@medical/platform';

/** FHIR's JSON media type: what every answer under /fhir/R4 is, and what a body may be besides plain JSON. */
export const FHIR_JSON = 'application/fhir+json';

/**
 * The parts every FHIR route shares, for an encapsulated scope under /fhir/R4: bodies of
 * `application/fhir+json` read as JSON. (Every error under /fhir/ is an OperationOutcome: the
 * platform's fhirOutcomes, registered by the service.)
 */
export function fhirConventions(scope: FastifyInstance): void {
  const json = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser(FHIR_JSON, { parseAs: 'string' }, (request, body, done) => json(request, body as string, done));
}

/** An answer of a FHIR resource or bundle. */
export function sendFhir(reply: FastifyReply, resource: object, status = 200): FastifyReply {
  return reply.code(status).type(`${FHIR_JSON}; charset=utf-8`).send(JSON.stringify(resource));
}

/**
 * The server's absolute base as the client reached it, for a searchset's fullUrls and links:
 * FHIR_BASE_URL when the operator sets it, else the address the gateway says it was called at.
 */
export function fhirBaseOf(request: FastifyRequest, configured: string | undefined): string {
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  const header = (name: string) => {
    const value = request.headers[name];
    return (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  };
  const proto = header('x-forwarded-proto') ?? request.protocol;
  const host = header('x-forwarded-host') ?? request.headers.host ?? 'localhost';
  return `${proto}://${host}/fhir/R4`;
}

/**
 * Refuses a request whose token's scopes do not reach this resource type: the role lets a system
 * through to the FHIR API at all (the permission table), its SMART scopes say which resources it
 * may read or write there (contracts smart-scopes.ts).
 */
export function requireScope(request: FastifyRequest, resourceType: string, access: ScopeAccess): void {
  const scopes = fhirScopesFor(grantedRoles(request), grantedScopes(request));
  if (scopePermits(scopes, resourceType, access)) return;
  throw new HttpProblem({
    status: 403,
    title: 'Forbidden',
    type: authProblemTypes.forbidden,
    detail: `the token's scopes do not allow ${access === 'read' ? 'reading' : 'writing'} ${resourceType} (system/${resourceType}.${access} is needed)`,
  });
}
