/** How long the scenarios run: the full suite, or the quick smoke run (under 90 s in all). */
export type Mode = { quick: boolean };

export type Log = (line: string) => void;
