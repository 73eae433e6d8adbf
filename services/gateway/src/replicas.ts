import http from 'node:http';
import https from 'node:https';
import type { FastifyBaseLogger } from 'fastify';
import type { Gauge } from 'prom-client';
import type { Upstream } from './config.ts';

/**
 * The replicas of one service and which of them should get traffic. Two sources decide that:
 * an active check of each replica's /readyz on a fixed interval, the only thing that puts a
 * replica back, and the proxy, which takes a replica out at once when a request to it is
 * refused, reset or times out, instead of sending it more work until the next check notices.
 */

export type Replica = {
  readonly origin: string;
  healthy: boolean;
};

export type ReplicaSetOptions = {
  intervalMs: number;
  timeoutMs: number;
  gauge: Gauge<'service' | 'upstream'>;
  log: FastifyBaseLogger;
};

/**
 * One GET of `origin`/readyz on a connection of its own: true only for a 200 within `timeoutMs`.
 * The deadline covers the whole exchange, not idle time, so a replica trickling bytes is not
 * ready either. While it runs, `inFlight` holds the way to abort it.
 */
function isReady(origin: string, timeoutMs: number, inFlight: Set<() => void>): Promise<boolean> {
  const url = new URL('/readyz', origin);
  const get = url.protocol === 'https:' ? https.get : http.get;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ready: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      inFlight.delete(abort);
      resolve(ready);
    };
    const request = get(url, { agent: false, headers: { accept: 'application/json' } }, (response) => {
      // Only the status matters; drain the body, and ignore its end being cut off by an abort.
      response.on('error', () => {});
      response.resume();
      settle(response.statusCode === 200);
    });
    const abort = () => request.destroy();
    const deadline = setTimeout(abort, timeoutMs);
    inFlight.add(abort);
    request.on('error', () => settle(false));
    request.on('close', () => settle(false));
  });
}

export class ReplicaSet {
  readonly service: string;
  readonly replicas: readonly Replica[];
  readonly #options: ReplicaSetOptions;
  readonly #timers = new Map<Replica, NodeJS.Timeout>();
  readonly #checking = new Set<() => void>();
  #stopped = false;
  #cursor = 0;

  constructor(upstream: Upstream, options: ReplicaSetOptions) {
    this.service = upstream.service;
    this.#options = options;
    // Healthy until a check or a request says otherwise, so a gateway that has just started (or
    // whose checks lag) routes at once rather than refusing everything for an interval.
    this.replicas = upstream.origins.map((origin) => ({ origin, healthy: true }));
    for (const replica of this.replicas) this.#publish(replica);
  }

  /**
   * The next replica in round-robin order that is healthy and not `exclude` (the one that just
   * failed). When none is known healthy, the next one that is not `exclude` all the same: the
   * check may lag behind a replica that has come back, and trying costs one connection attempt,
   * where refusing would fail the request for certain. Undefined only when no other replica exists.
   */
  pick(exclude?: Replica): Replica | undefined {
    const count = this.replicas.length;
    let fallback: Replica | undefined;
    let fallbackIndex = 0;
    for (let step = 0; step < count; step += 1) {
      const index = (this.#cursor + step) % count;
      const replica = this.replicas[index]!;
      if (replica === exclude) continue;
      if (replica.healthy) {
        this.#cursor = index + 1;
        return replica;
      }
      if (!fallback) {
        fallback = replica;
        fallbackIndex = index;
      }
    }
    if (fallback) this.#cursor = fallbackIndex + 1;
    return fallback;
  }

  /** Takes `replica` out of the rotation until its readiness check answers 200 again. */
  markDown(replica: Replica, reason: string): void {
    if (!replica.healthy) return;
    replica.healthy = false;
    this.#publish(replica);
    this.#options.log.warn({ backend: this.service, upstream: replica.origin, reason }, `${this.service} replica ${replica.origin} is unhealthy`);
  }

  #markUp(replica: Replica): void {
    if (replica.healthy) return;
    replica.healthy = true;
    this.#publish(replica);
    this.#options.log.info({ backend: this.service, upstream: replica.origin }, `${this.service} replica ${replica.origin} is healthy again`);
  }

  #publish(replica: Replica): void {
    this.#options.gauge.set({ service: this.service, upstream: replica.origin }, replica.healthy ? 1 : 0);
  }

  /** Checks every replica now and then every interval, each on its own clock, until `stop`. */
  start(): void {
    for (const replica of this.replicas) this.#schedule(replica, 0);
  }

  #schedule(replica: Replica, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(async () => {
      const ready = await isReady(replica.origin, this.#options.timeoutMs, this.#checking);
      if (this.#stopped) return;
      if (ready) this.#markUp(replica);
      else this.markDown(replica, 'readiness check failed');
      // The next check is counted from the end of this one, so a slow replica never has two at once.
      this.#schedule(replica, this.#options.intervalMs);
    }, delayMs);
    this.#timers.set(replica, timer);
  }

  /** Cancels the pending checks and aborts those in flight, so a closed gateway holds nothing open. */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const abort of this.#checking) abort();
  }
}

/**
 * What a failed attempt says about the request and the replica, read from the error undici
 * raised (reply-from wraps it and keeps it as `cause`).
 *
 * undici writes a request only on a connected socket, and when a socket dies before a queued
 * request was written it re-queues that request on a new connection rather than failing it. So
 * an error raised while connecting (refused, connect timeout, no route, name not resolved) is
 * the one case in which the request provably never left the gateway: `sent: false`. Any error
 * after that (reset, "other side closed", headers timeout) came after at least part of the
 * request was written, and the service may have acted on it: `sent: true`. Undefined for errors
 * that say nothing about the replica's health.
 */
export type Failure = { sent: boolean; kind: 'connect' | 'reset' | 'timeout' };

const connectCodes = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);
const resetCodes = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export function classifyFailure(error: unknown): Failure | undefined {
  const cause = ((error as { cause?: unknown }).cause ?? error) as { code?: unknown; syscall?: unknown };
  const code = typeof cause.code === 'string' ? cause.code : '';
  // Node's socket errors name the call that failed; a failed connect or lookup sent nothing.
  if (connectCodes.has(code) || cause.syscall === 'connect' || cause.syscall === 'getaddrinfo') {
    return { sent: false, kind: 'connect' };
  }
  if (resetCodes.has(code)) return { sent: true, kind: 'reset' };
  if (timeoutCodes.has(code)) return { sent: true, kind: 'timeout' };
  return undefined;
}
