import type { AnsweredVisit } from '@medical/contracts';
import type { ServiceContext } from '@medical/platform';
import {
  encounterOf,
  patientOf,
  resultOf,
  searchsetOf,
  serviceRequestOf,
  taskOf,
  type Bundle,
  type CatalogNames,
  type EncounterRecord,
  type Resource,
  type ServiceRequestRecord,
  type TaskRecord,
} from '../fhir/index.ts';
import type { Search } from '../fhir/search.ts';
import { findEncounters, findPatients, findServiceRequests, findTasks, searchRecords } from '../db/fhir-reads.ts';
import type { InteropDatabase } from '../db/schema.ts';

type Context = ServiceContext<InteropDatabase>;

/** The types read by id, each from the record kind it is made of. */
export const readableTypes = ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation'] as const;
export type ReadableType = (typeof readableTypes)[number];

/** What a read or search answers, and the visits it showed (for the access log). */
export type FhirAnswer<T> = { body: T; visits: AnsweredVisit[] };

const visitOf = (record: { receptionId: number; patientId: string }): AnsweredVisit => ({ receptionId: record.receptionId, patientId: record.patientId });

/** One resource by its id, or undefined when there is none (an id of the wrong shape included). */
export async function readResource(context: Context, type: ReadableType, id: string): Promise<FhirAnswer<Resource> | undefined> {
  const db = context.database.db;
  const catalog: CatalogNames = context.config.catalog;
  const numeric = /^[1-9]\d{0,15}$/.test(id) ? Number(id) : undefined;
  switch (type) {
    case 'Patient': {
      const [patient] = await findPatients(db, [id]);
      return patient && { body: patientOf(patient), visits: [{ patientId: patient.patientId }] };
    }
    case 'Encounter': {
      const [encounter] = numeric === undefined ? [] : await findEncounters(db, [numeric]);
      return encounter && { body: encounterOf(encounter, catalog), visits: [visitOf(encounter)] };
    }
    case 'ServiceRequest': {
      const [request] = await findServiceRequests(db, [id]);
      return request && { body: serviceRequestOf(request, catalog), visits: [visitOf(request)] };
    }
    case 'Task': {
      const [task] = numeric === undefined ? [] : await findTasks(db, [numeric]);
      return task && { body: taskOf(task, catalog), visits: [visitOf(task)] };
    }
    case 'DiagnosticReport':
    case 'Observation': {
      const [task] = numeric === undefined ? [] : await findTasks(db, [numeric]);
      const result = task && resultOf(task, catalog);
      return result && { body: type === 'DiagnosticReport' ? result.report : result.observation, visits: [visitOf(task)] };
    }
  }
}

/** One page of a search as a searchset Bundle, with what its `_include` brings. */
export async function searchResources(context: Context, search: Search, links: { base: string; self: string; next: string }): Promise<FhirAnswer<Bundle>> {
  const catalog: CatalogNames = context.config.catalog;
  const page = await searchRecords(context.database.db, search);
  const records = page.items as (EncounterRecord | ServiceRequestRecord | TaskRecord)[];
  const matches = records.map((record) => resourceOf(search.type, record, catalog));
  const includes = search.include ? await includedOf(context, search.type, records) : [];
  const hasNext = (search.page + 1) * search.count < page.total;
  const body = searchsetOf({ base: links.base, self: links.self, ...(hasNext ? { next: links.next } : {}), total: page.total, matches, includes });
  return { body, visits: records.map((r) => visitOf(r)) };
}

function resourceOf(type: Search['type'], record: EncounterRecord | ServiceRequestRecord | TaskRecord, catalog: CatalogNames): Resource {
  switch (type) {
    case 'Encounter':
      return encounterOf(record as EncounterRecord, catalog);
    case 'ServiceRequest':
      return serviceRequestOf(record as ServiceRequestRecord, catalog);
    case 'Task':
      return taskOf(record as TaskRecord, catalog);
    case 'DiagnosticReport':
      return resultOf(record as TaskRecord, catalog)!.report;
  }
}

/** The resources the matches point to (each once): what `_include` saves the client from asking for one by one. */
async function includedOf(context: Context, type: Search['type'], records: readonly (EncounterRecord | ServiceRequestRecord | TaskRecord)[]): Promise<Resource[]> {
  const db = context.database.db;
  const catalog: CatalogNames = context.config.catalog;
  const unique = <T>(values: T[]) => [...new Set(values)];
  switch (type) {
    case 'Encounter':
      return (await findPatients(db, unique(records.map((r) => r.patientId)))).map(patientOf);
    case 'ServiceRequest':
      return (await findEncounters(db, unique(records.map((r) => r.receptionId)))).map((e) => encounterOf(e, catalog));
    case 'Task':
      return (await findServiceRequests(db, unique((records as TaskRecord[]).map((r) => r.prescriptionId)))).map((s) => serviceRequestOf(s, catalog));
    case 'DiagnosticReport':
      return (records as TaskRecord[]).map((task) => resultOf(task, catalog)!.observation);
  }
}
