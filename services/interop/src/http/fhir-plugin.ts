import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fhirScopesFor, scopePermits, type ScopeAccess } from '@medical/contracts';
import { authProblemTypes, grantedRoles, grantedScopes, HttpProblem } from '@medical/platform';
import { operationOutcomeOf, outcomeStatuses, type OutcomeCode } from '../fhir/index.ts';

/** FHIR's JSON media type: what every answer under /fhir/R4 is, and what a body may be besides plain JSON. */
export const FHIR_JSON = 'application/fhir+json';

/**
 * The parts every FHIR route shares, for an encapsulated scope under /fhir/R4: bodies of
 * `application/fhir+json` read as JSON, and every error answered as an OperationOutcome, the
 * platform's problem+json answers (a 401 of the token check, a 404 of no route, a 400) included,
 * so a FHIR client reads each refusal the one way it knows.
 */
export function fhirConventions(scope: FastifyInstance): void {
  const json = scope.getDefaultJsonParser('error', 'error');
  scope.addContentTypeParser(FHIR_JSON, { parseAs: 'string' }, (request, body, done) => json(request, body as string, done));
  scope.addHook('onSend', async (_request, reply, payload) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (!type.startsWith('application/problem+json') || typeof payload !== 'string') return payload;
    reply.type(`${FHIR_JSON}; charset=utf-8`);
    reply.removeHeader('content-length');
    return JSON.stringify(outcomeOfProblem(reply.statusCode, payload));
  });
}

const codeOfStatus = Object.fromEntries(Object.entries(outcomeStatuses).map(([code, status]) => [status, code])) as Record<number, OutcomeCode>;

function outcomeOfProblem(status: number, payload: string) {
  let problem: { detail?: string; title?: string; errors?: { field?: string; message?: string }[] } = {};
  try {
    problem = JSON.parse(payload) as typeof problem;
  } catch {
    // not JSON after all: the status alone says what happened
  }
  const code: OutcomeCode = codeOfStatus[status] ?? (status >= 500 ? 'exception' : 'invalid');
  const field = problem.errors?.[0];
  const diagnostics = field?.message !== undefined ? `${field.field ?? ''} ${field.message}`.trim() : (problem.detail ?? problem.title ?? `HTTP ${status}`);
  return operationOutcomeOf(code, diagnostics, field?.field);
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
