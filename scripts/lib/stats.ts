/**
 * The statistics of the load script's and the bench's summaries: a file of its own, with no
 * imports, so that the load image (Dockerfile, target load) carries only what scripts/load.ts
 * needs, and here in scripts/ so that the scripts never import the bench (the bench imports the
 * scripts' helpers, never the other way).
 */

/** Nearest-rank percentile of unsorted samples; null for none. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return round(sorted[rank - 1]!);
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
