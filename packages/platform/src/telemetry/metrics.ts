import client from 'prom-client';

/**
 * One registry per service instance (not prom-client's global one) so that several services
 * can live in one test process without their series mixing.
 */
export type ServiceMetrics = ReturnType<typeof createMetrics>;

export function createMetrics(serviceName: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service: serviceName });
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequestDuration: new client.Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests served, by route pattern and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventsPublished: new client.Counter({
      name: 'medical_events_published_total',
      help: 'Events handed to the transport by the outbox relay',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsRefused: new client.Counter({
      name: 'medical_events_refused_total',
      help: 'Outbox events the transport refused for good (too large, invalid), set aside in outbox_refused after the retry budget',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsConsumed: new client.Counter({
      name: 'medical_events_consumed_total',
      help: 'Events whose effect was committed (duplicates excluded)',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsFailed: new client.Counter({
      name: 'medical_events_failed_total',
      help: 'Failed attempts at handling an event',
      labelNames: ['type', 'reason'] as const,
      registers: [registry],
    }),
    eventsDeadLettered: new client.Counter({
      name: 'medical_events_dead_lettered_total',
      help: 'Events sent to the dead-letter topic after the retry budget',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    eventsSkipped: new client.Counter({
      name: 'medical_events_skipped_total',
      help: 'Well-formed events this service cannot read (reason unknown-type or unknown-version: a newer producer), skipped without a dead letter',
      labelNames: ['type', 'reason'] as const,
      registers: [registry],
    }),
  };
}

/**
 * Gauges read when Prometheus scrapes: the outbox rows not yet published, and how far the
 * service's consumer group is behind the topic, per partition. A reading that fails (the
 * database or the broker is down) keeps the last value rather than failing the whole scrape:
 * the other series, and the readiness probe, say what is down.
 */
export function registerBacklogGauges(
  metrics: ServiceMetrics,
  sources: {
    outboxPending: () => Promise<number>;
    consumerLag?: () => Promise<Array<{ partition: number; lag: number }>>;
    /** Resolves when the event transport (the Kafka brokers, the embedded log) answers now. */
    transportPing: () => Promise<void>;
    transportKind: string;
    onError: (what: string, error: unknown) => void;
  },
): void {
  // The broker's state is a gauge and an alert, never a readiness condition: the outbox holds the
  // events while it is away, so a pod that cannot reach Kafka still serves its commands and reads.
  new client.Gauge({
    name: 'medical_transport_up',
    help: 'Whether the event transport answered at this scrape (1) or not (0); events wait in the outbox meanwhile',
    labelNames: ['transport'] as const,
    registers: [metrics.registry],
    async collect() {
      try {
        await sources.transportPing();
        this.set({ transport: sources.transportKind }, 1);
      } catch {
        this.set({ transport: sources.transportKind }, 0);
      }
    },
  });
  new client.Gauge({
    name: 'medical_outbox_pending',
    help: 'Events committed to the outbox and not yet published',
    registers: [metrics.registry],
    async collect() {
      try {
        this.set(await sources.outboxPending());
      } catch (error) {
        sources.onError('outbox', error);
      }
    },
  });
  const consumerLag = sources.consumerLag;
  if (!consumerLag) return;
  new client.Gauge({
    name: 'medical_consumer_lag',
    help: "Events in the topic not yet handled by this service's consumer group, per partition",
    labelNames: ['partition'] as const,
    registers: [metrics.registry],
    async collect() {
      try {
        const partitions = await consumerLag();
        this.reset();
        for (const { partition, lag } of partitions) this.set({ partition: String(partition) }, lag);
      } catch (error) {
        sources.onError('consumer lag', error);
      }
    },
  });
}
