import { eventsConsumedBy } from '@medical/contracts';
import type { ServiceDefinition } from '@medical/platform';
import { diagnosisEffect } from './app/reactions.ts';
import { migrations } from './db/migrations.ts';
import type { DiagnosisDatabase } from './db/schema.ts';
import { diagnosisRoutes } from './http/routes.ts';

export const diagnosisService: ServiceDefinition<DiagnosisDatabase> = {
  name: 'diagnosis',
  defaultPort: 8083,
  title: 'Diagnosis service',
  description: "The doctor's desk: the worklist of registered patients, prescriptions, and the outcome of the diagnosis.",
  migrations,
  codedColumns: [
    { table: 'diagnoses', column: 'department', codes: 'department' },
    { table: 'prescriptions', column: 'examination_type', codes: 'examination' },
  ],
  idSequences: ['diagnoses'],
  routes: diagnosisRoutes,
  consumer: {
    handles: eventsConsumedBy('diagnosis'),
    effect: diagnosisEffect,
  },
};
