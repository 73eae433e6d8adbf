import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The simulation's HTTP client of the gateway: the staff's calls of the real API, each as the demo
 * user of the role that makes it, and the reporting of every answer the simulation did not
 * expect (the status and the problem's detail, counted as an error of the run).
 *
 * Every POST carries an Idempotency-Key of its own, as the staff console's do, so a command whose
 * answer was lost (no answer, a reset connection) is sent again once, safely. A 401 (the token
 * expired meanwhile) signs in again once; a 429 (the gateway's rate limit, RATE_LIMIT_PER_MINUTE per
 * user) waits as long as its Retry-After says and tries again, and is counted, not an error.
 */

/** The demo users of the development identity provider the simulation acts as (services/gateway/src/dev-identity-provider.ts). */
export type StaffUser = 'receptionist' | 'doctor' | 'doctor-surgery' | 'examiner' | 'manager' | 'admin';

export type Answer<T> = { status: number; body: T; /** The real instant the answer arrived (ms since the epoch). */ at: number };

export type Tokens = {
  tokenFor(user: StaffUser): Promise<string>;
  /** The token was refused (401): the next request signs in again. */
  forget(user: StaffUser): void;
};

/** How long one request may take before it counts as unanswered. */
const REQUEST_TIMEOUT_MS = 30_000;
/** A 429 is retried this many times before it is an error. */
const THROTTLE_RETRIES = 10;
/** Renewed this long before it expires, or at half its life if that is sooner. */
const RENEW_BEFORE_MS = 60_000;
/** The printed problems: the first ones say what goes wrong; the count says how often. */
const PRINTED_PROBLEMS = 20;

/** Every request with the same token: SIMULATE_TOKEN, an admin's token of the hospital's identity provider (AUTH_MODE=oidc). */
export function fixedToken(token: string): Tokens {
  return { tokenFor: async () => token, forget: () => undefined };
}

/**
 * Tokens of the gateway's development identity provider (`npm start`): POST /auth/token as each
 * demo user with the demo password, kept until shortly before they expire (15 minutes by default,
 * DEV_TOKEN_LIFETIME_SECONDS), then renewed.
 */
export function devSignIn(gatewayUrl: string, password = 'demo', log: (line: string) => void = () => undefined): Tokens {
  const cache = new Map<StaffUser, { token: string; renewAt: number }>();
  const pending = new Map<StaffUser, Promise<string>>();
  const signIn = async (user: StaffUser): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(`${gatewayUrl}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username: user, password }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status === 429 && attempt < THROTTLE_RETRIES) {
        await delay(retryAfterMs(response));
        continue;
      }
      if (response.status !== 200) throw new Error(`signing in as ${user} failed (POST /auth/token: ${response.status} ${problemDetail(text)})`);
      const { access_token: token, expires_in: lifetimeS } = JSON.parse(text) as { access_token: string; expires_in: number };
      const lifetimeMs = lifetimeS * 1_000;
      cache.set(user, { token, renewAt: Date.now() + Math.min(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) });
      log(`simulate: signed in as ${user}`);
      return token;
    }
  };
  return {
    tokenFor: (user) => {
      const cached = cache.get(user);
      if (cached && Date.now() < cached.renewAt) return Promise.resolve(cached.token);
      let signing = pending.get(user);
      if (!signing) {
        signing = signIn(user).finally(() => pending.delete(user));
        pending.set(user, signing);
      }
      return signing;
    },
    forget: (user) => void cache.delete(user),
  };
}

function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1_000 : 1_000;
}

/** What a problem+json answer says, in one line; the start of any other body. */
export function problemDetail(text: string): string {
  try {
    const problem = JSON.parse(text) as { title?: unknown; detail?: unknown };
    const parts = [problem.title, problem.detail].filter((part): part is string => typeof part === 'string' && part !== '');
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // Not JSON: shown as it is.
  }
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

export type CallOptions = { json?: unknown; /** The statuses this call expects (default 200). */ expect?: readonly number[] };

/** The unexpected answers of a run: each printed (the first ones), all counted. */
export type Problems = { count: number; throttled: number; samples: string[] };

export type GatewayClient = {
  readonly url: string;
  readonly problems: Problems;
  /**
   * One call as `user`: the answer when its status is one `expect`s, else undefined, the answer
   * reported and counted (the caller gives up what it was doing for that visit).
   */
  call<T>(user: StaffUser, method: 'GET' | 'POST', path: string, options?: CallOptions): Promise<Answer<T> | undefined>;
  /** Counts and prints a failure found otherwise (a state that did not come in time). */
  report(line: string): void;
};

export function gatewayClient(url: string, tokens: Tokens, log: (line: string) => void): GatewayClient {
  const problems: Problems = { count: 0, throttled: 0, samples: [] };
  const report = (line: string) => {
    problems.count += 1;
    if (problems.samples.length < PRINTED_PROBLEMS) {
      problems.samples.push(line);
      log(`simulate: error: ${line}`);
    }
  };
  const send = async (user: StaffUser, method: string, path: string, json: unknown, key: string | undefined) => {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', authorization: `Bearer ${await tokens.tokenFor(user)}` };
    if (json !== undefined) headers['content-type'] = 'application/json';
    if (key) headers['idempotency-key'] = key;
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { response, text: await response.text() };
  };
  const call = async <T>(user: StaffUser, method: 'GET' | 'POST', path: string, options: CallOptions = {}): Promise<Answer<T> | undefined> => {
    const expect = options.expect ?? [200];
    const key = method === 'POST' ? randomUUID() : undefined;
    const what = `${method} ${path} as ${user}`;
    let resent = false;
    let renewed = false;
    for (let throttled = 0; ; ) {
      let answer: Awaited<ReturnType<typeof send>>;
      try {
        answer = await send(user, method, path, options.json, key);
      } catch (error) {
        if (!resent) {
          resent = true;
          continue;
        }
        report(`${what}: no answer (${causeOf(error)})`);
        return undefined;
      }
      const { response, text } = answer;
      if (response.status === 401 && !renewed) {
        renewed = true;
        tokens.forget(user);
        continue;
      }
      if (response.status === 429 && throttled++ < THROTTLE_RETRIES) {
        problems.throttled += 1;
        await delay(retryAfterMs(response));
        continue;
      }
      if (expect.includes(response.status)) return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T, at: Date.now() };
      report(`${what}: ${response.status} ${problemDetail(text)}`);
      return undefined;
    }
  };
  return { url, problems, call, report };
}

/** fetch says "fetch failed"; its cause (ECONNREFUSED, a timeout) says why. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
