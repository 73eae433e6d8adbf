import type { Role } from '@medical/contracts/actor';

/** Who is signed in, read from the access token's claims. */
export type Session = {
  accessToken: string;
  subject: string;
  name: string;
  roles: Role[];
  /** Seconds since the epoch; undefined when the token says nothing. */
  expiresAt: number | undefined;
  /** When the token was issued (`iat`, seconds since the epoch): its lifetime times the renewal. */
  issuedAt: number | undefined;
};

/**
 * The roles the console knows, keyed by the contracts' `Role`, so adding a role there fails to
 * compile here until it is added (and a name that is no role fails too): the staff's, the
 * waiting room's call screen (`display`), which has no staff screen, and another system
 * (`integration`), which has none either: a token of one is told so by the console (app.noScreens)
 * under its role's name, like any account without a screen. The contracts' own `roles` is
 * not imported as a value: its module builds schemas at load, which would bring TypeBox into the
 * bundle (see api/types.ts).
 */
const staffRoleSet: Record<Role, true> = { receptionist: true, doctor: true, examiner: true, manager: true, auditor: true, admin: true, display: true, integration: true };
const staffRoles = Object.keys(staffRoleSet) as Role[];
const STORAGE_KEY = 'console.accessToken';
const REFRESH_KEY = 'console.refreshToken';

/**
 * The payload of a JWT, decoded without verifying it: the console only reads who is signed in
 * to choose its screens; every service verifies the token on each request.
 */
function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function sessionFromToken(accessToken: string): Session | undefined {
  const claims = decodeJwtPayload(accessToken);
  if (!claims) return undefined;
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is Role => staffRoles.includes(r as Role)) : [];
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  const name =
    typeof claims.name === 'string' && claims.name
      ? claims.name
      : typeof claims.preferred_username === 'string'
        ? claims.preferred_username
        : subject;
  return {
    accessToken,
    subject,
    name,
    roles,
    expiresAt: typeof claims.exp === 'number' ? claims.exp : undefined,
    issuedAt: typeof claims.iat === 'number' ? claims.iat : undefined,
  };
}

export function isExpired(session: Session, now = Date.now()): boolean {
  return session.expiresAt !== undefined && session.expiresAt * 1000 <= now;
}

/**
 * The tokens live in sessionStorage: they survive a reload of this tab but not the tab itself,
 * and no other tab or a later visitor of the workstation finds them (localStorage would keep
 * them). The refresh token (OIDC only, when the provider issues one) renews the access token;
 * it belongs to the same session and is cleared with it.
 */
export const tokenStore = {
  load(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  save(token: string): void {
    sessionStorage.setItem(STORAGE_KEY, token);
  },
  loadRefreshToken(): string | null {
    return sessionStorage.getItem(REFRESH_KEY);
  },
  /** Undefined removes it: a token response without one leaves nothing of an earlier session. */
  saveRefreshToken(token: string | undefined): void {
    if (token) sessionStorage.setItem(REFRESH_KEY, token);
    else sessionStorage.removeItem(REFRESH_KEY);
  },
  clear(): void {
    sessionStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
  },
};
