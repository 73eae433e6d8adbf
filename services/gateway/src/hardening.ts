import cors from '@fastify/cors';
import rateLimit, { type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { DEV_ISSUER_PATH, HttpProblem, type App } from '@medical/platform/edge';
import type { GatewayConfig } from './config.ts';
import { installSecurityHeaders } from './security-headers.ts';

/**
 * The gateway's hardening: security headers, CORS and rate limits. Each is a plugin that reaches
 * the whole app (fastify-plugin), since each must apply to every route, the proxied ones included;
 * buildGateway registers them in the order their hooks must run.
 */

type HardeningOptions = { config: GatewayConfig };

/** Routes a limit would only harm: probes and scrapes come often, from few addresses, with no token. */
const unlimitedRoutes = new Set(['/healthz', '/readyz', '/metrics']);
const TOKEN_ROUTE = `${DEV_ISSUER_PATH}/token`;

/** Helmet's headers on every answer: registered before the hooks that may refuse, so refusals carry them too. */
export const securityHeaders = fastifyPlugin(
  async (app: App, { config }: HardeningOptions) => {
    installSecurityHeaders(app, {
      // A JSON API: nothing it answers should run, load or be framed as a page.
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      },
      crossOriginResourcePolicy: { policy: config.corsOrigins.length > 0 ? 'cross-origin' : 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
      frameguard: { action: 'deny' },
    });
  },
  { name: 'gateway-security-headers' },
);

/**
 * CORS for the origins of CORS_ORIGINS, and none without any. Registered before authentication, so
 * a preflight is answered before it: a browser never sends a token with one.
 */
export const corsPolicy = fastifyPlugin(
  async (app: App, { config }: HardeningOptions) => {
    if (config.corsOrigins.length === 0) return;
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id', 'traceparent', 'break-glass'],
      exposedHeaders: ['location', 'x-request-id', 'retry-after', 'www-authenticate', 'content-disposition'],
      // Bearer tokens, not cookies: the browser need not send credentials of its own.
      credentials: false,
      maxAge: 600,
      strictPreflight: false,
    });
  },
  { name: 'gateway-cors' },
);

/**
 * Rate limits, unless all are off. Two counts:
 * - per client address, of every request, as an app hook registered before authentication: floods
 *   of 401, 403 and 404 answers count too (a token or path guesser is slowed before any token is
 *   checked). Generous, since a hospital's wards often reach the gateway from few addresses; the
 *   address is the client's behind the mesh's proxies (TRUST_PROXY_HOPS).
 * - per verified subject (else per address), as route hooks, which come after the app's hooks
 *   whatever their order: after authentication, so they know the subject. Only routes registered
 *   after this plugin are limited, so it comes before the console and the proxies.
 */
export const rateLimits = fastifyPlugin(
  async (app: App, { config }: HardeningOptions) => {
    if (config.rateLimitPerMinute === 0 && config.tokenRateLimitPerMinute === 0 && config.addressRateLimitPerMinute === 0) return;
    await app.register(rateLimit, rateLimitOptions(config));
    if (config.addressRateLimitPerMinute > 0) app.addHook('onRequest', limitPerAddress(app, config.addressRateLimitPerMinute));
  },
  { name: 'gateway-rate-limits' },
);

/**
 * The count per address, as an app hook. Built with createRateLimit, which only counts: the
 * plugin's ready-made handler marks the request as limited, and the per-subject limit after it
 * would then not run at all.
 */
function limitPerAddress(app: App, max: number) {
  const count = app.createRateLimit({
    timeWindow: 60_000,
    max,
    keyGenerator: (request) => `address:${request.ip}`,
    allowList: (request) => unlimitedRoutes.has(request.routeOptions.url ?? ''),
  });
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const counted = await count(request);
    if (counted.isAllowed || !counted.isExceeded) return;
    reply.header('retry-after', String(counted.ttlInSeconds));
    throw new HttpProblem({ status: 429, title: 'Too Many Requests', detail: `more than ${counted.max} requests in a minute from this address; retry in ${counted.ttlInSeconds} seconds` });
  };
}

function rateLimitOptions(config: GatewayConfig): RateLimitPluginOptions {
  const isTokenRoute = (request: FastifyRequest) => request.routeOptions.url === TOKEN_ROUTE;
  const limitOf = (request: FastifyRequest) => (isTokenRoute(request) ? config.tokenRateLimitPerMinute : config.rateLimitPerMinute);
  return {
    global: true,
    timeWindow: 60_000,
    // Sign-in attempts are counted per address on their own, far tighter; everything else per
    // verified subject (set by authentication, which runs before this route hook), else per address.
    keyGenerator: (request) => (isTokenRoute(request) ? `token:${request.ip}` : request.actor ? `subject:${request.actor.subject}` : `ip:${request.ip}`),
    max: limitOf,
    allowList: (request) => unlimitedRoutes.has(request.routeOptions.url ?? '') || limitOf(request) === 0,
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    // Thrown, then answered as problem+json by the app's error handler.
    errorResponseBuilder: (_request, context) =>
      new HttpProblem({
        status: 429,
        title: 'Too Many Requests',
        detail: `more than ${context.max} requests in a minute; retry in ${context.after}`,
      }),
  };
}
