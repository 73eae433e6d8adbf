import { rolesFor } from '@medical/contracts/permissions';
import type { Role } from '@medical/contracts/actor';

/**
 * Bearer tokens for the end-to-end tests, from the development identity provider of the running
 * test system's gateway (POST /auth/token, AUTH_MODE=dev). One token per role, cached until
 * shortly before it expires. A request gets the token of the first role the permission table
 * names for its route (`rolesFor(method, path)`): the specific role before admin, so the
 * receptionist registers, the doctor prescribes and the examiner performs, and the audit trail
 * names who would really have done it.
 *
 * A gateway without the provider (404 on /auth/token: authentication not wired, or AUTH_MODE=oidc)
 * gives no tokens, and requests go without one.
 */

export const DEV_PASSWORD = 'demo';
/** The development provider's demo client of another hospital system (role integration). */
export const DEMO_SYSTEM_CLIENT = 'demo-integration';

/** Renewed this long before it expires. */
const RENEW_BEFORE_MS = 60_000;

type Cached = { token: string; expiresAt: number };

export class TokenSource {
  readonly gatewayUrl: string;
  readonly password: string;
  private readonly cache = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<string | undefined>>();
  /** Set once the gateway answered 404: it has no development identity provider. */
  private unavailable = false;

  constructor(gatewayUrl: string, password = process.env.DEV_PASSWORD || DEV_PASSWORD) {
    this.gatewayUrl = gatewayUrl.replace(/\/+$/, '');
    this.password = password;
  }

  /** A token for `role` (its demo user, named after it), or undefined when the gateway issues none. */
  async tokenFor(role: Role): Promise<string | undefined> {
    return this.tokenForUser(role);
  }

  /**
   * A token for the demo user `username`: a role's own, or another one such as `doctor-surgery`
   * (a doctor of another department than `doctor`'s); undefined when the gateway issues none.
   */
  async tokenForUser(username: string): Promise<string | undefined> {
    if (this.unavailable) return undefined;
    const cached = this.cache.get(username);
    if (cached && cached.expiresAt - RENEW_BEFORE_MS > Date.now()) return cached.token;
    let pending = this.pending.get(username);
    if (!pending) {
      pending = this.fetchToken(username).finally(() => this.pending.delete(username));
      this.pending.set(username, pending);
    }
    return pending;
  }

  /** Fetches a token for every role now (so a test that stops the gateway still has them). */
  async prefetch(roles: readonly Role[] = ['receptionist', 'doctor', 'examiner', 'manager', 'admin']): Promise<void> {
    for (const role of roles) await this.tokenFor(role);
  }

  /**
   * A demo user's token by the password grant; the role `integration`'s, which no person holds, as
   * the demo system client `demo-integration` by client credentials (every scope it may ask for).
   */
  private async fetchToken(username: string): Promise<string | undefined> {
    const body = username === 'integration' ? { grant_type: 'client_credentials', client_id: DEMO_SYSTEM_CLIENT, client_secret: this.password } : { username, password: this.password };
    const response = await fetch(`${this.gatewayUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (response.status === 404) {
      this.unavailable = true;
      return undefined;
    }
    if (response.status !== 200) throw new Error(`POST /auth/token as ${username}: ${response.status} ${text.slice(0, 500)}`);
    const issued = JSON.parse(text) as { access_token: string; expires_in: number };
    this.cache.set(username, { token: issued.access_token, expiresAt: Date.now() + issued.expires_in * 1000 });
    return issued.access_token;
  }
}

/** The token source of the test system running now (systems run one at a time); set when it starts. */
let current: TokenSource | undefined;

export function setCurrentTokenSource(source: TokenSource | undefined): void {
  current = source;
}

export function currentTokenSource(): TokenSource | undefined {
  return current;
}

/** The role a request to `method path` is made as: the first the permission table allows, or undefined for a public route. */
export function roleFor(method: string, pathAndQuery: string): Role | undefined {
  return rolesFor(method, pathAndQuery)?.[0];
}

/**
 * `{ authorization: 'Bearer …' }` for a request to `method path` (as `role`, or as the route's
 * first role), from `source` (default: the running test system's); {} for a public route or when
 * there is no token to give.
 */
export async function authHeaders(method: string, pathAndQuery: string, role?: Role, source = current): Promise<Record<string, string>> {
  const as = role ?? roleFor(method, pathAndQuery);
  if (!as || !source) return {};
  const token = await source.tokenFor(as);
  return token ? { authorization: `Bearer ${token}` } : {};
}
