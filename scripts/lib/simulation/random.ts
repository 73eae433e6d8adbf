/**
 * The simulation's random numbers, seeded (`--seed`), so that a run can be repeated: the same
 * arrivals at the same simulated instants, the same patients, departments and decisions.
 *
 * Every visit draws from a generator of its own (`fork(index)`), derived from the seed and its
 * arrival number, not from one shared sequence: the order in which the staff's loops ask for
 * numbers depends on how fast the system answers, and must not change what happens to a visit.
 */

export type Random = {
  /** A number in [0, 1). */
  next(): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** A number in [min, max). */
  between(min: number, max: number): number;
  /** A whole number from `min` to `max`, both included. */
  integer(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** Exponentially distributed with this mean: the gaps between the arrivals of a Poisson process. */
  exponential(mean: number): number;
  /**
   * Around `median`, log-normally (never negative, a longer tail above: how long a consultation
   * or an examination takes), within [min, max].
   */
  around(median: number, bounds?: { min?: number; max?: number; spread?: number }): number;
  /** The independent generator of the `n`th thing of a kind (`stream` names the kind). */
  fork(n: number, stream?: string): Random;
};

/** splitmix32's finaliser: mixes 32 bits so that neighbouring seeds give unrelated generators. */
function mix(value: number): number {
  let z = (value + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** A 32-bit hash of a short label (FNV-1a), to name a kind of stream. */
function hashOf(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) hash = Math.imul(hash ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}

/** sfc32: small, fast, and good enough for a simulation; four words of state from the seed. */
function sfc32(seed: number): () => number {
  let a = mix(seed);
  let b = mix(a);
  let c = mix(b);
  let d = 1;
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  // The first outputs still echo the seed; skip them.
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** One standard normal number (Box-Muller). */
function normal(next: () => number): number {
  const u = 1 - next();
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export function seededRandom(seed: number): Random {
  const next = sfc32(seed >>> 0);
  const random: Random = {
    next,
    chance: (p) => next() < p,
    between: (min, max) => min + (max - min) * next(),
    integer: (min, max) => min + Math.floor((max - min + 1) * next()),
    pick: (items) => {
      if (items.length === 0) throw new RangeError('nothing to pick from');
      return items[Math.floor(items.length * next())]!;
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
    around: (median, { min = 0, max = Number.POSITIVE_INFINITY, spread = 0.3 } = {}) =>
      Math.min(max, Math.max(min, median * Math.exp(spread * normal(next)))),
    fork: (n, stream = 'visit') => seededRandom(mix((seed >>> 0) ^ mix(hashOf(stream) ^ mix(n >>> 0)))),
  };
  return random;
}

/** A seed for a run given none: printed in the summary, so the run can be repeated with `--seed`. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 4294967296) >>> 0;
}
