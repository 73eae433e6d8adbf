import type { ConsoleConfig } from '../config/consoleConfig.ts';
import { isRetryableRenewalFailure, refreshTokens } from './oidc.ts';
import { tokenStore, type Session } from './session.ts';

/**
 * Renewal of the OIDC access token with the refresh token, before it expires: providers issue
 * short access tokens (Keycloak 5 minutes by default, Entra ID about an hour), and without this
 * staff would be sent back to sign-in mid-task.
 */

/** Renew this long before expiry at least: a request sent just before `exp` must still be accepted. */
const MARGIN_SECONDS = 60;
/** ...or once this share of the lifetime has passed, when that is earlier (long-lived tokens). */
const RENEW_AT_SHARE = 0.8;
/**
 * ...but never before half the lifetime: a token shorter than twice the margin (a test provider,
 * a misconfigured one) would otherwise be renewed as soon as it arrives, and so would each of
 * its successors, in a loop.
 */
const EARLIEST_SHARE = 0.5;
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 15_000;

/** Milliseconds until the session's token should be renewed (0: now); undefined when it never expires. */
export function renewalDelayMs(session: Pick<Session, 'expiresAt' | 'issuedAt'>, now = Date.now()): number | undefined {
  const { expiresAt } = session;
  if (expiresAt === undefined) return undefined;
  // Without `iat`, the lifetime left is the best guess of the lifetime.
  const issuedAt = Math.min(session.issuedAt ?? now / 1000, expiresAt);
  const lifetime = expiresAt - issuedAt;
  const renewAt = Math.max(expiresAt - Math.max(MARGIN_SECONDS, lifetime * (1 - RENEW_AT_SHARE)), issuedAt + lifetime * EARLIEST_SHARE);
  return Math.min(2 ** 31 - 1, Math.max(0, renewAt * 1000 - now));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The renewal in flight, if any: only one at a time, because a rotated refresh token is
 * single-use and the provider revokes the whole grant when one is used twice.
 */
let inFlight: Promise<string | null> | undefined;

export function renewalInFlight(): boolean {
  return inFlight !== undefined;
}

/**
 * Renews the stored access token with the stored refresh token and stores both new ones.
 * Resolves the new access token, or null when there was nothing to renew or the session ended
 * (or another began) meanwhile: then nothing is stored. Rejects when the provider refused the
 * refresh token, or was unreachable until `deadlineMs` (the access token's expiry): the session
 * cannot go on. A call while a renewal is in flight joins it.
 */
export function renewSession(config: ConsoleConfig, deadlineMs: number): Promise<string | null> {
  inFlight ??= renew(config, deadlineMs).finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

async function renew(config: ConsoleConfig, deadlineMs: number): Promise<string | null> {
  const used = tokenStore.loadRefreshToken();
  if (!used) return null;
  // Signing out clears the store: a late answer must not bring the ended session back.
  const stillCurrent = () => tokenStore.loadRefreshToken() === used;
  for (let retryMs = FIRST_RETRY_MS; ; retryMs = Math.min(MAX_RETRY_MS, retryMs * 2)) {
    try {
      const renewed = await refreshTokens(config, used);
      if (!stillCurrent()) return null;
      tokenStore.save(renewed.accessToken);
      tokenStore.saveRefreshToken(renewed.refreshToken ?? used);
      return renewed.accessToken;
    } catch (error) {
      if (!isRetryableRenewalFailure(error) || Date.now() + retryMs >= deadlineMs) throw error;
    }
    await sleep(retryMs);
    if (!stillCurrent()) return null;
  }
}
