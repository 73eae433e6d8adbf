import { FHIR_VERSION } from './codes.ts';
import type { Resource } from './resources.ts';
import { MAX_PAGE_SIZE, searchableTypes, searchIncludes, searchParameters, type SearchableType, type SearchParameter } from './search.ts';

/**
 * What `/fhir/R4/metadata` says the server does: read, and search with the parameters of the
 * search table (search.ts, which the searches themselves follow), of the workflow's resources, and
 * Subscriptions (rest-hook notifications).
 * `date` is when it last changed: the release's date, passed in so the mapping stays pure.
 */

type SearchParam = { name: string; type: 'token' | 'reference' | 'date' | 'number' | 'string'; documentation?: string };
type ResourceCapability = {
  type: string;
  interaction: { code: 'read' | 'search-type' | 'create' | 'delete' }[];
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
const paging: SearchParam[] = [
  { name: '_count', type: 'number', documentation: `Page size, 1 to ${MAX_PAGE_SIZE}` },
  { name: '_page', type: 'number', documentation: 'The page, from 0 (the next link names it)' },
];

/** A searched type as its search table (search.ts) says: its parameters, its one _include, the paging. */
function searched(type: SearchableType): ResourceCapability {
  const parameters: Record<string, SearchParameter> = searchParameters[type];
  return {
    type,
    interaction: readAndSearch,
    searchInclude: [searchIncludes[type]],
    searchParam: [...Object.entries(parameters).map(([name, parameter]): SearchParam => ({ name, type: parameter.kind })), ...paging],
  };
}

const resources: ResourceCapability[] = [
  { type: 'Patient', interaction: [{ code: 'read' }] },
  ...searchableTypes.map(searched),
  { type: 'Observation', interaction: [{ code: 'read' }] },
  { type: 'Subscription', interaction: [{ code: 'create' }, { code: 'read' }, { code: 'search-type' }, { code: 'delete' }] },
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
