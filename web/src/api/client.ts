import { breakGlassHeader, breakGlassHeaderValue } from './breakGlass.ts';
import { ApiError, NetworkError, readProblem } from './problem.ts';

/**
 * The one place the console talks HTTP to the gateway: adds the bearer token, parses
 * problem+json failures into ApiError, and reports a 401 so the session ends (an expired or
 * revoked token: back to the sign-in screen).
 */
type ClientHooks = { getToken: () => string | null; onUnauthorized: () => void };
let hooks: ClientHooks = { getToken: () => null, onUnauthorized: () => {} };

export function configureApiClient(next: ClientHooks): void {
  hooks = next;
}

export type RequestOptions = {
  method?: 'GET' | 'POST';
  /** A JSON body. */
  json?: unknown;
  /** A multipart body (the browser sets its boundary). */
  form?: FormData;
  /** Sent as `Idempotency-Key` so a retried submission is applied once. */
  idempotencyKey?: string;
  /** The doctor's reason for opening or acting on another department's diagnosis, sent (percent-encoded) as `Break-Glass`. */
  breakGlass?: string;
  signal?: AbortSignal;
};

async function send(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const headers = new Headers({ Accept: accept });
  const token = hooks.getToken();
  if (token) headers.set('Authorization', `Bearer ${token}`);
  if (options.idempotencyKey) headers.set('Idempotency-Key', options.idempotencyKey);
  if (options.breakGlass !== undefined) headers.set(breakGlassHeader, breakGlassHeaderValue(options.breakGlass));
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = options.form;
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body, signal: options.signal, cache: 'no-store' });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new NetworkError(error);
  }
  if (response.ok) return response;
  const problem = await readProblem(response);
  if (response.status === 401) hooks.onUnauthorized();
  throw new ApiError(response.status, problem, `${options.method ?? 'GET'} ${path} answered ${response.status}`);
}

export async function apiJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options, 'application/json, application/problem+json');
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export async function apiBlob(path: string, options: RequestOptions = {}): Promise<Blob> {
  const response = await send(path, options, '*/*');
  return response.blob();
}

/** A query string from the defined parameters (`?a=1&b=x`), or '' when there is none. */
export function queryString(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
