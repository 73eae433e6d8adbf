/** A choice of a ComboboxField: the value sent, the text shown, and every text it is found by. */
export type ComboboxOption = {
  value: string;
  label: string;
  /** The code, the names in both languages, the aliases: whichever a user types, in whichever language the console is. */
  terms: readonly string[];
};

/**
 * A text as it is compared: Unicode NFC, lower case, spaces, hyphens and underscores dropped, so
 * "X-ray", "x ray", "XRAY" and "chest_xray" meet. The catalog's aliasKey (contracts' catalog.ts)
 * does the same on the server; it is repeated here because that module builds schemas at load,
 * which the browser bundle does not need.
 */
export function searchKey(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/[\s\-_]+/g, '');
}

/**
 * The options any of whose terms contains what was typed, the closest first: a term that is the
 * text typed, then one that starts with it, then one that contains it ("CT" finds the head CT before
 * anything with "ct" inside); the catalog's order otherwise. Nothing typed: all of them.
 */
export function matchOptions<T extends ComboboxOption>(options: readonly T[], typed: string): T[] {
  const key = searchKey(typed);
  if (key === '') return [...options];
  const ranked: { option: T; rank: number }[] = [];
  for (const option of options) {
    let rank = Infinity;
    for (const term of option.terms) {
      const termKey = searchKey(term);
      if (termKey === key) rank = Math.min(rank, 0);
      else if (termKey.startsWith(key)) rank = Math.min(rank, 1);
      else if (termKey.includes(key)) rank = Math.min(rank, 2);
    }
    if (rank !== Infinity) ranked.push({ option, rank });
  }
  // Array.prototype.sort is stable: equal ranks keep the catalog's order.
  return ranked.sort((a, b) => a.rank - b.rank).map(({ option }) => option);
}
