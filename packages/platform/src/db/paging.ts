import { sql, type Compilable, type QueryExecutorProvider, type SelectQueryBuilder } from 'kysely';
import type { PageOf } from '@medical/contracts';

/** The list envelope of DESIGN.md section 6, with the paging defaults applied. */
export type PageRequest = { page?: number; size?: number };

export function pageWindow(request: PageRequest): { page: number; size: number; offset: number } {
  const page = request.page ?? 0;
  const size = request.size ?? 20;
  return { page, size, offset: page * size };
}

/** A column a list is ordered by: its name, or its name and direction. */
export type ListOrder<Row> = (keyof Row & string) | readonly [keyof Row & string, 'asc' | 'desc'];

/** What a list is made of: its rows (filtered and selected), their order, and its total. */
export type PageQuery<DB, TB extends keyof DB, Row> = {
  rows: SelectQueryBuilder<DB, TB, Row>;
  /** The order of the list, most significant first; the last column should make it total (an id). */
  orderBy: readonly ListOrder<Row>[];
  /**
   * One row with the list's total as `total`: a count of the filtered rows, or a count kept
   * elsewhere (patient-management's visit_counts).
   */
  total: Compilable<{ total: number | string | bigint | null }>;
};

/**
 * One page of a list and its total in one statement: `total` and the page as two subqueries,
 * joined. Each is planned on its own (an index-only count, a scan that stops at the page's end),
 * so a list costs one round trip and, outside a transaction, one transaction of the database,
 * not two. A page past the end, or of an empty list, is one row of nulls beside the total: no items.
 */
export async function fetchPage<DB, TB extends keyof DB, Row extends object>(
  db: QueryExecutorProvider,
  request: PageRequest,
  query: PageQuery<DB, TB, Row>,
): Promise<PageOf<Row>> {
  const { page, size, offset } = pageWindow(request);
  const order = query.orderBy.map((entry) => (typeof entry === 'string' ? ([entry, 'asc'] as const) : entry));
  if (order.length === 0) throw new Error('fetchPage needs the order of its rows');
  // Ordered inside, for the page's rows, and again outside: a join need not keep its input's order.
  let rows = query.rows;
  for (const [column, direction] of order) rows = rows.orderBy(sql.ref(column), direction);
  const outer = sql.join(order.map(([column, direction]) => sql`${sql.ref(`listed.${column}`)} ${sql.raw(direction)}`));
  const { rows: found } = await sql<Row & { page_total__?: number | string | bigint | null }>`
    select listed.*, counted.total as page_total__
    from (${query.total}) as counted
    left join (${rows.limit(size).offset(offset)}) as listed on true
    order by ${outer}`.execute(db);
  const total = Number(found[0]?.page_total__ ?? 0);
  // Every list's last order column is a key, never null in a row that exists.
  const key = order.at(-1)![0];
  const items: Row[] = found.filter((row) => row[key] !== null);
  for (const row of items) delete (row as { page_total__?: unknown }).page_total__;
  return { items, page, size, total };
}
