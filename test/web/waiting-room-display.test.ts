import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { maskName } from '@medical/contracts/queues';
import {
  cancelReception,
  eventually,
  ok,
  registerVisit,
  useTestSystem,
  visitWithPendingExamination,
  waitForDiagnosis,
  type Diagnosis,
  type Reception,
  type TestSystem,
} from '../e2e/helpers.ts';
import { assertAccessible } from './support/axe.ts';
import { launchBrowser, openPage, until, type OpenedPage } from './support/browser.ts';
import { DEMO_PASSWORD, literally, showsUp, submitSignIn, t } from './support/console.ts';
import { bothTexts, displayUrl, readmeScreenshot, recordSpeech, spokenOn, ticketUrl, waitingRoomText, type Utterance } from './support/waiting-room.ts';

/**
 * The waiting room's pages (web/src/waitingRoom) in Debian's Chromium, on a whole test system's
 * gateway (embedded profile): a department's call screen on a 1920×1080 TV, signed in as the
 * `display` demo user, showing a doctor's call within a second of the call's answer, the name
 * masked, a chime and the call spoken in Korean (the browser's speech replaced by a recorder),
 * a recall spoken again, and nothing spoken of the calls on screen when a screen opens; an
 * examination department's screen naming the department of another's number; the patient's
 * ticket on a phone (the number, how many are ahead, the room once called, an unknown or ended
 * link); axe-core's WCAG 2.1 A/AA rules on both, and the call screen's picture for the README
 * (docs/screenshots/display-call-screen.png).
 *
 * Texts are found by the app's own message files (web/src/messages/waiting-room.*.json), as the
 * pages show them: Korean, then English.
 */

let running: TestSystem;
let browser: Browser;
/** Every context a test opened, closed after it (even when it failed). */
let opened: OpenedPage[] = [];

const INTERNAL_MEDICINE = { code: 'internal-medicine', name: { ko: '내과', en: 'Internal medicine' } } as const;
const RADIOLOGY = { code: 'radiology', name: { ko: '영상의학과', en: 'Radiology' } } as const;
type DepartmentShown = typeof INTERNAL_MEDICINE | typeof RADIOLOGY;
const TV = { width: 1920, height: 1080 };
const PHONE = { width: 390, height: 844 };

/** A reception as the desk's answer has it now: the queue number and the ticket's token. */
type QueuedReception = Reception & { queueNumber: number; ticket: string };
type Called = { calledAt: string; callCount: number; room?: string };
type Ticket = { queueNumber: number; status: string; ahead: number; room?: string };

async function openAt(size: { width: number; height: number }, options: { label: string; bypassCSP?: boolean }): Promise<OpenedPage> {
  const page = await openPage(browser, options);
  opened.push(page);
  await page.page.setViewportSize(size);
  return page;
}

/** A visit registered in `department` at the desk, with its number and ticket, and its diagnosis (the doctor's queue). */
async function visitInQueue(patientName: string, department = INTERNAL_MEDICINE.code): Promise<{ reception: QueuedReception; diagnosis: Diagnosis }> {
  const reception = (await registerVisit(running.client, { patientName, department })) as QueuedReception;
  assert.equal(typeof reception.queueNumber, 'number', `the reception's answer has its queue number: ${JSON.stringify(reception)}`);
  return { reception, diagnosis: await waitForDiagnosis(running.client, reception.id) };
}

/** The doctor (or the examiner) calls the patient in, again for a recall; the answer, and when it came. */
async function call(what: 'diagnoses' | 'examinations', id: number, room: string): Promise<{ called: Called; answeredAt: number }> {
  const reply = await running.client.post<Called>(`/${what}/${id}/call`, { room });
  const answeredAt = Date.now();
  return { called: ok(reply, 200, `call ${what} ${id} to room ${room}`), answeredAt };
}

/**
 * A call screen at 1920×1080: the sign-in at its address, the display's demo user, the screen of
 * `department` with its stream live. The browser's speech is recorded from the start.
 */
async function openCallScreen(department: DepartmentShown, options: { bypassCSP?: boolean; soundRemembered?: boolean } = {}): Promise<OpenedPage> {
  const screen = await openAt(TV, { label: `call screen ${department.code}`, ...(options.bypassCSP ? { bypassCSP: true } : {}) });
  const { page } = screen;
  await recordSpeech(page, { soundRemembered: options.soundRemembered ?? false });
  await page.goto(displayUrl(running.system.gatewayUrl, department.code));
  await showsUp(page, page.getByRole('heading', { level: 1, name: t('ko', 'signIn.title'), exact: true }), "the sign-in at the call screen's address");
  await submitSignIn(page, 'display', DEMO_PASSWORD);
  await showsUp(page, screenHeading(page, department), `the call screen of ${department.code}`);
  await showsUp(page, page.locator('[data-stream-status="live"]').filter({ hasText: bothTexts('display.live') }), `the call screen's stream, live`);
  return screen;
}

function screenHeading(page: Page, department: DepartmentShown): Locator {
  return page.getByRole('heading', { level: 1, name: `${department.name.ko} ${department.name.en}`, exact: true });
}

/** The row of a number among the calls, or among the next ones. */
function calledRow(page: Page, queueNumber: number): Locator {
  return page.getByRole('region', { name: bothTexts('display.calling'), exact: true }).locator(`li[data-queue-number="${queueNumber}"]`);
}

function nextRow(page: Page, queueNumber: number): Locator {
  return page.getByRole('region', { name: bothTexts('display.next'), exact: true }).locator(`li[data-queue-number="${queueNumber}"]`);
}

function enableSoundButton(page: Page): Locator {
  return page.getByRole('button', { name: bothTexts('display.enableSound'), exact: true });
}

/**
 * Notes, in the page, the moment an element matching `selector` appears (a MutationObserver's
 * Date.now(), the test's clock too): measured from there, not from when a poll noticed it.
 */
async function watchFor(page: Page, selector: string): Promise<() => Promise<number>> {
  await page.evaluate((wanted) => {
    const g = globalThis as unknown as {
      __seenAt?: Record<string, number>;
      document: { body: unknown; querySelector(s: string): unknown };
      MutationObserver: new (callback: () => void) => { observe(target: unknown, options: unknown): void; disconnect(): void };
    };
    const seen = (g.__seenAt ??= {});
    const observer = new g.MutationObserver(() => {
      if (!g.document.querySelector(wanted)) return;
      seen[wanted] = Date.now();
      observer.disconnect();
    });
    observer.observe(g.document.body, { childList: true, subtree: true, attributes: true });
  }, selector);
  return () =>
    until(async () => {
      const at = await page.evaluate((wanted) => (globalThis as unknown as { __seenAt?: Record<string, number> }).__seenAt?.[wanted] ?? null, selector);
      assert.ok(at !== null, `${selector} has not appeared`);
      return at;
    }, `${selector} shown`);
}

/** The utterances recorded once one of them was said while the call of `calledAt` was the newest on screen. */
async function spokenFor(page: Page, calledAt: string, what: string): Promise<Utterance[]> {
  return until(async () => {
    const spoken = await spokenOn(page);
    assert.ok(spoken.some((utterance) => utterance.newestCalledAt === calledAt), `nothing said for the call of ${calledAt} yet: ${JSON.stringify(spoken)}`);
    return spoken;
  }, what);
}

/** The whole text of the document, hidden parts included (the live region). */
async function documentText(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string | null } } }).document.body.textContent ?? '');
}

describe("the waiting room's call screen and ticket page in Chromium (embedded profile)", () => {
  useTestSystem('waiting-room-display', 'embedded', (system) => {
    running = system;
  });

  before(async () => {
    // The gateway serves the built console (web/dist) at the waiting room's paths too, under its
    // CSP, which every page but axe's runs under (a violation fails the test through PageErrors).
    const page = await fetch(displayUrl(running.system.gatewayUrl, INTERNAL_MEDICINE.code), { signal: AbortSignal.timeout(10_000) });
    const html = await page.text();
    assert.ok(page.status === 200 && html.includes('<div id="root">'), `the gateway does not serve the console at /display/… (${page.status}): is web/dist built? (npm run build:web)`);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/, 'the page is served with the console\'s CSP');
    browser = await launchBrowser();
  });

  afterEach(async () => {
    const pages = opened;
    opened = [];
    await Promise.all(pages.map((page) => page.close().catch(() => undefined)));
  });

  after(async () => {
    await browser?.close();
  });

  test("the patient's ticket on a phone: the number and how many are ahead, the room once called; an unknown and an ended link say so", { timeout: 120_000 }, async () => {
    const gatewayUrl = running.system.gatewayUrl;
    const patientName = '최유나';
    const { reception, diagnosis } = await visitInQueue(patientName);
    const anonymous = running.client.as('none');
    const { page, errors } = await openAt(PHONE, { label: 'ticket' });
    await page.goto(ticketUrl(gatewayUrl, reception.ticket));
    await showsUp(page, page.getByRole('heading', { level: 1, name: bothTexts('ticket.title'), exact: true }), 'the ticket page');
    await showsUp(page, page.getByTestId('ticket-number').filter({ hasText: new RegExp(`^${reception.queueNumber}$`) }), `the number ${reception.queueNumber}`);
    await showsUp(page, page.getByRole('heading', { level: 2, name: bothTexts('ticket.status.WAITING'), exact: true }), 'the status: waiting');
    // How many are ahead, as the API counts them now (no token: the ticket is public by its link).
    await until(async () => {
      const { ahead } = ok(await anonymous.get<Ticket>(`/tickets/${reception.ticket}`));
      assert.equal(await page.getByTestId('ticket-ahead').innerText(), bothTexts('ticket.people', { count: ahead }));
    }, 'the number of patients ahead, as the API says');
    const text = await documentText(page);
    assert.match(text, literally(maskName(patientName)), 'the masked name');
    assert.doesNotMatch(text, literally(patientName), 'never the whole name');
    const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `nothing wider than the phone: ${width} px`);

    // Called: the room, large, at the next refresh (every 10 s).
    await call('diagnoses', diagnosis.id, '3');
    await showsUp(page, page.getByTestId('ticket-room').filter({ hasText: bothTexts('ticket.roomNumbered', { room: '3' }) }), 'the room once called', 25_000);
    await showsUp(page, page.getByRole('heading', { level: 2, name: bothTexts('ticket.status.CALLED'), exact: true }), 'the status: called');
    errors.assertClean();

    // A token the system never gave: the link is unknown.
    const unknown = await openAt(PHONE, { label: 'unknown ticket' });
    await unknown.page.goto(ticketUrl(gatewayUrl, 'A'.repeat(22)));
    await showsUp(unknown.page, unknown.page.getByRole('alert').filter({ hasText: bothTexts('ticket.notFound') }), 'the unknown link said so');
    assert.equal(await unknown.page.getByTestId('ticket-number').count(), 0);
    unknown.errors.assertClean();

    // A visit cancelled at the desk: its ticket has ended (410), and the page says so.
    const cancelled = (await registerVisit(running.client, { patientName: '박지훈', department: INTERNAL_MEDICINE.code })) as QueuedReception;
    await cancelReception(running.client, cancelled.id, '환자 요청');
    await eventually(async () => assert.equal((await anonymous.get(`/tickets/${cancelled.ticket}`)).status, 410));
    const ended = await openAt(PHONE, { label: 'ended ticket' });
    await ended.page.goto(ticketUrl(gatewayUrl, cancelled.ticket));
    await showsUp(ended.page, ended.page.getByRole('alert').filter({ hasText: bothTexts('ticket.gone') }), 'the ended ticket said so');
    ended.errors.assertClean();
  });

  test('a call shows within a second, masked, chimed and spoken in Korean; a recall speaks again; a screen opened later says nothing of the calls it finds', { timeout: 150_000 }, async () => {
    const { page, errors } = await openCallScreen(INTERNAL_MEDICINE);
    // The button has the focus: the Enter of a keyboard (or a TV's remote) presses it.
    const enable = enableSoundButton(page);
    await showsUp(page, enable, 'the enable-sound button');
    assert.ok(await enable.evaluate((button) => (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement === button), 'the enable-sound button has the focus');
    await page.keyboard.press('Enter');
    await showsUp(page, page.getByTestId('sound-on').filter({ hasText: bothTexts('display.soundOn') }), 'sound on');
    assert.equal(await enable.count(), 0, 'the button is gone once pressed');

    const patientName = '남궁민수';
    const { reception, diagnosis } = await visitInQueue(patientName);
    const number = reception.queueNumber;
    await showsUp(page, nextRow(page, number), `number ${number} among the next ones`);
    assert.match(await nextRow(page, number).innerText(), literally(maskName(patientName)));

    const shownAt = await watchFor(page, `[data-testid="calling"] li[data-queue-number="${number}"]`);
    const first = await call('diagnoses', diagnosis.id, '3');
    const firstShownAt = await shownAt();
    assert.ok(firstShownAt - first.answeredAt <= 1_000, `the call showed ${firstShownAt - first.answeredAt} ms after the call's answer (at most 1000)`);
    const row = calledRow(page, number);
    assert.match(await row.innerText(), literally(maskName(patientName)), 'the masked name beside the number');
    assert.match(await row.innerText(), literally(bothTexts('display.roomNumbered', { room: '3' })), 'the room');
    assert.match((await row.getAttribute('class')) ?? '', /\bcalled-newest\b/, 'the newest call, highlighted');
    assert.equal(await nextRow(page, number).count(), 0, 'no longer among the next ones');
    assert.doesNotMatch(await documentText(page), literally(patientName), 'never the whole name, not even in the hidden parts');

    // The chime, then the call in Korean, once.
    const sentence = waitingRoomText('ko', 'display.call.toNumberedRoom', { number, room: '3' });
    assert.equal(sentence, `${number}번 환자분, 3번 진료실로 들어오세요.`);
    const firstCalledAt = (await row.getAttribute('data-called-at'))!;
    const spoken = await spokenFor(page, firstCalledAt, 'the call spoken');
    assert.deepEqual(spoken.map(({ text, lang }) => ({ text, lang })), [{ text: sentence, lang: 'ko-KR' }], 'one utterance, in Korean, with the number and the room');
    await showsUp(page, page.getByTestId('call-announcement').filter({ hasText: sentence }), 'the call in the live region');

    // A recall: shown again within a second, marked as one, and spoken again.
    const recallShownAt = await watchFor(page, `[data-testid="calling"] li[data-queue-number="${number}"][data-call-count="2"]`);
    const recall = await call('diagnoses', diagnosis.id, '3');
    assert.equal(recall.called.callCount, 2);
    assert.ok((await recallShownAt()) - recall.answeredAt <= 1_000, 'the recall showed within a second');
    assert.equal(await calledRow(page, number).count(), 1, 'a recall is the same number, not a second row');
    assert.match(await calledRow(page, number).innerText(), literally(bothTexts('display.recall')));
    const recalledAt = (await calledRow(page, number).getAttribute('data-called-at'))!;
    assert.notEqual(recalledAt, firstCalledAt);
    const again = await spokenFor(page, recalledAt, 'the recall spoken');
    assert.deepEqual(again.map(({ text, lang }) => ({ text, lang })), [{ text: sentence, lang: 'ko-KR' }, { text: sentence, lang: 'ko-KR' }]);
    errors.assertClean();

    // A second screen opened now finds the call on screen and says nothing of it, even with the
    // sound already chosen in this session; the next call it says.
    const later = await openCallScreen(INTERNAL_MEDICINE, { soundRemembered: true });
    await showsUp(later.page, calledRow(later.page, number), 'the call on the screen opened later');
    await showsUp(later.page, later.page.getByTestId('sound-on'), 'sound on, as chosen before in the session');
    const toRoom5 = await call('diagnoses', diagnosis.id, '5');
    assert.equal(toRoom5.called.room, '5');
    await showsUp(later.page, calledRow(later.page, number).filter({ hasText: bothTexts('display.roomNumbered', { room: '5' }) }), 'the new room');
    const laterCalledAt = (await calledRow(later.page, number).getAttribute('data-called-at'))!;
    const saidLater = await spokenFor(later.page, laterCalledAt, 'the next call spoken on the screen opened later');
    assert.deepEqual(saidLater.map(({ text }) => text), [waitingRoomText('ko', 'display.call.toNumberedRoom', { number, room: '5' })], 'only the call made after it opened');
    later.errors.assertClean();

    // The session stays: a reload shows the screen again without signing in.
    await page.reload();
    await showsUp(page, screenHeading(page, INTERNAL_MEDICINE), 'the call screen after a reload, still signed in');
    await showsUp(page, calledRow(page, number), 'the call after the reload');
  });

  test("an examination department's screen names the department of another's number, and says a named room as it is", { timeout: 120_000 }, async () => {
    const patientName = '김하늘';
    const { reception, examination } = await visitWithPendingExamination(running.client, 'CHEST_XRAY', { patientName, department: INTERNAL_MEDICINE.code });
    const number = (reception as QueuedReception).queueNumber;
    const { page, errors } = await openCallScreen(RADIOLOGY);
    await enableSoundButton(page).click();
    await showsUp(page, nextRow(page, number).filter({ hasText: `${INTERNAL_MEDICINE.name.ko} ${INTERNAL_MEDICINE.name.en}` }), 'the number waiting for its X-ray, with its department');

    await call('examinations', examination.id, 'X-ray 2');
    const row = calledRow(page, number);
    await showsUp(page, row, 'the call of the examination');
    const text = await row.innerText();
    assert.match(text, literally(`${INTERNAL_MEDICINE.name.ko} ${INTERNAL_MEDICINE.name.en}`), "the department whose queue the number is of");
    assert.match(text, literally('X-ray 2'), 'the room as the examiner named it');
    const spoken = await spokenFor(page, (await row.getAttribute('data-called-at'))!, 'the examination call spoken');
    assert.deepEqual(spoken.map(({ text }) => text), [`${number}번 환자분, X-ray 2로 들어오세요.`]);
    errors.assertClean();
  });

  test('the call screen at 1920×1080 and the ticket on a phone: no serious or critical axe violation; the call screen fits the TV, its picture for the README', { timeout: 150_000 }, async () => {
    // A waiting room in the middle of a morning: several calls, the newest to room 2, others waiting.
    const visits = [];
    for (const patientName of ['이서연', '정우진', '한지민', '오세훈', '윤아름']) visits.push(await visitInQueue(patientName));
    await call('diagnoses', visits[0]!.diagnosis.id, '1');
    await call('diagnoses', visits[1]!.diagnosis.id, '2');

    const { page } = await openCallScreen(INTERNAL_MEDICINE, { bypassCSP: true });
    await showsUp(page, calledRow(page, visits[1]!.reception.queueNumber), 'the newest call');
    await showsUp(page, nextRow(page, visits[4]!.reception.queueNumber), 'the last one waiting');
    await assertAccessible(page, 'the call screen, sound not yet enabled (1920×1080)');
    await enableSoundButton(page).press('Enter');
    await showsUp(page, page.getByTestId('sound-on'), 'sound on');
    await assertAccessible(page, 'the call screen (1920×1080)');

    // Readable from across the room: the newest number very large; nothing to scroll, nothing cut off.
    const layout = await page.evaluate(() => {
      type Box = { scrollWidth: number; scrollHeight: number; clientWidth: number; clientHeight: number };
      const g = globalThis as unknown as {
        document: { documentElement: Box; querySelector(s: string): Box | null };
        getComputedStyle(element: unknown): { fontSize: string };
      };
      const clipped = ['.call-screen', '[data-testid="calling"]', '[data-testid="waiting"]'].filter((selector) => {
        const box = g.document.querySelector(selector);
        return !box || box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1;
      });
      const newest = g.document.querySelector('[data-testid="calling"] li .called-number');
      const page = g.document.documentElement;
      return { width: page.scrollWidth, height: page.scrollHeight, clipped, numberPx: parseFloat(g.getComputedStyle(newest).fontSize) };
    });
    assert.ok(layout.width <= TV.width && layout.height <= TV.height, `the screen scrolls: ${layout.width}×${layout.height}`);
    assert.deepEqual(layout.clipped, [], 'parts of the screen whose content is cut off');
    assert.ok(layout.numberPx >= 120, `the newest number is ${layout.numberPx} px high (at least 120 across a room)`);
    await readmeScreenshot(page, 'display-call-screen');

    const ticket = await openAt(PHONE, { label: 'ticket axe', bypassCSP: true });
    await ticket.page.goto(ticketUrl(running.system.gatewayUrl, visits[3]!.reception.ticket));
    await showsUp(ticket.page, ticket.page.getByTestId('ticket-ahead'), 'the waiting ticket');
    await assertAccessible(ticket.page, 'the ticket, waiting (390×844)');
    await ticket.page.goto(ticketUrl(running.system.gatewayUrl, visits[1]!.reception.ticket));
    await showsUp(ticket.page, ticket.page.getByTestId('ticket-room'), 'the called ticket');
    await assertAccessible(ticket.page, 'the ticket, called (390×844)');
  });
});
