import type { PageOf } from '@medical/contracts/api';
import { apiJson, queryString } from './client.ts';

/** The largest page the services answer (MAX_PAGE_SIZE in the contracts). */
export const PAGE_SIZE = 100;

type Filters = Record<string, string | number | undefined>;

/** Every item of a list, page by page (lists are ascending by id). */
export async function fetchAllPages<T>(path: string, filters: Filters = {}, signal?: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  for (let page = 0; ; page++) {
    const answer = await apiJson<PageOf<T>>(path + queryString({ ...filters, page, size: PAGE_SIZE }), { signal });
    items.push(...answer.items);
    if (answer.items.length < PAGE_SIZE || items.length >= answer.total) return items;
  }
}

/**
 * The newest items of an ascending list, newest first, while `keep` holds: reads the total from
 * a one-item page, then walks pages from the last one backwards and stops at the first item that
 * fails `keep` (everything before it is older). The reception desk uses it for today's visits.
 */
export async function fetchNewestWhile<T>(
  path: string,
  keep: (item: T) => boolean,
  filters: Filters = {},
  signal?: AbortSignal,
): Promise<T[]> {
  const probe = await apiJson<PageOf<T>>(path + queryString({ ...filters, page: 0, size: 1 }), { signal });
  const newest: T[] = [];
  for (let page = Math.ceil(probe.total / PAGE_SIZE) - 1; page >= 0; page--) {
    const answer = await apiJson<PageOf<T>>(path + queryString({ ...filters, page, size: PAGE_SIZE }), { signal });
    for (const item of [...answer.items].reverse()) {
      if (!keep(item)) return newest;
      newest.push(item);
    }
  }
  return newest;
}
