import { eventsConsumedBy } from '@medical/contracts';
import type { ServiceDefinition } from '@medical/platform';
import { receptionEffect } from './app/reactions.ts';
import { migrations } from './db/migrations.ts';
import type { ReceptionDatabase } from './db/schema.ts';
import { patientRoutes } from './http/patient-routes.ts';
import { receptionRoutes } from './http/routes.ts';

export const receptionService: ServiceDefinition<ReceptionDatabase> = {
  name: 'reception',
  defaultPort: 8082,
  title: 'Reception service',
  description: 'The front desk: the patient registry, and the visits it registers, cancels, and whose diagnosis outcome it confirms.',
  migrations,
  codedColumns: [{ table: 'receptions', column: 'department', codes: 'department' }],
  idSequences: ['receptions', 'patients'],
  routes: (app, context) => {
    receptionRoutes(app, context);
    patientRoutes(app, context);
  },
  consumer: { handles: eventsConsumedBy('reception'), effect: receptionEffect },
  // A reception is the visit: its id is the reception id the access log keeps. A patient of the
  // registry (no id of its own) is shown by its number.
  answeredVisit: (resource) => {
    const patientId = typeof resource.patientId === 'string' ? { patientId: resource.patientId } : undefined;
    if (typeof resource.id === 'number') return { receptionId: resource.id, ...patientId };
    return patientId;
  },
};
