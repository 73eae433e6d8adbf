import type { ServiceDefinition } from '@medical/platform';
import { projectionEffect } from './app/projection.ts';
import { migrations } from './db/migrations.ts';
import type { PatientManagementDatabase } from './db/schema.ts';
import { visitRoutes } from './http/routes.ts';
import { visitStreamRoute } from './http/stream-route.ts';

export const patientManagementService: ServiceDefinition<PatientManagementDatabase> = {
  name: 'patient-management',
  defaultPort: 8085,
  title: 'Patient management service',
  description: 'The read model (CQRS) of every visit, built only from the events of the other services.',
  migrations,
  routes: async (app, context) => {
    await visitStreamRoute(app, context);
    visitRoutes(app, context);
  },
  consumer: { handles: 'all', effect: (context) => projectionEffect(context) },
};
