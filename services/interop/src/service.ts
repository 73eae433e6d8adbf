import { eventsConsumedBy } from '@medical/contracts';
import { retentionMs, type App, type ServiceContext, type ServiceDefinition } from '@medical/platform';
import { DeliveryWorker, type Channel } from './app/delivery-worker.ts';
import { hl7Channel, hl7Feed } from './app/hl7-feed.ts';
import { resultHandler } from './app/hl7-results.ts';
import { projectionEffect } from './app/projection.ts';
import { notifySubscribers, restHookChannel } from './app/subscriptions.ts';
import { loadInteropConfig, type Hl7Config, type InteropConfig } from './config.ts';
import { purgeDelivered } from './db/deliveries.ts';
import { migrations } from './db/migrations.ts';
import type { InteropDatabase } from './db/schema.ts';
import { fhirRoutes } from './http/fhir-routes.ts';
import { startMllpListener } from './hl7/index.ts';

const HOUR_MS = 60 * 60 * 1000;

/**
 * The hospital's other systems' way in and out: FHIR R4 resources of the workflow (read, search,
 * subscriptions) and HL7 v2 feeds, all made from a projection of the events of its own, so an
 * electronic medical record or a laboratory asking never loads the services that run the clinic,
 * and one that is down never holds them up: what it has not taken waits in the delivery queue.
 */
export function interopService(env: Record<string, string | undefined> = process.env): ServiceDefinition<InteropDatabase> {
  // Read when the service starts, not when it is defined: `npm run migrate` and the purge take the definition for its tables alone.
  let loaded: InteropConfig | undefined;
  const settings = () => (loaded ??= loadInteropConfig(env));
  // Made with the routes (they run first), woken by the consumer's commits that queued a message.
  let worker: DeliveryWorker | undefined;
  const wake = () => worker?.wake();
  return {
    name: 'interop',
    defaultPort: 8086,
    title: 'Interoperability service',
    description: 'FHIR R4 (Patient, Encounter, ServiceRequest, Task, DiagnosticReport, Observation, Subscription) and HL7 v2 over MLLP, made from the events of the visits.',
    migrations,
    routes: async (app, context) => {
      const config = settings();
      await fhirRoutes(app, context, { baseUrl: config.fhirBaseUrl, allowedEndpoints: config.subscriptionEndpoints });
      worker = startDeliveries(app, context, config);
      if (config.hl7.inbound) await listenForResults(app, context, config.hl7.parties, config.hl7.inbound);
    },
    consumer: {
      handles: eventsConsumedBy('interop'),
      effect: (context) => {
        const { hl7 } = settings();
        return projectionEffect(context, [notifySubscribers(context, wake), ...(hl7.outbound ? [hl7Feed(context, hl7.parties, wake)] : [])]);
      },
    },
    // Delivered messages are a copy of what the other system holds: kept a week (the retention table's interop-deliveries).
    housekeeping: ({ database }) => [
      { what: 'purged delivered messages past their retention', everyMs: HOUR_MS, run: () => purgeDelivered(database.db, new Date(Date.now() - retentionMs('interop-deliveries', env)).toISOString()) },
    ],
    // The FHIR routes say which visits each answer showed (recordAnswered): their bodies are FHIR, not the API's resources.
    answeredVisit: () => undefined,
  };
}

/** The delivery queue's worker, over the channels configured (rest-hook always, HL7 with an engine), until the app closes. */
function startDeliveries(app: App, context: ServiceContext<InteropDatabase>, config: InteropConfig): DeliveryWorker {
  const { hl7 } = config;
  const channels: Channel[] = [restHookChannel(context)];
  if (hl7.outbound) channels.push(hl7Channel(context, hl7.outbound, hl7.parties));
  const worker = new DeliveryWorker({ db: context.database.db, channels, logger: context.logger, registry: context.metrics.registry, ...config.delivery });
  worker.start();
  app.addHook('onClose', () => worker.stop());
  return worker;
}

/** The laboratories' MLLP listener (HL7_LISTEN_PORT), until the app closes. */
async function listenForResults(app: App, context: ServiceContext<InteropDatabase>, parties: Hl7Config['parties'], inbound: NonNullable<Hl7Config['inbound']>): Promise<void> {
  const onError = (error: Error) => context.logger.warn({ err: error }, 'an HL7 connection ended without an answer');
  const listener = await startMllpListener({ host: inbound.host, port: inbound.port, onError }, resultHandler(context, parties, inbound));
  context.logger.info({ port: listener.port }, 'taking laboratory results over MLLP');
  app.addHook('onClose', () => listener.close());
}
