import { Gauge } from 'prom-client';
import { MULTIPART_OVERHEAD_BYTES } from '@medical/contracts';
import { createApp, type App } from '@medical/platform/http/app';
import type { ServiceMetrics } from '@medical/platform/metrics';
import { tracingOff, type Tracing } from '@medical/platform/telemetry/tracing';
import type { GatewayConfig } from './config.ts';
import { documentPath, registerUpstream } from './proxy.ts';
import { ReplicaSet } from './replicas.ts';

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
