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
  }
}

export type { Actor };

/** The roles the request's token grants (none on a public route). */
export function grantedRoles(request: { grantedRoles?: readonly Role[] | undefined }): readonly Role[] {
  return request.grantedRoles ?? [];
}
