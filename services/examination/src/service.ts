import { eventsConsumedBy } from '@medical/contracts';
import type { ServiceDefinition } from '@medical/platform';
import { examinationEffect } from './app/reactions.ts';
import { migrations } from './db/migrations.ts';
import type { ExaminationDatabase } from './db/schema.ts';
import { examinationRoutes } from './http/routes.ts';

export const examinationService: ServiceDefinition<ExaminationDatabase> = {
  name: 'examination',
  defaultPort: 8084,
  title: 'Examination service',
  description: "The examiners' desk: examination orders created from prescriptions, performed with a result or cancelled.",
  migrations,
  codedColumns: [{ table: 'examinations', column: 'examination_type', codes: 'examination' }],
  idSequences: ['examinations'],
  routes: examinationRoutes,
  consumer: { handles: eventsConsumedBy('examination'), effect: examinationEffect },
};
