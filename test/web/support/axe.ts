import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/**
 * axe-core in the console's pages: the WCAG 2.1 A and AA rules, and an assertion that lists every
 * serious or critical violation with its rule, what it means and the elements it found.
 *
 * axe-core is injected as an inline script. The gateway serves the console with
 * `script-src 'self'`, which blocks inline scripts, so the pages that axe checks are opened in a
 * context created with `bypassCSP: true` (openPage(browser, { bypassCSP: true })): only for the
 * axe runs, so every other test sees the console under its real policy and fails on a violation.
 */

const require = createRequire(import.meta.url);
let source: string | undefined;

/** axe.min.js of the installed axe-core (a root devDependency). */
function axeSource(): string {
  source ??= fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return source;
}

export const WCAG21_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

export type AxeNode = { target: unknown[]; html: string; failureSummary?: string };
export type AxeViolation = { id: string; impact?: 'minor' | 'moderate' | 'serious' | 'critical' | null; help: string; helpUrl: string; description: string; nodes: AxeNode[] };
export type AxeResults = { violations: AxeViolation[]; passes: Array<{ id: string }>; incomplete: AxeViolation[]; url: string };

/** Injects axe-core once per document (the page's context must bypass CSP; see above). */
export async function injectAxe(page: Page): Promise<void> {
  const present = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  if (present) return;
  await page.addScriptTag({ content: axeSource() });
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  assert.ok(loaded, 'axe-core did not load into the page: was the page opened with bypassCSP (openPage(browser, { bypassCSP: true }))?');
}

/**
 * Runs axe's WCAG 2.1 A/AA rules over the document (or the part `include` selects) as the page
 * shows it now: open dialogs, the chosen language and the viewport included.
 */
export async function runAxe(page: Page, include?: string): Promise<AxeResults> {
  await injectAxe(page);
  return page.evaluate(
    async ({ tags, include }) => {
      // Runs in the page (the tests' TypeScript has no DOM types: globalThis is the window there).
      const page = globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<unknown> }; document: unknown };
      const axe = page.axe;
      const results = (await axe.run(include ? { include: [include] } : page.document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      })) as { violations: unknown; passes: Array<{ id: string }>; incomplete: unknown; url: string };
      // Only what the assertion reads: the node details can be large.
      return { violations: results.violations, passes: results.passes.map((p) => ({ id: p.id })), incomplete: results.incomplete, url: results.url } as never;
    },
    { tags: [...WCAG21_TAGS], include },
  );
}

/** The violations of impact serious or critical. */
export function seriousViolations(results: AxeResults): AxeViolation[] {
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** One readable paragraph per violation: rule id, impact, help, help URL, each element's selector and summary. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => {
      const nodes = v.nodes
        .slice(0, 10)
        .map((n) => `    - ${JSON.stringify(n.target)} ${n.html.slice(0, 160)}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`)
        .join('\n');
      return `  ${v.id} (${v.impact}): ${v.help} <${v.helpUrl}>\n${nodes}${v.nodes.length > 10 ? `\n    … and ${v.nodes.length - 10} more` : ''}`;
    })
    .join('\n');
}

/** Fails listing every serious or critical WCAG 2.1 A/AA violation of `screen` (checked as shown now). */
export async function assertAccessible(page: Page, screen: string, include?: string): Promise<AxeResults> {
  const results = await runAxe(page, include);
  const serious = seriousViolations(results);
  assert.equal(
    serious.length,
    0,
    `${screen}: ${serious.length} serious or critical accessibility violation(s) (axe-core, WCAG 2.1 A/AA) at ${results.url}:\n${describeViolations(serious)}`,
  );
  // An empty page passes every rule: the run must have checked something.
  assert.ok(results.passes.length > 0, `${screen}: axe-core found nothing to check`);
  return results;
}
