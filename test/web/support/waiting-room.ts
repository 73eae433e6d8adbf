import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import en from '../../../web/src/messages/waiting-room.en.json' with { type: 'json' };
import ko from '../../../web/src/messages/waiting-room.ko.json' with { type: 'json' };
import { screenshot } from './browser.ts';
import type { Language } from './console.ts';

/**
 * The waiting room's pages as a patient, or the room, sees them: the texts of their own message
 * files (web/src/messages/waiting-room.*.json, `display.*` and `ticket.*`), each shown in Korean
 * and English together; the call screen's and the ticket's addresses; a stand-in for the browser's
 * speech that records what the screen says; and the README's copy of a screenshot.
 */

export const WAITING_ROOM_MESSAGES = { ko, en } as const;

function lookUp(language: Language, key: string): unknown {
  let node: unknown = WAITING_ROOM_MESSAGES[language];
  for (const part of key.split('.')) {
    if (!node || typeof node !== 'object' || !(part in node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * A text of the waiting room's message files by its dotted key, `{{name}}` placeholders filled as
 * i18next does, and the plural form (`_one`, `_other`) where the file has one and a count is
 * given; fails on an unknown key.
 */
export function waitingRoomText(language: Language, key: string, values: Record<string, string | number> = {}): string {
  const plural = typeof values.count === 'number' ? lookUp(language, `${key}_${values.count === 1 ? 'one' : 'other'}`) : undefined;
  const node = plural ?? lookUp(language, key);
  assert.equal(typeof node, 'string', `no text "${key}" in web/src/messages/waiting-room.${language}.json`);
  return (node as string).replace(/\{\{\s*(\w+)\s*\}\}/g, (_whole, name: string) => {
    assert.ok(name in values, `message "${key}" needs the value {{${name}}}`);
    return String(values[name]);
  });
}

/** A text as the pages show it: Korean, a space, English (one of them when both are the same). */
export function bothTexts(key: string, values: Record<string, string | number> = {}): string {
  const [inKorean, inEnglish] = [waitingRoomText('ko', key, values), waitingRoomText('en', key, values)];
  return inKorean === inEnglish ? inKorean : `${inKorean} ${inEnglish}`;
}

export function displayUrl(gatewayUrl: string, department: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}/display/${department}`;
}

export function ticketUrl(gatewayUrl: string, token: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}/ticket/${token}`;
}

/** What the page asked the browser to say: the text, its language, and the call newest on screen then. */
export type Utterance = { text: string; lang: string; newestCalledAt: string | null; at: number };

/**
 * Replaces the page's `speechSynthesis.speak`, before any of its scripts run, with a recorder: each
 * utterance's text and language, and the `data-called-at` of the newest call on the screen when it
 * was spoken (which tells a call's words from the same words of another call). Nothing is said
 * aloud, and each utterance ends at once, as a finished one does. Optionally, the page starts with
 * the choice to hear the calls already made in this session (as after a reload).
 */
export async function recordSpeech(page: Page, options: { soundRemembered?: boolean } = {}): Promise<void> {
  await page.addInitScript((soundRemembered: boolean) => {
    // Runs in the page (the tests' TypeScript has no DOM types: globalThis is the window there).
    type Spoken = { text: string; lang: string; dispatchEvent(event: unknown): boolean };
    const g = globalThis as unknown as {
      __spoken: unknown[];
      speechSynthesis: { speak(utterance: Spoken): void };
      sessionStorage: { setItem(key: string, value: string): void };
      document: { querySelector(selector: string): { getAttribute(name: string): string | null } | null };
      Event: new (type: string) => unknown;
    };
    if (soundRemembered) g.sessionStorage.setItem('waitingRoom.sound', 'on');
    g.__spoken = [];
    g.speechSynthesis.speak = (utterance) => {
      const newest = g.document.querySelector('[data-testid="calling"] li');
      g.__spoken.push({ text: utterance.text, lang: utterance.lang, newestCalledAt: newest?.getAttribute('data-called-at') ?? null, at: Date.now() });
      setTimeout(() => utterance.dispatchEvent(new g.Event('end')), 0);
    };
  }, options.soundRemembered ?? false);
}

/** The utterances `recordSpeech` recorded so far, in order. */
export async function spokenOn(page: Page): Promise<Utterance[]> {
  return page.evaluate(() => (globalThis as unknown as { __spoken?: Utterance[] }).__spoken ?? []);
}

/**
 * A screenshot for the README, taken as `screenshot` takes them (test-artifacts/screenshots/<name>.png),
 * as every browser test's are: the README's docs/screenshots are copies of a run's, made by hand
 * when a screen changes, so a test run leaves the repository as it was.
 */
export async function readmeScreenshot(page: Page, name: string): Promise<string> {
  return screenshot(page, name);
}
