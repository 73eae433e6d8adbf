import { randomUUID } from 'node:crypto';
import { Client, type HttpReply, type RequestOptions, type TestSystem } from '../../test/e2e/helpers.ts';

/**
 * The gateway's client as the staff console is one: every command (POST) carries an
 * Idempotency-Key of its own, a fresh random UUID (web/src/api/client.ts sends one per form
 * submission). The key is part of what a command costs the system (the services keep it and its
 * answer in the command's transaction), so a bench without it would measure less than the staff
 * cause. Reads go as they are.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

class StaffConsoleClient extends Client {
  override request<T = any>(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
    const given = options.headers ?? {};
    const hasKey = Object.keys(given).some((name) => name.toLowerCase() === IDEMPOTENCY_KEY_HEADER.toLowerCase());
    if (method.toUpperCase() !== 'POST' || hasKey) return super.request<T>(method, pathAndQuery, options);
    return super.request<T>(method, pathAndQuery, { ...options, headers: { ...given, [IDEMPOTENCY_KEY_HEADER]: randomUUID() } });
  }
}

/** A client of the bench system's gateway whose commands carry Idempotency-Keys, with the system's tokens. */
export function staffConsoleClient(bench: TestSystem): Client {
  return new StaffConsoleClient(bench.system.gatewayUrl, { tokens: bench.tokens });
}
