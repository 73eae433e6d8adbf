import type { Bundle, BundleEntry, Resource } from './resources.ts';

/**
 * One page of a search: the resources that matched, those an `_include` brought along, the
 * total of matches over every page, and the links to this page and the next one (none on the
 * last page, which is how a client knows it is done). `base` is the server's absolute base
 * (`https://host/fhir/R4`): a searchset's fullUrl is absolute.
 */
export type SearchPage = {
  base: string;
  self: string;
  next?: string;
  total: number;
  matches: readonly Resource[];
  includes?: readonly Resource[];
};

export function searchsetOf(page: SearchPage): Bundle {
  const link = [{ relation: 'self', url: page.self }];
  if (page.next !== undefined) link.push({ relation: 'next', url: page.next });
  const entry: BundleEntry[] = [
    ...page.matches.map((resource) => entryOf(page.base, resource, 'match')),
    ...(page.includes ?? []).map((resource) => entryOf(page.base, resource, 'include')),
  ];
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: page.total, link };
  if (entry.length > 0) bundle.entry = entry;
  return bundle;
}

function entryOf(base: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${base.replace(/\/+$/, '')}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}
