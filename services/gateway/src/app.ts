import path from 'node:path';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { Gauge } from 'prom-client';
import { MULTIPART_OVERHEAD_BYTES } from '@medical/contracts';
import { createApp, createOidcVerifier, DEV_ISSUER_PATH, HttpProblem, installAuthentication, PUBLIC_ROUTES, tracingOff, type App, type ServiceMetrics, type Tracing } from '@medical/platform/edge';
import type { GatewayConfig } from './config.ts';
import { registerConsole } from './console.ts';
import { createDevIdentityProvider } from './dev-identity-provider.ts';
import { documentPath, registerUpstream } from './proxy.ts';
import { ReplicaSet } from './replicas.ts';
import { installSecurityHeaders } from './security-headers.ts';

/**
 * The gateway's HTTP app: the platform's app (problem+json errors, request ids, logs, /healthz,
 * /readyz, /metrics, 404s) with one proxy per service and an index of the services' API documents.
 */
export async function buildGateway(config: GatewayConfig, metrics: ServiceMetrics, tracing: Tracing = tracingOff()): Promise<App> {
  const app = await createApp({
    serviceName: 'gateway',
    title: 'Medical visit gateway',
    description: 'The one entry point to the reception, diagnosis, examination and patient-management APIs.',
    logLevel: config.logLevel,
    metrics,
    tracing,
    // The gateway documents no routes of its own, so it serves no generated docs.
    documentation: false,
    // Ready as soon as it listens: checking the upstreams here would take every route out of the
    // load balancer when one service is down, the opposite of fault isolation. A down service is
    // answered per route with a 503 instead.
    readiness: [],
  });

  await installHardening(app, config);
  // The gateway checks every proxied request on its concrete path (its routes are wildcards), so a
  // request without a token or a role never reaches a service; each service checks again.
  // The console's files and settings are registered before the routes below but made public
  // here: authentication is one hook for the whole app.
  const consoleRoutes = await registerConsole(app, config);
  installAuthentication(app, {
    publicRoutes: [...PUBLIC_ROUTES, ...consoleRoutes],
    verifier: createOidcVerifier(config.auth),
  });
  if (config.auth.mode === 'dev') {
    // Refuses NODE_ENV=production itself too. The key is kept, so a restart keeps tokens valid.
    const provider = await createDevIdentityProvider({ config: config.auth, keyFile: path.join(config.dataDir, 'auth', 'dev-signing-key.json') });
    provider.register(app);
  }

  // Which replicas get traffic, for dashboards and alerts: a replica at 0 is out of the rotation.
  // `service` here is the service behind the route; it takes the place of the registry's default
  // service="gateway" label on this one series, whose name already says it is the gateway's.
  const healthy = new Gauge({
    name: 'gateway_upstream_healthy',
    help: 'Whether the gateway sends traffic to an upstream replica (1) or holds it out as unhealthy (0)',
    labelNames: ['service', 'upstream'] as const,
    registers: [metrics.registry],
  });
  const replicaSets: ReplicaSet[] = [];
  for (const upstream of config.upstreams) {
    const replicas = new ReplicaSet(upstream, {
      intervalMs: config.healthIntervalMs,
      timeoutMs: config.healthTimeoutMs,
      gauge: healthy,
      log: app.log,
    });
    replicaSets.push(replicas);
    await registerUpstream(app, upstream, replicas, config.upstreamTimeoutMs, tracing.tracer, config.attachmentMaxBytes + MULTIPART_OVERHEAD_BYTES);
  }
  // Checks run while the app does: from ready (listen, or a first inject) until close.
  app.addHook('onReady', async () => {
    for (const replicas of replicaSets) replicas.start();
  });
  app.addHook('onClose', async () => {
    for (const replicas of replicaSets) replicas.stop();
  });

  // Each service documents its own API; the gateway only says which service answers which paths
  // and where its document is. A valid (empty) OpenAPI document, so tools pointed at it do not choke.
  const index = {
    openapi: '3.1.0',
    info: {
      title: 'Medical visit gateway',
      version: '0.1.0',
      description: 'Routes each path prefix to the service that owns it; x-services lists where each service documents its API.',
    },
    paths: {},
    'x-services': config.upstreams.map((upstream) => ({
      service: upstream.service,
      paths: [upstream.prefix, `${upstream.prefix}/*`],
      openapi: documentPath(upstream),
    })),
  };
  app.get('/openapi.json', async () => index);

  return app;
}

/** Routes a limit would only harm: probes and scrapes come often, from few addresses, with no token. */
const unlimitedRoutes = new Set(['/healthz', '/readyz', '/metrics']);
const TOKEN_ROUTE = `${DEV_ISSUER_PATH}/token`;

/**
 * Security headers, CORS and rate limits, in the order their hooks must run: headers first (so
 * every answer has them, refusals included), then the CORS preflight (answered before
 * authentication: a browser never sends a token with it), then authentication (installed by the
 * caller), and the rate limit last, as route hooks, so it counts per verified subject.
 */
async function installHardening(app: App, config: GatewayConfig): Promise<void> {
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

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id', 'traceparent'],
      exposedHeaders: ['location', 'x-request-id', 'retry-after', 'www-authenticate', 'content-disposition'],
      // Bearer tokens, not cookies: the browser need not send credentials of its own.
      credentials: false,
      maxAge: 600,
      strictPreflight: false,
    });
  }

  if (config.rateLimitPerMinute > 0 || config.tokenRateLimitPerMinute > 0) {
    const isTokenRoute = (request: FastifyRequest) => request.routeOptions.url === TOKEN_ROUTE;
    await app.register(rateLimit, {
      global: true,
      timeWindow: 60_000,
      // Sign-in attempts are counted per address on their own, far tighter; everything else per
      // verified subject (set by authentication, which runs before this route hook), else per address.
      keyGenerator: (request) => (isTokenRoute(request) ? `token:${request.ip}` : request.actor ? `subject:${request.actor.subject}` : `ip:${request.ip}`),
      max: (request) => (isTokenRoute(request) ? config.tokenRateLimitPerMinute : config.rateLimitPerMinute),
      allowList: (request) => {
        if (unlimitedRoutes.has(request.routeOptions.url ?? '')) return true;
        return (isTokenRoute(request) ? config.tokenRateLimitPerMinute : config.rateLimitPerMinute) === 0;
      },
      addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
      addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
      // Thrown, then answered as problem+json by the app's error handler.
      errorResponseBuilder: (_request, context) =>
        new HttpProblem({
          status: 429,
          title: 'Too Many Requests',
          detail: `more than ${context.max} requests in a minute; retry in ${context.after}`,
        }),
    });
  }
}
