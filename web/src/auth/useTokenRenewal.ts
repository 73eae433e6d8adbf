import { useEffect } from 'react';
import type { ConsoleConfig } from '../config/consoleConfig.ts';
import { renewalDelayMs, renewSession } from './renewal.ts';
import { tokenStore, type Session } from './session.ts';

/**
 * Schedules the renewal of the session's access token (OIDC with a refresh token only; the
 * development provider issues none) from the token's own `iat` and `exp`, so a session restored
 * after a reload is renewed on time too. `onRenewed` gets the new access token (already stored);
 * `onFailed` is called when the session cannot go on. Both must be stable callbacks.
 */
export function useTokenRenewal(
  session: Session | null,
  config: ConsoleConfig,
  onRenewed: (accessToken: string) => void,
  onFailed: () => void,
): void {
  const accessToken = session?.accessToken;
  const expiresAt = session?.expiresAt;
  const issuedAt = session?.issuedAt;
  useEffect(() => {
    if (config.authMode !== 'oidc' || !accessToken || expiresAt === undefined || !tokenStore.loadRefreshToken()) return;
    const delay = renewalDelayMs({ expiresAt, issuedAt });
    if (delay === undefined) return;
    // Cleared with the effect: the answer for an ended session (or in StrictMode's first, discarded
    // run of the effect) is not applied.
    let active = true;
    const timer = setTimeout(() => {
      renewSession(config, expiresAt * 1000).then(
        (renewed) => {
          if (active && renewed) onRenewed(renewed);
        },
        () => {
          if (active) onFailed();
        },
      );
    }, delay);
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }, [accessToken, expiresAt, issuedAt, config, onRenewed, onFailed]);
}
