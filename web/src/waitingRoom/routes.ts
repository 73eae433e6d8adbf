import type { Role } from '@medical/contracts/actor';

/**
 * The waiting room's two pages, at real paths (the gateway serves index.html at both, see
 * services/gateway/src/console.ts), outside the staff console's hash routes:
 * - `/display/{department}`: a department's call screen, on the waiting room's TV;
 * - `/ticket/{token}`: a patient's own ticket, from the QR code on it, on their phone.
 */
export type WaitingRoomRoute = { page: 'display'; department: string } | { page: 'ticket'; token: string };

const DISPLAY_PATH = /^\/display\/([^/]+)\/?$/;
const TICKET_PATH = /^\/ticket\/([^/]+)\/?$/;

/** The page a path names, or undefined for the staff console's. */
export function waitingRoomRoute(pathname: string): WaitingRoomRoute | undefined {
  const display = DISPLAY_PATH.exec(pathname);
  if (display) return { page: 'display', department: decodeURIComponent(display[1]!) };
  const ticket = TICKET_PATH.exec(pathname);
  if (ticket) return { page: 'ticket', token: decodeURIComponent(ticket[1]!) };
  return undefined;
}

const DISPLAY_PATH_KEY = 'waitingRoom.displayPath';

/**
 * The call screen this tab shows, kept for the session: the hospital's sign-in (OIDC) returns to
 * `/`, and a display's session is sent back here from there (DisplaySessionGuard).
 */
export const displayPathStore = {
  save(pathname: string): void {
    sessionStorage.setItem(DISPLAY_PATH_KEY, pathname);
  },
  load(): string | null {
    const pathname = sessionStorage.getItem(DISPLAY_PATH_KEY);
    // Only ever a call screen's path of this origin, whatever the storage holds.
    return pathname && waitingRoomRoute(pathname)?.page === 'display' ? pathname : null;
  },
};

/** A call screen's account: the `display` role and no staff role, so none of the staff screens. */
export function isDisplayOnly(roles: readonly Role[]): boolean {
  return roles.includes('display') && roles.every((role) => role === 'display');
}
