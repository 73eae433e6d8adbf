import { FHIR_VERSION } from './codes.ts';
import type { Resource } from './resources.ts';

/**
 * What `/fhir/R4/metadata` says the server does: read and search of the workflow's resources with
 * the search parameters below, and Subscription create and read (rest-hook notifications).
 * `date` is when it last changed: the release's date, passed in so the mapping stays pure.
 */

type SearchParam = { name: string; type: 'token' | 'reference' | 'date' | 'number' | 'string'; documentation?: string };
type ResourceCapability = {
  type: string;
  interaction: { code: 'read' | 'search-type' | 'create' }[];
  searchInclude?: string[];
  searchParam?: SearchParam[];
};
export type CapabilityStatement = Resource & {
  resourceType: 'CapabilityStatement';
  status: 'active';
  date: string;
  kind: 'instance';
  software: { name: string };
  implementation: { description: string; url: string };
  fhirVersion: string;
  format: string[];
  rest: { mode: 'server'; resource: ResourceCapability[] }[];
};

const readAndSearch: ResourceCapability['interaction'] = [{ code: 'read' }, { code: 'search-type' }];
const count: SearchParam = { name: '_count', type: 'number', documentation: 'Page size, 1 to 100' };

const resources: ResourceCapability[] = [
  { type: 'Patient', interaction: [{ code: 'read' }] },
  {
    type: 'Encounter',
    interaction: readAndSearch,
    searchInclude: ['Encounter:patient'],
    searchParam: [
      { name: 'patient', type: 'reference' },
      { name: 'status', type: 'token' },
      { name: 'date', type: 'date' },
      count,
    ],
  },
  { type: 'ServiceRequest', interaction: readAndSearch, searchInclude: ['ServiceRequest:encounter'], searchParam: [{ name: 'encounter', type: 'reference' }, count] },
  {
    type: 'Task',
    interaction: readAndSearch,
    searchInclude: ['Task:focus'],
    searchParam: [
      { name: 'status', type: 'token' },
      { name: 'focus', type: 'reference' },
      count,
    ],
  },
  {
    type: 'DiagnosticReport',
    interaction: readAndSearch,
    searchInclude: ['DiagnosticReport:result'],
    searchParam: [{ name: 'encounter', type: 'reference' }, count],
  },
  { type: 'Observation', interaction: [{ code: 'read' }] },
  { type: 'Subscription', interaction: [{ code: 'create' }, { code: 'read' }] },
];

export function capabilityStatementOf({ baseUrl, date }: { baseUrl: string; date: string }): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software: { name: 'medical-visit-workflow' },
    implementation: { description: "The outpatient visit workflow's FHIR R4 API (read, search, subscriptions)", url: baseUrl },
    fhirVersion: FHIR_VERSION,
    format: ['json'],
    rest: [{ mode: 'server', resource: resources }],
  };
}
