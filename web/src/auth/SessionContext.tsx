import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { configureApiClient } from '../api/client.ts';
import { useConsoleConfig } from '../config/ConfigContext.tsx';
import { renewalInFlight } from './renewal.ts';
import { isExpired, sessionFromToken, tokenStore, type Session } from './session.ts';
import { useTokenRenewal } from './useTokenRenewal.ts';

type SessionState = {
  session: Session | null;
  /** Why the last session ended when it was not the user's choice: shown on the sign-in screen. */
  expired: boolean;
  /** Starts a session with a token; false when the token names nobody. */
  signIn: (accessToken: string) => boolean;
  signOut: () => void;
  /** Ends the session because the server refused its token (401): "session expired". */
  expire: () => void;
};

const SessionContext = createContext<SessionState | null>(null);

function restore(): { session: Session | null; expired: boolean } {
  const token = tokenStore.load();
  const session = token ? sessionFromToken(token) : undefined;
  if (!session) return { session: null, expired: false };
  if (isExpired(session)) {
    tokenStore.clear();
    return { session: null, expired: true };
  }
  return { session, expired: false };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const config = useConsoleConfig();
  const [state, setState] = useState(restore);

  const expire = useCallback(() => {
    tokenStore.clear();
    setState({ session: null, expired: true });
  }, []);

  const signIn = useCallback((accessToken: string) => {
    const session = sessionFromToken(accessToken);
    if (!session) {
      // Nor the refresh token the OIDC sign-in stored with it.
      tokenStore.clear();
      return false;
    }
    tokenStore.save(accessToken);
    setState({ session, expired: false });
    return true;
  }, []);

  const signOut = useCallback(() => {
    tokenStore.clear();
    setState({ session: null, expired: false });
  }, []);

  // Every API call reads the current token, and any 401 (expired, revoked) ends the session.
  // Set while rendering, not in an effect: the screens' first loads run in effects of their
  // own, which React runs before this provider's.
  configureApiClient({ getToken: () => tokenStore.load(), onUnauthorized: expire });

  // A renewed token replaces the session in place: the same screens go on with the new token
  // (the API client and the live stream read it from the store on each request and connection).
  const renewed = useCallback(
    (accessToken: string) => {
      const session = sessionFromToken(accessToken);
      if (session) setState({ session, expired: false });
      else expire();
    },
    [expire],
  );
  useTokenRenewal(state.session, config, renewed, expire);

  // End the session when the token expires, rather than on the next click; unless a renewal is
  // still under way (a late timer in a background tab, a slow provider): it ends or renews it.
  const expiresAt = state.session?.expiresAt;
  useEffect(() => {
    if (expiresAt === undefined) return;
    const atExpiry = () => {
      if (!renewalInFlight()) expire();
    };
    const timer = setTimeout(atExpiry, Math.min(2 ** 31 - 1, Math.max(0, expiresAt * 1000 - Date.now())));
    return () => clearTimeout(timer);
  }, [expiresAt, expire]);

  const value = useMemo(() => ({ ...state, signIn, signOut, expire }), [state, signIn, signOut, expire]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}
