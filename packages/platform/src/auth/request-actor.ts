import type { Actor, Role } from '@medical/contracts';

/**
 * The person behind a request, set by the authentication plugin once the bearer token is
 * verified; absent on the public routes (health, metrics, docs, the token endpoint).
 */
declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    /** Every role the token grants; `actor.role` is the one the route is acted in. */
    grantedRoles?: readonly Role[];
    /** The departments the token names (department codes). */
    grantedDepartments?: readonly string[];
    /** The OAuth scopes the token carries (a system's SMART scopes, say). */
    grantedScopes?: readonly string[];
  }
}

export type { Actor };

/** The roles the request's token grants (none on a public route). */
export function grantedRoles(request: { grantedRoles?: readonly Role[] | undefined }): readonly Role[] {
  return request.grantedRoles ?? [];
}

/**
 * The departments the request's token names (none on a public route, or when the token has no
 * departments claim): what a department-scoped role, the doctor, may see and act on. Fail closed:
 * no claim is no department, never every one.
 */
export function grantedDepartments(request: { grantedDepartments?: readonly string[] | undefined }): readonly string[] {
  return request.grantedDepartments ?? [];
}

/**
 * The OAuth scopes the request's token carries (none on a public route, or when the token
 * carries none). The token's, as its provider granted them: what they open on the FHIR API is
 * decided with the roles, by the contracts' `fhirScopesFor(grantedRoles(request), grantedScopes(request))`.
 */
export function grantedScopes(request: { grantedScopes?: readonly string[] | undefined }): readonly string[] {
  return request.grantedScopes ?? [];
}
