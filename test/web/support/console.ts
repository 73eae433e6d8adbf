import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import en from '../../../web/src/messages/en.json' with { type: 'json' };
import ko from '../../../web/src/messages/ko.json' with { type: 'json' };
import { errorsOf, openPage, type OpenedPage, type OpenPageOptions } from './browser.ts';

/**
 * The staff console as its users see it: texts from the app's own message files (so a test
 * finds a control by the name a user reads, in either language, and no string is copied here),
 * the dev sign-in, the screens of each role, and the live indicator.
 */

export type Language = 'ko' | 'en';

export const MESSAGES = { ko, en } as const;

/** The demo password of the gateway's development identity provider. */
export const DEMO_PASSWORD = 'demo';

export type StaffRole = 'receptionist' | 'doctor' | 'examiner' | 'manager' | 'auditor' | 'admin';
export type ScreenId = 'reception' | 'doctor' | 'examiner' | 'board' | 'access-log';

/**
 * A demo user of the gateway's development identity provider: each role's own (the username is
 * the role) or another one, such as the surgeon. Where a test takes a role, it takes a user too.
 */
export type DemoUser = { username: string; role: StaffRole };

/** The second demo doctor, who works in surgery (the demo `doctor` works in internal medicine). */
export const DEMO_SURGEON: DemoUser = { username: 'doctor-surgery', role: 'doctor' };

/** The user signing in: a role's own demo user, or the one given. */
export function demoUser(who: StaffRole | DemoUser): DemoUser {
  return typeof who === 'string' ? { username: who, role: who } : who;
}

/** The screen each role lands on (the only one it has; the admin's first of five). */
export const HOME_SCREEN: Record<StaffRole, ScreenId> = {
  receptionist: 'reception',
  doctor: 'doctor',
  examiner: 'examiner',
  manager: 'board',
  auditor: 'access-log',
  admin: 'reception',
};

/**
 * The roles whose console follows no live stream: none of their screens is live (`live` in
 * web/src/screens/registry.ts), so the header shows no live indicator.
 */
export const WITHOUT_LIVE_STREAM: readonly StaffRole[] = ['auditor'];

/**
 * A text of the message files by its dotted key, with `{{name}}` placeholders filled as i18next
 * does; fails on an unknown key, so a renamed message fails the test that uses it by name.
 */
export function t(language: Language, key: string, values: Record<string, string | number> = {}): string {
  let node: unknown = MESSAGES[language];
  for (const part of key.split('.')) {
    assert.ok(node && typeof node === 'object' && part in node, `no message "${key}" in web/src/messages/${language}.json`);
    node = (node as Record<string, unknown>)[part];
  }
  assert.equal(typeof node, 'string', `message "${key}" in ${language}.json is not a text`);
  return (node as string).replace(/\{\{\s*(\w+)\s*\}\}/g, (_whole, name: string) => {
    assert.ok(name in values, `message "${key}" needs the value {{${name}}}`);
    return String(values[name]);
  });
}

/** Whether the message files have `key` in `language` (for texts the app shows only when they exist). */
export function hasMessage(language: Language, key: string): boolean {
  let node: unknown = MESSAGES[language];
  for (const part of key.split('.')) {
    if (!node || typeof node !== 'object' || !(part in node)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string';
}

/** A regular expression matching `text` literally (for Playwright names and texts). */
export function literally(text: string, flags = ''): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags);
}

/** The console's address on a test system's gateway. */
export function consoleUrl(gatewayUrl: string, screen?: ScreenId): string {
  return `${gatewayUrl.replace(/\/+$/, '')}/${screen ? `#/${screen}` : ''}`;
}

/**
 * Asserts that the gateway serves the built console (web/dist) at `/`, and every file its
 * index.html names: the gateway serves the files web/dist held when it started, so a rebuild since
 * (new hashes) would leave the page blank. Returns the page's answer for further checks.
 */
export async function assertConsoleServed(gatewayUrl: string): Promise<{ headers: Headers; html: string }> {
  const index = await fetch(consoleUrl(gatewayUrl), { signal: AbortSignal.timeout(10_000) });
  const html = await index.text();
  assert.ok(
    index.status === 200 && /text\/html/.test(index.headers.get('content-type') ?? '') && html.includes('<div id="root">'),
    `the gateway does not serve the console at / (${index.status}): is web/dist built? (npm run build:web)`,
  );
  for (const asset of html.match(/\/assets\/[\w.-]+\.(js|css)/g) ?? []) {
    const reply = await fetch(`${gatewayUrl}${asset}`, { signal: AbortSignal.timeout(10_000) });
    await reply.arrayBuffer();
    assert.equal(reply.status, 200, `${asset}, named by index.html, is not served: was web/dist rebuilt after the gateway started?`);
  }
  return { headers: index.headers, html };
}

/**
 * Waits for `locator` like locator.waitFor, and on a timeout says what the page showed instead
 * (its text, its URL): "the sign-in screen did not show; the page shows: …" explains more than
 * a selector does.
 */
export async function showsUp(page: Page, locator: Locator, what: string, timeout?: number): Promise<void> {
  try {
    await locator.waitFor(timeout === undefined ? {} : { timeout });
  } catch (error) {
    const text = await page.locator('body').innerText({ timeout: 2_000 }).catch(() => '(unreadable)');
    const errors = errorsOf(page);
    const reported = errors ? [...errors.uncaught, ...errors.console] : [];
    throw new Error(
      `${what} did not show in time at ${page.url()}; the page shows:\n${text.replace(/\n+/g, ' | ').slice(0, 1500) || '(nothing)'}` +
        (reported.length ? `\nthe page reported: ${reported.join(' | ').slice(0, 1500)}` : ''),
      { cause: error },
    );
  }
}

/** The sign-in screen, loaded: its heading, in `language`. */
export async function openSignIn(page: Page, gatewayUrl: string, language: Language = 'ko'): Promise<void> {
  await page.goto(consoleUrl(gatewayUrl));
  await showsUp(page, page.getByRole('heading', { level: 1, name: t(language, 'signIn.title'), exact: true }), 'the sign-in screen');
}

/** Fills the dev sign-in form and submits it (the page shows the sign-in screen). */
export async function submitSignIn(page: Page, username: string, password: string, language: Language = 'ko'): Promise<void> {
  await page.getByLabel(t(language, 'signIn.username')).fill(username);
  await page.getByLabel(t(language, 'signIn.password')).fill(password);
  await page.getByRole('button', { name: t(language, 'signIn.submit'), exact: true }).click();
}

/** The heading of a screen (its h1). */
export function screenHeading(page: Page, screen: ScreenId, language: Language = 'ko'): Locator {
  return page.getByRole('heading', { level: 1, name: t(language, `screens.${screen}`), exact: true });
}

/** The header's live indicator once it says the stream is connected, in words. */
export function liveIndicator(page: Page, language: Language = 'ko'): Locator {
  return page.locator('header [data-live-status="live"]').filter({ hasText: t(language, 'live.live') });
}

/**
 * Signs a role's demo user (or the user given, by username) in on the sign-in screen (the page
 * shows it) and waits for the role's screen, and for the live stream to be connected: a screen
 * not yet live could miss a change the test makes (a role without the stream has nothing to wait for).
 */
export async function signIn(page: Page, who: StaffRole | DemoUser, language: Language = 'ko'): Promise<void> {
  const { username, role } = demoUser(who);
  await submitSignIn(page, username, DEMO_PASSWORD, language);
  await showsUp(page, screenHeading(page, HOME_SCREEN[role], language), `the ${HOME_SCREEN[role]} screen of ${username} (${role})`);
  if (WITHOUT_LIVE_STREAM.includes(role)) return;
  await showsUp(page, liveIndicator(page, language), `the live indicator of ${username}'s console saying "${t(language, 'live.live')}"`);
}

/** Signs out (the header's button) and waits for the sign-in screen. */
export async function signOut(page: Page, language: Language = 'ko'): Promise<void> {
  await page.getByRole('button', { name: t(language, 'app.signOut'), exact: true }).click();
  await page.getByRole('heading', { level: 1, name: t(language, 'signIn.title'), exact: true }).waitFor();
}

export type ConsolePage = OpenedPage & { role: StaffRole; username: string };

/** A new browser context with the console open and `role`'s demo user (or the user given) signed in, on its home screen. */
export async function openConsoleAs(browser: Browser, gatewayUrl: string, who: StaffRole | DemoUser, options: OpenPageOptions = {}): Promise<ConsolePage> {
  const user = demoUser(who);
  const opened = await openPage(browser, { label: user.username, ...options });
  try {
    await openSignIn(opened.page, gatewayUrl);
    await signIn(opened.page, user);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return { ...opened, ...user };
}

/** The language switch of the header (named in the language it switches to) clicked, and the switch done. */
export async function switchLanguage(page: Page, from: Language): Promise<Language> {
  const to: Language = from === 'ko' ? 'en' : 'ko';
  await page.getByRole('button', { name: t(from, 'app.languageSwitch'), exact: true }).click();
  await page.getByRole('button', { name: t(to, 'app.languageSwitch'), exact: true }).waitFor();
  await page.locator(`html[lang="${to}"]`).waitFor({ state: 'attached' });
  return to;
}

/** The row of a table or list carrying `data-<name>="<value>"` (the app's row identifiers). */
export function rowOf(scope: Page | Locator, attribute: 'reception-id' | 'diagnosis-id' | 'examination-id', id: number | string): Locator {
  return scope.locator(`[data-${attribute}="${id}"]`);
}

/** A row's action button, named "<action> — <patient> (#<id>)" as the app names them. */
export function rowAction(scope: Page | Locator, language: Language, actionKey: string, name: string, id: number): Locator {
  return scope.getByRole('button', { name: t(language, 'common.rowAction', { action: t(language, actionKey), name, id }), exact: true });
}

/** A valid PNG of `width`×`height`, a diagonal gradient (so it is not blank), built with zlib. */
export async function makePng(width = 24, height = 16): Promise<Buffer> {
  const zlib = await import('node:zlib');
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((255 * x) / width);
      row[2 + x * 3] = Math.round((255 * y) / height);
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
