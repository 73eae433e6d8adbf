/**
 * What the gateway tells the console at `GET /console/config.json` (public, no token): how staff
 * sign in and the hospital's time zone. Loaded once before anything renders, because the sign-in
 * screen and every date shown depend on it.
 */
export type ConsoleConfig = {
  authMode: 'dev' | 'oidc';
  issuer: string;
  clientId: string | null;
  scope: string;
  timeZone: string;
};

export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /console/config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<ConsoleConfig>;
  return {
    authMode: body.authMode === 'oidc' ? 'oidc' : 'dev',
    issuer: body.issuer ?? `${location.origin}/auth`,
    clientId: body.clientId ?? null,
    scope: body.scope ?? 'openid profile',
    // A config without a zone would silently show the browser's zone; the hospital's is the default.
    timeZone: body.timeZone ?? 'Asia/Seoul',
  };
}
