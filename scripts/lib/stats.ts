/**
 * The statistics of the bench's and the load script's summaries: kept apart from tools.ts so that
 * the load image (Dockerfile, target load) carries only what scripts/load.ts needs.
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
