import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import type { Browser, Response } from 'playwright-core';
import ko from '../../web/src/messages/ko.json' with { type: 'json' };
import { startTestSystem, type TestSystem } from '../e2e/helpers.ts';
import { assertNoReload, launchBrowser, markDocument, openPage, screenshot, type OpenedPage } from './support/browser.ts';
import { startOidcServer, type OidcServer } from './support/oidc-provider.ts';

/**
 * The staff console's production sign-in, end to end in Debian's Chromium: OpenID Connect
 * authorization code with PKCE for a public client (no secret), against a real provider
 * (oidc-provider, in this process: support/oidc-provider.ts), with the whole system started in
 * AUTH_MODE=oidc on that provider. The doctor clicks the console's sign-in button, signs in on
 * the provider's own login and consent pages, comes back to the console with a code, and the
 * console trades it (cross-origin, CORS) for a JWT access token, which the gateway and the
 * services verify through the provider's discovery and JWKS: the doctor's screen loads its
 * worklist with it, and the role in it (from the provider) opens /diagnoses but not /receptions.
 *
 * The harness's Client and TokenSource sign in at the gateway's development provider
 * (/auth/token), which AUTH_MODE=oidc does not have: every API call here is a plain fetch with
 * the token the browser got. Waiting is Playwright's or on a response, never a fixed sleep.
 *
 * The provider's access tokens live 20 s, and it answers the code with a rotating refresh token:
 * the console renews its access token before each expires, in place (same document, same
 * screen, same live stream), also after a reload, and ends the session as expired once the
 * provider refuses its refresh token.
 */

const CLIENT_ID = 'medical-console';
const AUDIENCE = 'medical-visit-workflow';
const DOCTOR = { id: 'dr-kim', name: '김서연', roles: ['doctor'] };
/** Short, as real providers' are (Keycloak's default is 5 minutes), so renewal happens within the test. */
const ACCESS_TOKEN_TTL_SECONDS = 20;
const ACCESS_KEY = 'console.accessToken';
const REFRESH_KEY = 'console.refreshToken';

let oidc: OidcServer;
let running: TestSystem | undefined;
let browser: Browser | undefined;
let opened: OpenedPage | undefined;
/** What the console's page asked and was answered (the latest at the end), for failure messages. */
const seen: string[] = [];

before(async () => {
  // The provider listens first, so every process can be given its issuer; it is configured once
  // the gateway's URL (the console's redirect URI) is known. Nothing asks it before a token exists.
  oidc = await startOidcServer();
  running = await startTestSystem('oidc-sign-in', {
    env: {
      AUTH_MODE: 'oidc',
      OIDC_ISSUER: oidc.issuer,
      OIDC_AUDIENCE: AUDIENCE,
      CONSOLE_OIDC_CLIENT_ID: CLIENT_ID,
      CONSOLE_OIDC_SCOPE: 'openid profile',
    },
  });
  await oidc.configure({
    clientId: CLIENT_ID,
    redirectUri: `${running.system.gatewayUrl}/`,
    audience: AUDIENCE,
    accounts: [DOCTOR],
    accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
  });
  browser = await launchBrowser();
});

afterEach((t) => running?.recordOutcome({ passed: (t as { passed?: boolean }).passed !== false }));

after(async () => {
  await opened?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  try {
    await running?.stop();
  } finally {
    await oidc?.close();
  }
});

/** The claims and header of a JWT, decoded without verifying it (the system verifies it below). */
function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  assert.ok(header && payload, 'the access token should be a JWT');
  const part = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
}

/** Runs a test's steps on the console's page; a failure tells what the page showed and asked, and what the provider reported. */
async function onConsolePage(steps: (page: OpenedPage['page']) => Promise<void>): Promise<void> {
  assert.ok(opened, 'the console page should be open (signed in by the sign-in test)');
  const { page, errors } = opened;
  try {
    await steps(page);
  } catch (error) {
    const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '(no body)');
    // A new error: the runner prints the stack, which holds the message as it was when thrown.
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}` +
        `\n--- page ${page.url()} ---\n${text.slice(0, 1500)}\n--- responses ---\n${seen.slice(-40).join('\n')}` +
        `\n--- page errors ---\n${[...errors.uncaught, ...errors.console].join('\n')}\n--- provider ---\n${oidc.errors().join('\n')}`,
      { cause: error },
    );
  }
}

test('the gateway tells the console to sign in with the OIDC provider', async () => {
  const response = await fetch(`${running!.system.gatewayUrl}/console/config.json`);
  assert.equal(response.status, 200);
  const config = (await response.json()) as Record<string, unknown>;
  assert.equal(config.authMode, 'oidc');
  assert.equal(config.issuer, oidc.issuer);
  assert.equal(config.clientId, CLIENT_ID);
  // The development provider is not there in oidc mode.
  const devToken = await fetch(`${running!.system.gatewayUrl}/auth/token`, { method: 'POST' });
  assert.equal(devToken.status, 404);
});

test('the doctor signs in with authorization code + PKCE at the provider, and the token works on the gateway and the services', { timeout: 60_000 }, async () => {
  const gatewayUrl = running!.system.gatewayUrl;
  const gatewayOrigin = new URL(gatewayUrl).origin;
  opened = await openPage(browser!, { label: 'doctor (oidc)' });
  const { page, errors } = opened;
  page.on('response', (response) => seen.push(`${response.status()} ${response.request().method()} ${response.url().split('?')[0]}`));
  page.on('requestfailed', (request) => seen.push(`failed ${request.method()} ${request.url().split('?')[0]}: ${request.failure()?.errorText ?? ''}`));
  await onConsolePage(signInAndCheck);

  async function signInAndCheck(): Promise<void> {
    await page.goto(`${gatewayUrl}/`);
    await page.getByRole('heading', { level: 1, name: ko.signIn.title, exact: true }).waitFor();

    // The console leaves for the provider's authorization endpoint, which sends it to the login page.
    await page.getByRole('button', { name: ko.signIn.oidcButton, exact: true }).click();
    await page.waitForURL((url) => url.origin === oidc.issuer && url.pathname.startsWith('/interaction/'));
    const login = page.locator('input[name="login"]');
    await login.waitFor();
    await login.fill(DOCTOR.id);
    await page.locator('input[name="password"]').fill('any password: the dev login checks none');
    await screenshot(page, 'console-oidc-provider-login');
    await page.getByRole('button', { name: 'Sign-in', exact: true }).click();

    // Consent, then the redirect back to the console with ?code=&state=, which the console trades
    // for tokens at the provider's token endpoint (a cross-origin POST) and then uses on the API.
    const isTokenResponse = (response: Response) => response.url() === `${oidc.issuer}/token` && response.request().method() === 'POST';
    const isWorklistResponse = (response: Response) => {
      const url = new URL(response.url());
      return url.origin === gatewayOrigin && url.pathname === '/diagnoses' && response.request().method() === 'GET';
    };
    const tokenResponse = page.waitForResponse(isTokenResponse, { timeout: 30_000 });
    const worklistResponse = page.waitForResponse(isWorklistResponse, { timeout: 30_000 });
    const redirectBack = page.waitForRequest((request) => {
      const url = new URL(request.url());
      return request.isNavigationRequest() && url.origin === gatewayOrigin && url.searchParams.has('code') && url.searchParams.has('state');
    }, { timeout: 30_000 });
    // Awaited one after the other below: a failure of one must not leave the others unhandled.
    for (const waiting of [tokenResponse, worklistResponse, redirectBack]) waiting.catch(() => undefined);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();

    const back = new URL((await redirectBack).url());
    assert.equal(back.pathname, '/', 'the provider should redirect to the registered redirect URI');
    assert.equal(back.searchParams.get('iss'), oidc.issuer, 'the provider names itself in the response (RFC 9207)');
    const token = await tokenResponse;
    assert.equal(token.status(), 200, `the token endpoint should answer 200: ${await token.text().catch(() => '')}`);
    assert.equal(token.headers()['access-control-allow-origin'], gatewayOrigin, 'the token endpoint should allow the console origin (CORS)');

    // The doctor's screen, with the name from the provider's token, and the worklist loaded by the API.
    await page.getByRole('heading', { level: 1, name: ko.screens.doctor, exact: true }).waitFor();
    await page.getByTestId('signed-in-user').filter({ hasText: DOCTOR.name }).waitFor();
    const worklist = await worklistResponse;
    assert.equal(worklist.status(), 200, `the console GET ${worklist.url()} should succeed with the OIDC token`);
    await page.getByText(ko.doctor.worklist.empty, { exact: true }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, `no error alert should show: ${(await page.getByRole('alert').allTextContents()).join(' | ')}`);
    // The live stream (GET /patientManagements/stream, through the gateway) connected with it too.
    await page.locator('header [data-live-status="live"]').filter({ hasText: ko.live.live }).waitFor();

    const landed = new URL(page.url());
    assert.equal(landed.origin, gatewayOrigin);
    assert.equal(landed.searchParams.has('code'), false, `the code should be gone from the address bar: ${page.url()}`);
    assert.equal(landed.searchParams.has('state'), false, `the state should be gone from the address bar: ${page.url()}`);
    assert.equal(landed.search, '');
    await screenshot(page, 'console-oidc-signed-in');

    const stored = await page.evaluate(() => ({
      token: sessionStorage.getItem('console.accessToken'),
      refresh: sessionStorage.getItem('console.refreshToken'),
      pending: sessionStorage.getItem('console.oidc.pending'),
    }));
    assert.equal(stored.pending, null, 'the PKCE verifier and state should be gone once used');
    assert.ok(stored.token, 'the console should keep its access token in sessionStorage');
    assert.ok(stored.refresh, "the console should keep the provider's refresh token next to it");
    const accessToken = stored.token;

    // The token is the provider's JWT for the API, with the role and name the provider gave it.
    const { header, payload } = decodeJwt(accessToken);
    assert.equal(header.alg, 'ES256');
    assert.equal(payload.iss, oidc.issuer);
    assert.equal(payload.aud, AUDIENCE);
    assert.equal(payload.sub, DOCTOR.id);
    assert.equal(payload.client_id, CLIENT_ID);
    assert.deepEqual(payload.roles, DOCTOR.roles);
    assert.equal(payload.name, DOCTOR.name);

    // The gateway: no token is a 401, the doctor's token opens the doctor's resources only.
    const get = (url: string, bearer?: string) =>
      fetch(url, { headers: { accept: 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, signal: AbortSignal.timeout(10_000) });
    const anonymous = await get(`${gatewayUrl}/diagnoses`);
    assert.equal(anonymous.status, 401, 'an API call without a token should be refused');
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
    const diagnoses = await get(`${gatewayUrl}/diagnoses`, accessToken);
    assert.equal(diagnoses.status, 200, `GET /diagnoses with the doctor's OIDC token: ${await diagnoses.clone().text()}`);
    const body = (await diagnoses.json()) as { items?: unknown };
    assert.ok(Array.isArray(body.items), 'GET /diagnoses should answer a page of items');
    const receptions = await get(`${gatewayUrl}/receptions`, accessToken);
    assert.equal(receptions.status, 403, `GET /receptions is not the doctor's (role from the provider's token): ${await receptions.text()}`);

    // The services verify the token themselves too (discovery and JWKS at the provider), not only the gateway.
    const diagnosisService = running!.system.services.diagnosis.url;
    assert.equal((await get(`${diagnosisService}/diagnoses`, accessToken)).status, 200, 'the diagnosis service should accept the OIDC token');
    assert.equal((await get(`${diagnosisService}/diagnoses`)).status, 401, 'the diagnosis service should refuse a call without a token');
    assert.equal((await get(`${running!.system.services.reception.url}/receptions`, accessToken)).status, 403, 'the reception service should refuse the doctor');

    // No script error nor CSP violation on the console (the token request to the provider is allowed by connect-src).
    errors.assertClean();
    assert.deepEqual(oidc.errors(), [], 'the provider should report no error');
  }
});

test('the console renews its access token with the rotating refresh token before it expires, in place and after a reload, and ends the session once the provider refuses it', { timeout: 90_000 }, async () => {
  const gatewayUrl = running!.system.gatewayUrl;
  const gatewayOrigin = new URL(gatewayUrl).origin;
  const stored = (page: OpenedPage['page']) =>
    page.evaluate(([accessKey, refreshKey]) => ({ access: sessionStorage.getItem(accessKey), refresh: sessionStorage.getItem(refreshKey) }), [ACCESS_KEY, REFRESH_KEY] as const);
  const expiresAtMs = (token: string) => Number(decodeJwt(token).payload.exp) * 1000;

  /**
   * Waits until the console has stored another access token than `old`, which must happen before
   * `old` expires (the time out), and checks the renewed pair: a new token for the same doctor,
   * living longer, and a rotated refresh token.
   */
  async function renewedAfter(page: OpenedPage['page'], old: { access: string; refresh: string }): Promise<{ access: string; refresh: string }> {
    const deadline = expiresAtMs(old.access);
    const changed = await page.waitForFunction(
      ([key, previous]) => {
        const current = sessionStorage.getItem(key);
        return current && current !== previous ? current : null;
      },
      [ACCESS_KEY, old.access] as const,
      { timeout: Math.max(1, deadline - Date.now()), polling: 250 },
    );
    assert.ok(Date.now() < deadline, 'the access token should be renewed before it expires');
    await changed.dispose();
    const next = await stored(page);
    assert.ok(next.access && next.access !== old.access, 'a new access token should be stored');
    assert.ok(next.refresh, 'the refresh token should still be stored');
    assert.notEqual(next.refresh, old.refresh, 'the provider rotates the refresh token of a public client: the console should keep the new one');
    const before = decodeJwt(old.access).payload;
    const after = decodeJwt(next.access).payload;
    assert.ok(Number(after.exp) > Number(before.exp), 'the new access token should expire later');
    assert.notEqual(after.jti, before.jti);
    for (const claim of ['iss', 'aud', 'sub', 'client_id', 'name']) assert.equal(after[claim], before[claim], `the renewed token's ${claim}`);
    assert.deepEqual(after.roles, DOCTOR.roles);
    return { access: next.access, refresh: next.refresh };
  }

  const get = (url: string, bearer: string) =>
    fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(10_000) });
  const doctorScreen = (page: OpenedPage['page']) => page.getByRole('heading', { level: 1, name: ko.screens.doctor, exact: true });
  const assertNoAlert = async (page: OpenedPage['page'], when: string) =>
    assert.equal(await page.getByRole('alert').count(), 0, `no error alert should show ${when}: ${(await page.getByRole('alert').allTextContents()).join(' | ')}`);

  await onConsolePage(async (page) => {
    const streams: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/patientManagements/stream') streams.push(request.url());
    });
    const first = await stored(page);
    assert.ok(first.access && first.refresh, 'the signed-in console should hold an access and a refresh token');

    // 1. Renewal in place: the same document, the same screen element (no remount), the same live stream.
    const mark = await markDocument(page);
    await doctorScreen(page).evaluate((heading) => heading.setAttribute('data-test-mounted', 'before-renewal'));
    const second = await renewedAfter(page, { access: first.access, refresh: first.refresh });
    await assertNoReload(page, mark, 'renewing the access token');
    assert.equal(await doctorScreen(page).getAttribute('data-test-mounted'), 'before-renewal', 'the doctor screen should not be mounted anew by a renewal');
    await page.getByTestId('signed-in-user').filter({ hasText: DOCTOR.name }).waitFor();
    assert.equal(await page.getByRole('heading', { level: 1, name: ko.signIn.title, exact: true }).count(), 0, 'the session should go on (no sign-in screen)');
    await page.locator('header [data-live-status="live"]').filter({ hasText: ko.live.live }).waitFor();
    assert.deepEqual(streams, [], 'the live stream should stay connected through a renewal (it reads the current token when it reconnects)');
    await assertNoAlert(page, 'after a renewal');
    assert.equal((await get(`${gatewayUrl}/diagnoses`, second.access)).status, 200, 'the renewed access token should work on the gateway');
    assert.deepEqual(oidc.errors(), [], 'the provider should report no error for the renewal');

    // 2. After a reload, the console restores the session and schedules the next renewal from the stored token.
    const worklistRequest = page.waitForRequest((request) => {
      const url = new URL(request.url());
      return url.origin === gatewayOrigin && url.pathname === '/diagnoses' && request.method() === 'GET';
    });
    worklistRequest.catch(() => undefined);
    await page.reload();
    await doctorScreen(page).waitFor();
    const worklist = await worklistRequest;
    assert.equal((await worklist.allHeaders()).authorization, `Bearer ${second.access}`, 'the reloaded worklist should be asked with the renewed token');
    assert.equal((await worklist.response())?.status(), 200, 'the worklist should load with the renewed token');
    await page.getByText(ko.doctor.worklist.empty, { exact: true }).waitFor();
    await assertNoAlert(page, 'after a reload');
    await page.locator('header [data-live-status="live"]').filter({ hasText: ko.live.live }).waitFor();
    const third = await renewedAfter(page, second);
    await page.getByTestId('signed-in-user').filter({ hasText: DOCTOR.name }).waitFor();
    assert.equal((await get(`${gatewayUrl}/diagnoses`, third.access)).status, 200, 'the token renewed after the reload should work on the gateway');
    opened!.errors.assertClean();
    assert.deepEqual(oidc.errors(), [], 'the provider should report no error for the renewals');

    // 3. A refresh token used twice (stolen, say) makes the provider revoke the whole grant: the
    //    console's next renewal is refused, and it ends the session as expired, without waiting
    //    for its access token to expire.
    const reuse = await fetch(`${oidc.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: CLIENT_ID, refresh_token: first.refresh }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(reuse.status, 400, 'a rotated-away refresh token should be refused');
    assert.equal(((await reuse.json()) as { error?: string }).error, 'invalid_grant');
    const expiresAt = expiresAtMs(third.access);
    await page.getByText(ko.signIn.sessionExpired, { exact: true }).waitFor({ timeout: Math.max(1, expiresAt - Date.now()) });
    assert.ok(Date.now() < expiresAt, 'the refused renewal, not the expiry, should have ended the session');
    await page.getByRole('heading', { level: 1, name: ko.signIn.title, exact: true }).waitFor();
    assert.deepEqual(await stored(page), { access: null, refresh: null }, 'the ended session should leave no token behind');
    await screenshot(page, 'console-oidc-renewal-refused');
    opened!.errors.assertClean();
    const refused = oidc.errors();
    assert.ok(refused.length > 0 && refused.every((line) => /invalid_grant|refresh token|grant/i.test(line)), `the provider should report only the refused refresh tokens: ${refused.join(' | ')}`);
  });
});
