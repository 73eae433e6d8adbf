import type { ServiceDefinition } from '@medical/platform';
import { receptionEffect } from './app/reactions.ts';
import { migrations } from './db/migrations.ts';
import type { ReceptionDatabase } from './db/schema.ts';
import { receptionRoutes } from './http/routes.ts';

export const receptionService: ServiceDefinition<ReceptionDatabase> = {
  name: 'reception',
  defaultPort: 8082,
  title: 'Reception service',
  description: 'The front desk: registers visits, cancels them, and confirms the outcome of the diagnosis.',
  migrations,
  idSequences: ['receptions'],
  routes: receptionRoutes,
  consumer: { handles: ['DiagnosisCompleted', 'DiagnosisRejected'], effect: receptionEffect },
  // A reception is the visit: its id is the reception id the access log keeps.
  answeredVisit: (reception) =>
    typeof reception.id === 'number' ? { receptionId: reception.id, ...(typeof reception.patientId === 'string' ? { patientId: reception.patientId } : {}) } : undefined,
};
