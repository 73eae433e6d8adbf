/**
 * The vocabulary of the pure deciders (DESIGN.md section 8). This module imports nothing, so a
 * service's domain layer can use it and stay free of I/O.
 */
export type Refusal = { kind: 'conflict' | 'invalid'; message: string };
export type Decision<E> = { ok: true; events: E[] } | { ok: false; refusal: Refusal };

export function accept<E>(...events: E[]): Decision<E> {
  return { ok: true, events };
}

export function refuse<E>(kind: Refusal['kind'], message: string): Decision<E> {
  return { ok: false, refusal: { kind, message } };
}

/** Drops undefined optional fields so that events and state serialise without `undefined` keys. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
