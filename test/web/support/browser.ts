import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

/**
 * The browser of the console's tests: Debian's Chromium (never a downloaded one) driven by
 * playwright-core, a page per role at a desktop or tablet viewport, screenshots under
 * test-artifacts/screenshots/, and a collector of what the page's scripts threw, so a test fails
 * on an uncaught error in the console even when the screen looks right.
 */

/** Where Chromium is: CHROMIUM_PATH, else Debian's package. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH?.trim() || '/usr/bin/chromium';
}

/**
 * The flags of a headless Chromium on a machine with a closed network: without the
 * background-networking ones it stalls on refused connections (component updates, sync,
 * variations); it runs as root in CI containers, hence --no-sandbox.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Renders the same on every machine: no font hinting differences from the host's settings.
  '--font-render-hinting=none',
];

/** Launches Chromium, or fails saying how to get it. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!fs.existsSync(executablePath)) {
    throw new Error(
      `Chromium is not at ${executablePath}: the console's browser tests drive the system's Chromium ` +
        '(install it with `apt-get install chromium`, or set CHROMIUM_PATH to a Chromium or Chrome binary); ' +
        'no browser is downloaded',
    );
  }
  try {
    return await chromium.launch({ executablePath, args: CHROMIUM_ARGS, timeout: 30_000 });
  } catch (error) {
    throw new Error(`Chromium at ${executablePath} did not start (is it a working \`apt-get install chromium\`?): ${(error as Error).message}`, { cause: error });
  }
}

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  tablet: { width: 768, height: 1024 },
} as const;

export type ViewportName = keyof typeof VIEWPORTS;

/** What the page's scripts and the browser reported while a test ran. */
export class PageErrors {
  /** Uncaught exceptions and unhandled rejections of the page's scripts. */
  readonly uncaught: string[] = [];
  /** console.error messages, and the browser's own errors (a refused resource, a CSP violation). */
  readonly console: string[] = [];

  readonly label: string;

  constructor(label: string) {
    this.label = label;
  }

  watch(page: Page): void {
    page.on('pageerror', (error) => this.uncaught.push(`${error.name}: ${error.message}${error.stack ? `\n${error.stack.split('\n').slice(1, 4).join('\n')}` : ''}`));
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return;
      const location = message.location();
      this.console.push(`${message.text()}${location.url ? ` (${location.url}:${location.lineNumber})` : ''}`);
    });
    page.on('crash', () => this.uncaught.push('the page crashed'));
  }

  /** Content Security Policy violations: what the gateway's policy blocked (the app must not need it). */
  cspViolations(): string[] {
    return this.console.filter((line) => /Content Security Policy/i.test(line));
  }

  /**
   * Fails on any uncaught error of the page and any CSP violation. Console errors of failed
   * requests (a 401 on a wrong password is logged by Chromium as "Failed to load resource") are
   * the API's answers, which the tests check on the screen, so they are only listed.
   */
  assertClean(): void {
    const problems = [...this.uncaught.map((e) => `uncaught: ${e}`), ...this.cspViolations().map((e) => `CSP: ${e}`)];
    assert.deepEqual(
      problems,
      [],
      `${this.label}: the page reported errors:\n${problems.join('\n')}${this.console.length ? `\n(console errors: ${this.console.join(' | ')})` : ''}`,
    );
  }
}

const watched = new WeakMap<Page, PageErrors>();

/** What `page` (opened by openPage) reported so far: for failure messages. */
export function errorsOf(page: Page): PageErrors | undefined {
  return watched.get(page);
}

export type OpenPageOptions = {
  viewport?: ViewportName;
  /** For the axe runs only: injecting axe-core as an inline script needs the page's CSP bypassed. */
  bypassCSP?: boolean;
  /** A label for failure messages (the role, say). */
  label?: string;
  /** The browser's language (default ko-KR, as the hospital's workstations). */
  locale?: string;
};

export type OpenedPage = {
  context: BrowserContext;
  page: Page;
  errors: PageErrors;
  /** Closes the context (the page and its storage). */
  close(): Promise<void>;
};

/**
 * A page in a context of its own (so each role has its own storage and session), at a viewport,
 * with its errors collected and Playwright's default timeouts set for a console on a test system.
 * The locale is Korean, as the hospital's browsers are: the console is Korean by default anyway.
 */
export async function openPage(browser: Browser, options: OpenPageOptions = {}): Promise<OpenedPage> {
  const viewport = VIEWPORTS[options.viewport ?? 'desktop'];
  const context = await browser.newContext({
    viewport,
    locale: options.locale ?? 'ko-KR',
    timezoneId: 'Asia/Seoul',
    deviceScaleFactor: 1,
    ...(options.bypassCSP ? { bypassCSP: true } : {}),
    ...(options.viewport === 'tablet' ? { hasTouch: true } : {}),
  });
  context.setDefaultTimeout(20_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  const errors = new PageErrors(`${options.label ?? 'page'} (${options.viewport ?? 'desktop'})`);
  errors.watch(page);
  watched.set(page, errors);
  return { context, page, errors, close: () => context.close() };
}

/**
 * Marks the page's document, so `assertNoReload` can tell it is still the same one: a reload or a
 * navigation to another document drops the window's properties; a hash route does not.
 */
export async function markDocument(page: Page): Promise<string> {
  const mark = `doc-${Math.random().toString(36).slice(2)}`;
  await page.evaluate((value) => {
    (globalThis as { __testDocumentMark?: string }).__testDocumentMark = value;
  }, mark);
  return mark;
}

/** Asserts the page still shows the document `markDocument` marked: nothing reloaded it. */
export async function assertNoReload(page: Page, mark: string, what: string): Promise<void> {
  const seen = await page.evaluate(() => (globalThis as { __testDocumentMark?: string }).__testDocumentMark ?? null);
  assert.equal(seen, mark, `${what}: the page was reloaded or navigated away (the document mark is gone)`);
}

let fontChecked = false;

/**
 * The console is in Korean: without a font with Hangul (Debian's fonts-noto-cjk) Chromium draws
 * boxes in the screenshots. The tests themselves read the text, not the pixels, so this only warns.
 */
function warnWithoutKoreanFont(): void {
  if (fontChecked) return;
  fontChecked = true;
  const found = spawnSync('fc-list', [':lang=ko', 'family'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim() !== '') return;
  process.stderr.write('# no font with Korean glyphs (fc-list :lang=ko): the screenshots show boxes for Hangul; apt-get install fonts-noto-cjk\n');
}

/** The repository root, from this file (test/web/support/). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const SCREENSHOT_DIR = path.join(ROOT, 'test-artifacts', 'screenshots');

/**
 * Writes a full-page screenshot to test-artifacts/screenshots/<name>.png (git-ignored; CI keeps
 * the directory as an artifact, and the README embeds copies of some) and returns its path.
 * Names are stable (console-reception-ko), so a run replaces the previous run's files.
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  assert.match(name, /^[a-z0-9][a-z0-9-]*$/, `a screenshot name is lowercase words with dashes: ${name}`);
  warnWithoutKoreanFont();
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  // No caret blinking or transitions half-way in the picture.
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  const size = fs.statSync(file).size;
  assert.ok(size > 1000, `screenshot ${file} is only ${size} bytes`);
  return file;
}

/**
 * Polls `probe` until it returns without throwing (an assertion means "not yet") or the deadline
 * passes, then fails with the last failure: for what Playwright's locators cannot wait on by
 * themselves (a value read through the API, a count).
 */
export async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new assert.AssertionError({ message: `${what}: not met after ${timeoutMs} ms; last failure: ${last instanceof Error ? last.message : String(last)}` });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
