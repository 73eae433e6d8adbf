/**
 * Whether `route` is one of `patterns`: exactly, or under a pattern ending in `/*`, which covers
 * its prefix and every route beneath it (`/docs/*` covers `/docs`, `/docs/json`). `route` is a
 * Fastify route pattern (what the router matched) or an OpenAPI path: both keep the literal
 * prefixes these patterns name. One reading, so the public routes the authentication hook lets
 * through are exactly the ones the API documents leave without the bearer scheme.
 */
export function matchesRoutePattern(route: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => (pattern.endsWith('/*') ? route === pattern.slice(0, -2) || route.startsWith(pattern.slice(0, -1)) : route === pattern));
}
