import type { ServiceDefinition } from '@medical/platform';
import { accessLogKeeper } from './app/access-log-keeper.ts';
import { projectionEffect } from './app/projection.ts';
import { registerQueueGauges } from './app/waiting-room-metrics.ts';
import { migrations } from './db/migrations.ts';
import { compactVisitCounts } from './db/repository.ts';
import type { PatientManagementDatabase } from './db/schema.ts';
import { accessLogRoute } from './http/access-log-route.ts';
import { queueRoutes } from './http/queue-routes.ts';
import { visitRoutes } from './http/routes.ts';
import { visitStreamRoute } from './http/stream-route.ts';
import { ticketRoute } from './http/ticket-route.ts';
import { waitingTimesRoute } from './http/waiting-times-route.ts';

/** How often the rows of changes of the list totals are folded (PostgreSQL). */
const VISIT_COUNT_FOLD_INTERVAL_MS = 5_000;

export const patientManagementService: ServiceDefinition<PatientManagementDatabase> = {
  name: 'patient-management',
  defaultPort: 8085,
  title: 'Patient management service',
  description:
    "The read model (CQRS) of every visit, built only from the events of the other services, the waiting rooms (the departments' queues, the patients' tickets, the waits of each stage), and the access log of every patient.",
  migrations,
  routes: async (app, context) => {
    await visitStreamRoute(app, context);
    // Beside the visit by its id: the router prefers the literal `waiting-times` to `:receptionId`.
    waitingTimesRoute(app, context);
    visitRoutes(app, context);
    accessLogRoute(app, context);
    await queueRoutes(app, context);
    ticketRoute(app, context);
    registerQueueGauges(context);
  },
  consumer: { handles: 'all', effect: (context) => projectionEffect(context) },
  // The access log of every service and the gateway is kept here, beside the visits it names.
  accessLogKeeper,
  // PostgreSQL keeps the list totals as rows of changes (migration 0011): folded every few
  // seconds, so a page's total adds up a few rows. SQLite keeps one row per scope.
  housekeeping: ({ database }) =>
    database.kind === 'postgres' ? [{ what: 'folded visit count changes', everyMs: VISIT_COUNT_FOLD_INTERVAL_MS, run: () => compactVisitCounts(database.db), logLevel: 'debug' }] : [],
};
