import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, injectAxe, runAxe, seriousViolations } from './support/axe.ts';
import { assertNoReload, launchBrowser, markDocument, openPage, screenshot, SCREENSHOT_DIR } from './support/browser.ts';

/**
 * The browser tests' own tools, against a small local server that answers with the console's
 * Content Security Policy: Chromium starts, a screenshot is written, axe-core finds a real
 * violation (so a clean run of the console means something) and runs only where the CSP is
 * bypassed, an uncaught page error is caught, and a reload is noticed.
 */

const CSP = "default-src 'self'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

const PAGES: Record<string, string> = {
  '/good.html': `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Good page</title></head>
    <body><main><h1>Reception</h1><form><label for="n">Patient name</label><input id="n" name="n">
    <button type="submit">Register</button></form></main></body></html>`,
  // An image without alt text and an unlabelled input: both serious or critical in axe-core.
  '/bad.html': `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad page</title></head>
    <body><main><h1>Board</h1><img src="/pixel.png"><input type="text"></main></body></html>`,
  '/throws.html': `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Throws</title>
    <script src="/throws.js"></script></head><body><main><h1>Throws</h1></main></body></html>`,
};

let server: http.Server;
let baseUrl: string;
let browser: Browser;

describe('the browser tests support', () => {
  before(async () => {
    server = http.createServer((request, response) => {
      const url = request.url ?? '/';
      if (url === '/throws.js') {
        response.writeHead(200, { 'content-type': 'text/javascript', 'content-security-policy': CSP });
        response.end("setTimeout(() => { throw new Error('boom from the page'); }, 0);");
        return;
      }
      const page = PAGES[url];
      if (!page) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP });
      response.end(page);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  test('Chromium opens a page at the desktop and tablet sizes and writes a screenshot', async () => {
    for (const viewport of ['desktop', 'tablet'] as const) {
      const opened = await openPage(browser, { viewport, label: 'support' });
      try {
        await opened.page.goto(`${baseUrl}/good.html`);
        const width = await opened.page.evaluate(() => (globalThis as unknown as { innerWidth: number }).innerWidth);
        assert.equal(width, viewport === 'desktop' ? 1280 : 768);
        await opened.page.getByRole('button', { name: 'Register' }).waitFor();
        const file = await screenshot(opened.page, `support-${viewport}`);
        assert.equal(fs.readFileSync(file).subarray(1, 4).toString('latin1'), 'PNG');
        assert.ok(file.startsWith(SCREENSHOT_DIR));
        opened.errors.assertClean();
      } finally {
        await opened.close();
      }
    }
  });

  test('axe-core passes a labelled page and lists the serious violations of a bad one, with their selectors', async () => {
    const opened = await openPage(browser, { bypassCSP: true, label: 'axe' });
    try {
      await opened.page.goto(`${baseUrl}/good.html`);
      await assertAccessible(opened.page, 'good page');
      await opened.page.goto(`${baseUrl}/bad.html`);
      const serious = seriousViolations(await runAxe(opened.page)).map((v) => v.id).toSorted();
      assert.ok(serious.includes('image-alt') && serious.includes('label'), `image-alt and label expected: ${serious.join(', ')}`);
      await assert.rejects(assertAccessible(opened.page, 'bad page'), (error: Error) => {
        assert.match(error.message, /bad page: \d+ serious or critical/);
        assert.match(error.message, /image-alt \(critical\): Images must have alternative text/);
        assert.match(error.message, /\["img"\]/, 'the failure names the element');
        return true;
      });
    } finally {
      await opened.close();
    }
  });

  test('axe-core cannot be injected under the console CSP without the bypass (so the axe pages use one)', async () => {
    const opened = await openPage(browser, { label: 'csp' });
    try {
      await opened.page.goto(`${baseUrl}/good.html`);
      await assert.rejects(injectAxe(opened.page));
      assert.ok(opened.errors.cspViolations().length > 0, `the blocked script is reported: ${opened.errors.console.join(' | ')}`);
      assert.throws(() => opened.errors.assertClean(), /CSP/);
    } finally {
      await opened.close();
    }
  });

  test('an uncaught page error fails the page check, and a reload is noticed', async () => {
    const opened = await openPage(browser, { label: 'errors' });
    try {
      await opened.page.goto(`${baseUrl}/good.html`);
      const mark = await markDocument(opened.page);
      await opened.page.evaluate(() => {
        (globalThis as unknown as { location: { hash: string } }).location.hash = '#/board';
      });
      await assertNoReload(opened.page, mark, 'after a hash route');
      await opened.page.reload();
      await assert.rejects(assertNoReload(opened.page, mark, 'after a reload'), /reloaded/);
      await opened.page.goto(`${baseUrl}/throws.html`);
      const deadline = Date.now() + 5000;
      while (opened.errors.uncaught.length === 0 && Date.now() < deadline) await opened.page.waitForTimeout(20);
      assert.throws(() => opened.errors.assertClean(), /boom from the page/);
    } finally {
      await opened.close();
    }
  });
});
