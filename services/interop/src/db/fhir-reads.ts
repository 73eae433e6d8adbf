import { sql, type Kysely } from 'kysely';
import type { PageOf } from '@medical/contracts';
import { fetchPage } from '@medical/platform';
import type { EncounterRecord, PatientRecord, ServiceRequestRecord, TaskRecord } from '../fhir/records.ts';
import type { Search, SearchFilter } from '../fhir/search.ts';
import type { InteropDatabase } from './schema.ts';

type Db = Kysely<InteropDatabase>;

/**
 * The FHIR routes' reads: a record by its id, the records of a search (a page and its total, in
 * one statement), and the records an `_include` adds. Each parsed filter (fhir/search.ts) is one
 * condition on an indexed column.
 */

const parse = <T>(rows: { record: string }[]): T[] => rows.map((row) => JSON.parse(row.record) as T);

export async function findPatients(db: Db, ids: readonly string[]): Promise<PatientRecord[]> {
  if (ids.length === 0) return [];
  return parse(await db.selectFrom('interop_patients').select('record').where('patient_id', 'in', [...ids]).orderBy('patient_id').execute());
}

export async function findEncounters(db: Db, ids: readonly number[]): Promise<EncounterRecord[]> {
  if (ids.length === 0) return [];
  return parse(await db.selectFrom('interop_encounters').select('record').where('reception_id', 'in', [...ids]).orderBy('reception_id').execute());
}

export async function findServiceRequests(db: Db, ids: readonly string[]): Promise<ServiceRequestRecord[]> {
  if (ids.length === 0) return [];
  return parse(await db.selectFrom('interop_service_requests').select('record').where('prescription_id', 'in', [...ids]).orderBy('prescription_id').execute());
}

export async function findTasks(db: Db, ids: readonly number[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  return parse(await db.selectFrom('interop_tasks').select('record').where('examination_id', 'in', [...ids]).orderBy('examination_id').execute());
}

const numbers = (values: readonly string[]) => values.map(Number).filter((n) => Number.isSafeInteger(n));

/** The column each search parameter filters, per type (the parameters of fhir/search.ts). */
const columns = {
  Encounter: { patient: 'patient_id', status: 'status', date: 'started_at' },
  ServiceRequest: { encounter: 'reception_id' },
  Task: { status: 'status', focus: 'prescription_id', encounter: 'reception_id' },
  DiagnosticReport: { encounter: 'reception_id' },
} as const;

const integerColumns: ReadonlySet<string> = new Set(['reception_id']);

function condition(column: string, filter: SearchFilter) {
  if (filter.kind === 'date') {
    const operators = { ge: '>=', gt: '>', le: '<=', lt: '<' } as const;
    return sql.join(filter.bounds.map((b) => sql`${sql.ref(column)} ${sql.raw(operators[b.comparator])} ${b.instant}`), sql` and `);
  }
  const values = integerColumns.has(column) ? numbers(filter.values) : filter.values;
  if (values.length === 0) return sql`1 = 0`;
  return sql`${sql.ref(column)} in (${sql.join(values)})`;
}

/** The records of one page of a search, newest first, and how many match in all. */
export async function searchRecords(db: Db, search: Search): Promise<PageOf<EncounterRecord | ServiceRequestRecord | TaskRecord>> {
  const table = { Encounter: 'interop_encounters', ServiceRequest: 'interop_service_requests', Task: 'interop_tasks', DiagnosticReport: 'interop_tasks' } as const;
  const key = { Encounter: 'reception_id', ServiceRequest: 'prescription_id', Task: 'examination_id', DiagnosticReport: 'examination_id' } as const;
  const typeColumns: Record<string, string> = columns[search.type];
  const conditions = search.filters.map((filter) => condition(typeColumns[filter.name]!, filter));
  // A DiagnosticReport is the result of a performed examination: a Task completed.
  if (search.type === 'DiagnosticReport') conditions.push(sql`status = 'completed'`);
  const where = conditions.length === 0 ? sql`1 = 1` : sql.join(conditions, sql` and `);
  const rows = (db as Kysely<Record<string, { record: string; key: unknown }>>)
    .selectFrom(table[search.type])
    .select([sql<string>`record`.as('record'), sql<string | number>`${sql.ref(key[search.type])}`.as('key')])
    .where(where as never);
  const total = (db as Kysely<Record<string, object>>)
    .selectFrom(table[search.type])
    .select((eb) => eb.fn.countAll<number>().as('total'))
    .where(where as never);
  const page = await fetchPage(db, { page: search.page, size: search.count }, { rows, orderBy: [['key', 'desc']], total });
  return { ...page, items: page.items.map((row) => JSON.parse(row.record) as EncounterRecord) };
}
