import { encounterStatusOf, taskStatusOf, type EncounterStatus, type TaskStatus } from './codes.ts';
import type { EncounterRecord, ServiceRequestRecord, TaskRecord } from './records.ts';

/**
 * The searches this server answers, as one table: which parameters each type takes, and which
 * `_include` saves a round trip. The routes (http/fhir-routes.ts) turn a parsed search into SQL,
 * the subscriptions match a changed resource against the same parsed criteria in memory, and the
 * CapabilityStatement announces this table: the three cannot disagree on what a search means.
 */

export type ReferenceParameter = { kind: 'reference'; target: 'Patient' | 'Encounter' | 'ServiceRequest' };
export type TokenParameter = { kind: 'token'; codes: readonly string[] };
export type DateParameter = { kind: 'date' };
export type SearchParameter = ReferenceParameter | TokenParameter | DateParameter;

const encounterStatuses: readonly EncounterStatus[] = ['planned', 'arrived', 'in-progress', 'finished', 'cancelled'];
const taskStatuses: readonly TaskStatus[] = ['requested', 'in-progress', 'completed', 'cancelled'];

export const searchableTypes = ['Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport'] as const;
export type SearchableType = (typeof searchableTypes)[number];

export const searchParameters = {
  Encounter: {
    patient: { kind: 'reference', target: 'Patient' },
    status: { kind: 'token', codes: encounterStatuses },
    date: { kind: 'date' },
  },
  ServiceRequest: { encounter: { kind: 'reference', target: 'Encounter' } },
  Task: {
    status: { kind: 'token', codes: taskStatuses },
    focus: { kind: 'reference', target: 'ServiceRequest' },
    encounter: { kind: 'reference', target: 'Encounter' },
  },
  DiagnosticReport: { encounter: { kind: 'reference', target: 'Encounter' } },
} as const satisfies Record<SearchableType, Record<string, SearchParameter>>;

/** The `_include` each type takes: the resource its search results point to, in the same answer. */
export const searchIncludes = {
  Encounter: 'Encounter:patient',
  ServiceRequest: 'ServiceRequest:encounter',
  Task: 'Task:focus',
  DiagnosticReport: 'DiagnosticReport:result',
} as const satisfies Record<SearchableType, string>;

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export type DateBound = { comparator: 'ge' | 'gt' | 'le' | 'lt'; instant: string };
export type SearchFilter =
  | { name: string; kind: 'reference' | 'token'; values: string[] }
  | { name: string; kind: 'date'; bounds: DateBound[] };

export type Search = {
  type: SearchableType;
  filters: SearchFilter[];
  count: number;
  page: number;
  include: boolean;
};

/** A parameter that could not be read: its name and why, for the OperationOutcome's `expression` and diagnostics. */
export type SearchIssue = { parameter: string; message: string };

/**
 * The day a date-only value names is the hospital's (its start and end in HOSPITAL_TIME_ZONE):
 * `date=2026-12-07` is the visits registered that day at this hospital, whatever the client's zone.
 */
export type DayBounds = (day: string) => { start: Date; end: Date };
export type SearchContext = { dayBounds: DayBounds };

const DATE_PREFIXES = ['eq', 'ge', 'gt', 'le', 'lt'] as const;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A search's parameters read strictly: a parameter this server does not know is an error, not
 * ignored, since a client that believed it filtered on it would be shown (and could pass on)
 * records it never meant to ask for.
 */
export function parseSearch(type: SearchableType, query: Iterable<[string, string]>, context: SearchContext, options: { paging: boolean }): { ok: true; search: Search } | { ok: false; issue: SearchIssue } {
  const search: Search = { type, filters: [], count: DEFAULT_PAGE_SIZE, page: 0, include: false };
  const parameters: Record<string, SearchParameter> = searchParameters[type];
  for (const [name, raw] of query) {
    const value = raw.trim();
    const fail = (message: string) => ({ ok: false as const, issue: { parameter: name, message } });
    if (options.paging && (name === '_count' || name === '_page')) {
      const limit = name === '_count' ? MAX_PAGE_SIZE : Number.MAX_SAFE_INTEGER;
      const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!(number >= (name === '_count' ? 1 : 0) && number <= limit)) return fail(name === '_count' ? `must be a whole number from 1 to ${MAX_PAGE_SIZE}` : 'must be a whole number from 0');
      if (name === '_count') search.count = number;
      else search.page = number;
      continue;
    }
    if (options.paging && name === '_include') {
      if (value !== searchIncludes[type]) return fail(`${type} takes only _include=${searchIncludes[type]}`);
      search.include = true;
      continue;
    }
    if (name === '_format' && (value === 'json' || value === 'application/fhir+json')) continue;
    const parameter = Object.hasOwn(parameters, name) ? parameters[name]! : undefined;
    if (parameter === undefined) return fail(`${type} cannot be searched by ${name}; it takes ${[...Object.keys(parameters), ...(options.paging ? ['_count', '_page', '_include'] : [])].join(', ')}`);
    const filter = filterOf(name, value, parameter, context);
    if ('message' in filter) return fail(filter.message);
    search.filters.push(filter);
  }
  return { ok: true, search };
}

function filterOf(name: string, value: string, parameter: SearchParameter, context: SearchContext): SearchFilter | { message: string } {
  if (parameter.kind === 'date') {
    const bounds = dateBounds(value, context);
    return bounds === undefined ? { message: 'must be a date (2026-12-07) or a date and time with its offset, after an optional eq, ge, gt, le or lt' } : { name, kind: 'date', bounds };
  }
  const values = value.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) return { message: 'must not be empty' };
  if (parameter.kind === 'token') {
    const unknown = values.find((v) => !parameter.codes.includes(v));
    return unknown === undefined ? { name, kind: 'token', values } : { message: `"${unknown}" is not one of ${parameter.codes.join(', ')}` };
  }
  const ids: string[] = [];
  for (const v of values) {
    const [first, second, ...rest] = v.split('/');
    const id = second === undefined ? first! : first === parameter.target && rest.length === 0 ? second : undefined;
    if (id === undefined || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return { message: `must be a ${parameter.target} id or ${parameter.target}/<id>` };
    ids.push(id);
  }
  return { name, kind: 'reference', values: ids };
}

/** A date parameter as the instants it bounds: a day is the hospital's whole day, a moment is itself. */
function dateBounds(value: string, { dayBounds }: SearchContext): DateBound[] | undefined {
  const prefix = DATE_PREFIXES.find((p) => value.startsWith(p)) ?? 'eq';
  const given = DATE_PREFIXES.some((p) => value.startsWith(p)) ? value.slice(2) : value;
  let start: Date;
  let end: Date;
  if (!isCalendarDay(given.slice(0, 10))) return undefined;
  if (DATE_ONLY.test(given)) ({ start, end } = dayBounds(given));
  else if (DATE_TIME.test(given)) start = end = new Date(given);
  else return undefined;
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) return undefined;
  const at = (d: Date) => d.toISOString();
  const instant = start === end;
  switch (prefix) {
    case 'eq':
      return instant ? [{ comparator: 'ge', instant: at(start) }, { comparator: 'le', instant: at(start) }] : [{ comparator: 'ge', instant: at(start) }, { comparator: 'lt', instant: at(end) }];
    case 'ge':
      return [{ comparator: 'ge', instant: at(start) }];
    case 'gt':
      return [instant ? { comparator: 'gt', instant: at(start) } : { comparator: 'ge', instant: at(end) }];
    case 'lt':
      return [{ comparator: 'lt', instant: at(start) }];
    case 'le':
      return [instant ? { comparator: 'le', instant: at(start) } : { comparator: 'lt', instant: at(end) }];
  }
}

/**
 * A day of the calendar, of the years the hospital-day arithmetic (Date.UTC) reads as written:
 * `2026-02-30` names no day (Date rolls it over into March), and a day past 9998 is one whose
 * next day has a five-digit year, which startOfHospitalDay would search for without end.
 */
function isCalendarDay(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const time = Date.parse(`${text}T00:00:00Z`);
  return year >= 100 && year <= 9998 && !Number.isNaN(time) && new Date(time).toISOString().startsWith(text);
}

/** The values a resource is searched by, per parameter of its type: what a subscription's criteria match. */
export type SearchValues = Record<string, string>;

/** Whether a resource with these search values matches every filter (each filter: any of its values). */
export function matchesFilters(values: SearchValues, filters: readonly SearchFilter[]): boolean {
  return filters.every((filter) => {
    const value = values[filter.name];
    if (value === undefined) return false;
    if (filter.kind !== 'date') return filter.values.includes(value);
    const instant = Date.parse(value);
    return filter.bounds.every(({ comparator, instant: bound }) => compare(instant, Date.parse(bound), comparator));
  });
}

function compare(a: number, b: number, comparator: DateBound['comparator']): boolean {
  return comparator === 'ge' ? a >= b : comparator === 'gt' ? a > b : comparator === 'le' ? a <= b : a < b;
}

/** The search values of each record kind, by the parameters of `searchParameters`. */
export const searchValuesOf = {
  Encounter: (r: EncounterRecord): SearchValues => ({ patient: r.patientId, status: encounterStatusOf(r), date: r.receivedAt }),
  ServiceRequest: (r: ServiceRequestRecord): SearchValues => ({ encounter: String(r.receptionId) }),
  Task: (r: TaskRecord): SearchValues => ({ status: taskStatusOf(r.status, r.queueState), focus: r.prescriptionId, encounter: String(r.receptionId) }),
  DiagnosticReport: (r: TaskRecord): SearchValues => ({ encounter: String(r.receptionId) }),
};
