import path from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import fastifyPlugin from 'fastify-plugin';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { MULTIPART_OVERHEAD_BYTES } from '@medical/contracts';
import { asyncApiDocument } from '@medical/contracts/asyncapi';
import {
  authentication,
  createApp,
  createOidcVerifier,
  fhirOutcomes,
  PUBLIC_ROUTES,
  refusalLogging,
  tracingOff,
  type App,
  type AppOptions,
  type ServiceMetrics,
  type Tracing,
} from '@medical/platform/edge';
import type { GatewayConfig } from './config.ts';
import { registerConsole } from './console.ts';
import { createDevIdentityProvider } from './dev-identity-provider.ts';
import { corsPolicy, rateLimits, securityHeaders } from './hardening.ts';
import { documentPath, registerUpstream } from './proxy.ts';
import { ReplicaSet } from './replicas.ts';

/**
 * The gateway's HTTP app: the platform's app (problem+json errors, request ids, logs, /healthz,
 * /readyz, /metrics, 404s) with one proxy per service and an index of the services' API documents.
 *
 * Its parts are registered in the order their hooks must run on a request: security headers first
 * (so every answer has them, refusals included), then the CORS preflight (answered before
 * authentication: a browser never sends a token with it), then authentication; the rate limit's
 * hooks are route hooks, which run after all of these, so it counts per verified subject. The
 * console comes before authentication because its routes are what authentication must leave public.
 */
export async function buildGateway(config: GatewayConfig, metrics: ServiceMetrics, tracing: Tracing = tracingOff()): Promise<App> {
  const app = await createApp(gatewayAppOptions(config, metrics, tracing));
  await app.register(securityHeaders, { config });
  // The FHIR API's errors, the gateway's refusals among them, as FHIR's OperationOutcome.
  await app.register(fhirOutcomes, { prefix: '/fhir/' });
  await app.register(corsPolicy, { config });
  await app.register(rateLimits, { config });
  const consoleRoutes = await registerConsole(app, config);
  // Every proxied request is checked on its concrete path (the routes are wildcards), so a request
  // without a token or a role never reaches a service; each service checks again.
  await app.register(authentication, { publicRoutes: [...PUBLIC_ROUTES, ...consoleRoutes], verifier: createOidcVerifier(config.auth) });
  // A request refused here never reaches a service: its access record is the gateway's to send.
  await app.register(refusalLogging, { service: 'gateway', transport: config.accessLog, logger: app.log as Logger, metrics, shutdownTimeoutMs: config.shutdownTimeoutMs });
  await app.register(devIdentityProvider, { config });
  await app.register(upstreamProxies, { config, metrics, tracer: tracing.tracer });
  await app.register(servicesIndex, { config });
  return app;
}

function gatewayAppOptions(config: GatewayConfig, metrics: ServiceMetrics, tracing: Tracing): AppOptions {
  return {
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
    trustProxyHops: config.trustProxyHops,
    // The request id is the gateway's own; a client's X-Request-Id is kept beside it.
    edge: true,
  };
}

/** The development identity provider's routes, with AUTH_MODE=dev only. */
const devIdentityProvider = fastifyPlugin(
  async (app: App, { config }: { config: GatewayConfig }) => {
    if (config.auth.mode !== 'dev') return;
    // Refuses NODE_ENV=production itself too. The key is kept, so a restart keeps tokens valid.
    const provider = await createDevIdentityProvider({ config: config.auth, keyFile: path.join(config.dataDir, 'auth', 'dev-signing-key.json') });
    provider.register(app);
  },
  { name: 'gateway-dev-identity-provider' },
);

/** One proxy per upstream service, each over the replicas whose health is checked while the app runs. */
const upstreamProxies = fastifyPlugin(
  async (app: App, { config, metrics, tracer }: { config: GatewayConfig; metrics: ServiceMetrics; tracer: Tracer }) => {
    const healthy = replicaHealthGauge(metrics);
    const replicaSets: ReplicaSet[] = [];
    for (const upstream of config.upstreams) {
      const replicas = new ReplicaSet(upstream, {
        intervalMs: config.healthIntervalMs,
        timeoutMs: config.healthTimeoutMs,
        gauge: healthy,
        log: app.log,
      });
      replicaSets.push(replicas);
      await registerUpstream(app, upstream, replicas, config.upstreamTimeoutMs, tracer, config.attachmentMaxBytes + MULTIPART_OVERHEAD_BYTES);
    }
    // Checks run while the app does: from ready (listen, or a first inject) until close.
    app.addHook('onReady', async () => {
      for (const replicas of replicaSets) replicas.start();
    });
    app.addHook('onClose', async () => {
      for (const replicas of replicaSets) replicas.stop();
    });
  },
  { name: 'gateway-upstream-proxies' },
);

/**
 * Which replicas get traffic, for dashboards and alerts: a replica at 0 is out of the rotation.
 * `service` here is the service behind the route; it takes the place of the registry's default
 * service="gateway" label on this one series, whose name already says it is the gateway's.
 */
function replicaHealthGauge(metrics: ServiceMetrics): Gauge<'service' | 'upstream'> {
  return new Gauge({
    name: 'gateway_upstream_healthy',
    help: 'Whether the gateway sends traffic to an upstream replica (1) or holds it out as unhealthy (0)',
    labelNames: ['service', 'upstream'] as const,
    registers: [metrics.registry],
  });
}

/**
 * Each service documents its own API; the gateway only says which service answers which paths
 * and where its document is. A valid (empty) OpenAPI document, so tools pointed at it do not choke.
 */
const servicesIndex = fastifyPlugin(
  async (app: App, { config }: { config: GatewayConfig }) => {
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
        paths: [...upstream.prefixes.flatMap((prefix) => [prefix, `${prefix}/*`]), ...(upstream.routes ?? [])],
        openapi: documentPath(upstream),
      })),
    };
    app.get('/openapi.json', async () => index);
    // The events' contract beside the API's: the AsyncAPI 3.0 document the contracts make (docs/asyncapi.json is a copy).
    const events = asyncApiDocument({ version: index.info.version, topic: config.accessLog.topic, deadLetterTopic: config.accessLog.deadLetterTopic });
    app.get('/asyncapi.json', { schema: { hide: true } }, async () => events);
  },
  { name: 'gateway-services-index' },
);
