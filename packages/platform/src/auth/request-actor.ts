import type { Actor } from '@medical/contracts';

/**
 * The person behind a request, set by the authentication plugin once the bearer token is
 * verified; absent on the public routes (health, metrics, docs, the token endpoint).
 */
declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

export type { Actor };
