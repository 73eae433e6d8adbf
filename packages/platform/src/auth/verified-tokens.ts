import { hash } from 'node:crypto';

/**
 * Tokens this process has verified, so that a token is verified once per process rather than on
 * every request. Every request carries its bearer token to the gateway and again to the service
 * behind it, and each checks the signature: an ECDSA or RSA verification per hop was most of the
 * gateway's CPU per request, for the same few tokens over and over (a user's token serves for
 * minutes).
 *
 * What is kept is only what a successful verification concluded, and only for as long as that
 * verification would have concluded it again:
 * - keyed by the token's SHA-256, never by the token, so the cache (a heap dump, a debugger) holds
 *   nothing that could be replayed as a bearer token, and a key is 43 characters however long the
 *   token is; any change to the token, its signature included, is another key;
 * - within the window its `nbf` and `exp` allow (the caller works it out with the same clock
 *   tolerance as jwtVerify), never beyond: an entry past it is dropped when it is next asked for;
 * - bounded: the least recently used entry goes when a new one would exceed `maxEntries`, so a
 *   flood of distinct valid tokens costs at most that many entries. A Map keeps insertion order,
 *   and an entry that is used is moved to the end, which makes the first key the least recent.
 * Failures are never stored: the caller only remembers tokens that verified.
 */

/** The times (ms since the epoch) a token is acceptable: from `notBeforeMs` (inclusive) until `expiresAtMs` (exclusive). */
export type ValidityWindow = { notBeforeMs: number; expiresAtMs: number };

export const DEFAULT_MAX_VERIFIED_TOKENS = 10_000;

function cacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

export class VerifiedTokens<Value> {
  readonly maxEntries: number;
  readonly #entries = new Map<string, { value: Value; window: ValidityWindow }>();

  constructor(maxEntries = DEFAULT_MAX_VERIFIED_TOKENS) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new RangeError(`maxEntries must be a whole number ≥ 0, not ${maxEntries}`);
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** What was remembered for `token`, if it is within its window at `nowMs`. */
  get(token: string, nowMs = Date.now()): Value | undefined {
    const key = cacheKey(token);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    if (nowMs < entry.window.notBeforeMs || nowMs >= entry.window.expiresAtMs) return undefined;
    this.#entries.set(key, entry);
    return entry.value;
  }

  remember(token: string, value: Value, window: ValidityWindow): void {
    const key = cacheKey(token);
    this.#entries.delete(key);
    this.#entries.set(key, { value, window });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
  }

  forget(token: string): void {
    this.#entries.delete(cacheKey(token));
  }
}
