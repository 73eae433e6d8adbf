import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../telemetry/metrics.ts';
import { sendProblem } from './problem-answers.ts';
import { HttpProblem, problemTypes } from './problem.ts';

export type ReadinessCheck = { name: string; check: () => Promise<void> };

export type OperationsRoutesOptions = { metrics: ServiceMetrics; readiness: ReadinessCheck[] };

const unavailable = (detail: string) => new HttpProblem({ status: 503, title: 'Service Unavailable', type: problemTypes.unavailable, detail });

/**
 * What the platform's probes and scrapers call: /healthz (the process answers), /readyz (every
 * readiness check passes, and the app has not been told to stop accepting: a shutting-down pod
 * leaves its Service before it closes), /metrics (Prometheus). Hidden from the API document.
 */
export const operationsRoutes = fp<OperationsRoutesOptions>(
  async (app, { metrics, readiness }) => {
    let accepting = true;
    app.decorate('stopAccepting', () => {
      accepting = false;
    });
    app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'UP' }));
    app.get('/readyz', { schema: { hide: true } }, async (request, reply) => {
      if (!accepting) return sendProblem(reply, request, unavailable('shutting down'));
      const failing: string[] = [];
      for (const { name, check } of readiness) {
        try {
          await check();
        } catch (error) {
          failing.push(name);
          request.log.warn({ err: error, check: name }, 'readiness check failed');
        }
      }
      if (failing.length > 0) return sendProblem(reply, request, unavailable(`not ready: ${failing.join(', ')}`));
      return { status: 'READY' };
    });
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  },
  { name: 'operations-routes' },
);

declare module 'fastify' {
  interface FastifyInstance {
    stopAccepting(): void;
  }
}
