import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import QRCode from 'qrcode';
import type { Browser, Locator, Page } from 'playwright-core';
import { maskName } from '@medical/contracts/queues';
import {
  complete,
  confirm,
  ok,
  perform,
  prescribe,
  registerVisit,
  useTestSystem,
  visitWithPendingExamination,
  waitFor,
  waitForDiagnosis,
  waitForExamination,
  type Diagnosis,
  type Examination,
  type Page as ListPage,
  type Reception,
  type TestSystem,
} from '../e2e/helpers.ts';
import { assertAccessible } from './support/axe.ts';
import { launchBrowser, SCREENSHOT_DIR, screenshot, until, type OpenedPage, type ViewportName } from './support/browser.ts';
import {
  DEMO_SURGEON,
  literally,
  openConsoleAs,
  rowAction,
  rowOf,
  screenHeading,
  switchLanguage,
  t,
  type ConsolePage,
  type DemoUser,
  type Language,
  type StaffRole,
  assertConsoleServed,
} from './support/console.ts';
import { readmeScreenshot } from './support/waiting-room.ts';

/**
 * The waiting room in the staff console (issue 21), in Debian's Chromium against a whole test
 * system on the embedded profile: the desk registers a visit and sees its queue number and the
 * patient's ticket (printable on its own, with the QR code of the ticket's link); the doctor calls,
 * recalls and marks a no-show from the worklist, with the room remembered by the browser, and a
 * surgeon calls another department's patient only by breaking the glass; the examiner calls from
 * the examination room's worklist; the manager reads the waiting times of scripted visits as
 * charts whose figures are on the page for screen readers, live. The README's pictures
 * docs/screenshots/desk-queue-ticket.png and waiting-times.png come from here.
 *
 * Controls are found by the names the message files give them (support/console.ts `t`), and
 * what the screens show is checked against what the API answers.
 */

let running: TestSystem;
let browser: Browser;
let opened: OpenedPage[] = [];

async function open(who: StaffRole | DemoUser, options: { viewport?: ViewportName; bypassCSP?: boolean } = {}): Promise<ConsolePage> {
  const page = await openConsoleAs(browser, running.system.gatewayUrl, who, options);
  opened.push(page);
  return page;
}

type QueuedReception = Reception & { queueNumber: number; queueDay: string; ticket: string; department: string };
type QueuedDiagnosis = Diagnosis & { queueNumber?: number; calledAt?: string; callCount?: number; room?: string; noShowAt?: string };
type QueuedExamination = Examination & { queueNumber?: number; calledAt?: string; callCount?: number; room?: string; noShowAt?: string; department?: string; visitDepartment?: string };
type StageWaits = { department: string; stage: string; count: number; p50Minutes: number; p90Minutes: number };
type WaitingTimes = { stages: StageWaits[]; byHour: Array<StageWaits & { hour: number }>; waitingNow: Array<{ department: string; waitingCount: number }> };

const INTERNAL_MEDICINE = { code: 'internal-medicine', name: { ko: '내과', en: 'Internal medicine' } } as const;
/** Where a blood count is performed (the catalog's CBC), and so where its wait counts. */
const LABORATORY = { code: 'laboratory-medicine', name: { ko: '진단검사의학과', en: 'Laboratory medicine' } } as const;
const WAIT_STAGES = ['RECEPTION_TO_CALL', 'CALL_TO_DIAGNOSIS', 'PRESCRIPTION_TO_EXAMINATION', 'EXAMINATIONS_TO_COMPLETION', 'COMPLETION_TO_CONFIRMATION', 'VISIT'] as const;

/** A patient of the registry, registered through the API (a different person from any look-alike). */
async function registerPatient(name: string): Promise<string> {
  const body = { name, birthDate: '1984-03-09', sex: 'female', notADuplicate: true };
  return ok(await running.client.post<{ patientId: string }>('/patients', body), 201, `register ${name}`).patientId;
}

/** A visit registered through the API, in internal medicine unless told, with its queue number and ticket. */
async function registerQueuedVisit(name: string, department: string = INTERNAL_MEDICINE.code): Promise<QueuedReception> {
  const reception = (await registerVisit(running.client, { patientId: await registerPatient(name), department })) as QueuedReception;
  assert.ok(Number.isInteger(reception.queueNumber) && reception.queueNumber >= 1, `the visit has a queue number: ${JSON.stringify(reception)}`);
  return reception;
}

async function diagnosisNow(id: number): Promise<QueuedDiagnosis> {
  return ok(await running.client.as('doctor').get<QueuedDiagnosis>(`/diagnoses/${id}`));
}

/** The doctor's worklist row of a diagnosis (the table's, not the open diagnosis's section). */
function worklistRow(page: Page, diagnosisId: number): Locator {
  return page.locator(`table[aria-labelledby="doctor-worklist-heading"] tr[data-diagnosis-id="${diagnosisId}"]`);
}

/** The text of a row's queue-number cell. */
async function numberShown(row: Locator): Promise<string> {
  return ((await row.locator('td.queue-number-cell .queue-number').textContent()) ?? '').trim();
}

/** The waiting times as the manager's API answers them, for internal medicine, today. */
async function waitingTimes(): Promise<WaitingTimes> {
  return ok(await running.client.as('manager').get<WaitingTimes>('/patientManagements/waiting-times'));
}

/** The rows of a chart's figures table (visually hidden, read by screen readers): each row's cells as text. */
async function figures(page: Page, chartTitle: string): Promise<string[][]> {
  const table = page.getByRole('table', { name: t('ko', 'waitingTimes.figuresOf', { chart: chartTitle }), exact: true });
  await table.waitFor({ state: 'attached' });
  return table.locator('tbody tr').evaluateAll((rows) =>
    rows.map((row) => Array.from((row as unknown as { children: ArrayLike<{ textContent: string | null }> }).children, (cell) => (cell.textContent ?? '').trim())),
  );
}

/**
 * A chart drawn with its data: its axes' labels, and its bars or lines (a wait of a few seconds,
 * as a test's are, still draws a bar, as the axis scales to the longest).
 */
async function chartDrawn(section: Locator, chart: 'stage-waits' | 'hourly-waits'): Promise<void> {
  const figure = section.locator(`figure[data-chart="${chart}"]`);
  await figure.locator('.recharts-cartesian-axis-tick-value').first().waitFor();
  await figure.locator(chart === 'stage-waits' ? '.recharts-bar-rectangle path' : '.recharts-line path').first().waitFor({ state: 'attached' });
}

/** Minutes as the charts' figures say them: the API's hundredths, without trailing zeros. */
function minutesText(language: Language, value: number): string {
  return t(language, 'waitingTimes.minutes', { value: String(Math.round(value * 100) / 100) });
}

/**
 * A picture of one part of the page for the README, the window's whole width around it (so the
 * picture is as wide as the window): test-artifacts/screenshots/<name>.png, which the README's
 * docs/screenshots/ copies by hand.
 */
async function readmeScreenshotOf(page: Page, part: Locator, name: string): Promise<void> {
  // From the top of the page, where the header that stays at the top of the window lies in a full-page picture.
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  const box = await part.boundingBox();
  assert.ok(box, `${name}: the part to picture is not on the page`);
  const width = page.viewportSize()?.width ?? 1280;
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide', clip: { x: 0, y: Math.max(0, box.y - 16), width, height: box.height + 32 } });
  assert.ok(fs.statSync(file).size > 1000, `${file} is a picture`);
}

describe('the waiting room in the staff console (embedded profile)', () => {
  useTestSystem('waiting-room-staff', 'embedded', (system) => {
    running = system;
  });

  before(async () => {
    await assertConsoleServed(running.system.gatewayUrl);
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

  test('the desk registers a visit and sees its queue number, and the ticket that prints alone: department, number, day, masked name and the QR code of its link', { timeout: 120_000 }, async () => {
    const patientName = '송지아';
    const patientId = await registerPatient(patientName);
    const desk = await open('receptionist');
    const page = desk.page;

    // A returning patient: found by number, Enter chooses, the visit registered in the default department.
    const search = page.getByRole('combobox', { name: t('ko', 'reception.search.label'), exact: true });
    await search.fill(patientId);
    await page.locator(`[role="option"][data-patient-id="${patientId}"]`).waitFor();
    await search.press('Enter');
    await page.locator(`section.chosen-patient[data-patient-id="${patientId}"]`).waitFor();
    await page.getByRole('button', { name: t('ko', 'reception.form.submit'), exact: true }).click();

    const registered = await until(async () => {
      const items = ok(await running.client.get<ListPage<QueuedReception>>(`/receptions?patientId=${patientId}`)).items;
      assert.equal(items.length, 1);
      return items[0]!;
    }, 'the visit registered');
    assert.ok(registered.queueNumber >= 1 && /^\d{4}-\d{2}-\d{2}$/.test(registered.queueDay) && /^[A-Za-z0-9_-]{22}$/.test(registered.ticket), JSON.stringify(registered));
    const number = String(registered.queueNumber);

    // Today's visits show the number in their first, narrow column.
    await page.getByRole('columnheader', { name: t('ko', 'queue.number'), exact: true }).waitFor();
    const row = page.locator(`tr[data-reception-id="${registered.id}"]`);
    await row.waitFor();
    assert.equal(await numberShown(row), number, 'the number in the row');

    // The ticket, under the form: the number large, for the desk to read out, and the ticket as it prints.
    const panel = page.locator(`section.registered-visit[data-ticket-reception-id="${registered.id}"]`);
    await panel.getByRole('heading', { name: t('ko', 'reception.ticket.heading', { number, name: patientName, id: registered.id }), exact: true }).waitFor();
    const ticket = panel.locator('article.queue-ticket');
    const link = `${new URL(running.system.gatewayUrl).origin}/ticket/${registered.ticket}`;
    assert.equal(((await ticket.locator('.queue-ticket-number').textContent()) ?? '').trim(), number);
    const fontSize = await ticket.locator('.queue-ticket-number').evaluate((element) => parseFloat((globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(element).fontSize));
    assert.ok(fontSize >= 48, `the number is large: ${fontSize}px`);
    const text = (await ticket.innerText()).replace(/\s+/g, ' ');
    for (const part of [INTERNAL_MEDICINE.name.ko, INTERNAL_MEDICINE.name.en, t('ko', 'reception.ticket.title'), t('en', 'reception.ticket.title'), maskName(patientName), registered.queueDay, link]) {
      assert.ok(text.includes(part), `the ticket shows "${part}": ${text}`);
    }
    assert.doesNotMatch(text, literally(patientName), 'the ticket never shows the full name');

    // The QR code: an SVG image drawn by the `qrcode` library from the ticket's link, exactly.
    const qr = ticket.getByRole('img', { name: `${t('ko', 'reception.ticket.qrAlt')} / ${t('en', 'reception.ticket.qrAlt')}`, exact: true });
    await until(async () => assert.ok((await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) > 0), 'the QR code decoded');
    const src = (await qr.getAttribute('src')) ?? '';
    const expected = await QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    assert.equal(decodeURIComponent(src.replace(/^data:image\/svg\+xml;charset=utf-8,/, '')), expected, 'the QR code encodes the ticket\'s link');
    await readmeScreenshot(page, 'desk-queue-ticket');

    // Printed: only the ticket, on one page of the receipt printer's paper, the QR code in it.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#root').isVisible(), false, 'nothing of the console prints');
    const printed = page.locator('body > .ticket-print article.queue-ticket');
    await printed.waitFor();
    assert.equal(((await printed.locator('.queue-ticket-number').textContent()) ?? '').trim(), number);
    assert.ok((await printed.getByRole('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)) > 0, 'the printed QR code is drawn');
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    assert.equal(pdf.toString('latin1').match(/\/Type\s*\/Page\b/g)?.length, 1, 'the ticket prints on one page');
    await page.emulateMedia({ media: 'screen' });

    // Asked for again from the row (a lost ticket): the same ticket, the focus on its print button.
    await rowAction(row, 'ko', 'reception.ticket.show', patientName, registered.id).click();
    const print = panel.getByRole('button', { name: t('ko', 'reception.ticket.print'), exact: true });
    await until(async () => assert.ok(await print.evaluate((element) => element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)), 'the focus on the print button');

    // In English, the desk's words change; the ticket stays in both languages.
    await switchLanguage(page, 'ko');
    await page.getByRole('heading', { name: t('en', 'reception.ticket.heading', { number, name: patientName, id: registered.id }), exact: true }).waitFor();
    assert.ok((await ticket.innerText()).includes(t('ko', 'reception.ticket.title')), 'the ticket keeps its Korean');
    desk.errors.assertClean();
  });

  test('the doctor calls, recalls and marks a no-show from the worklist, the room remembered by the browser; a recall from the open diagnosis clears the mark', { timeout: 120_000 }, async () => {
    const patientName = '오하린';
    const reception = await registerQueuedVisit(patientName);
    const diagnosis = await waitForDiagnosis(running.client.as('doctor'), reception.id);
    const office = await open('doctor');
    const page = office.page;

    const row = worklistRow(page, diagnosis.id);
    await row.waitFor();
    assert.equal(await numberShown(row), String(reception.queueNumber), 'the worklist shows the visit\'s number');
    assert.equal(await row.locator('.call-state').count(), 0, 'not called yet: nothing said');
    assert.equal(await rowAction(row, 'ko', 'queue.noShow', patientName, diagnosis.id).count(), 0, 'no no-show before a call');

    // The room, typed once: sent with the call, kept in this browser.
    const room = page.getByLabel(t('ko', 'queue.room.consulting'));
    await room.fill('3');
    await rowAction(row, 'ko', 'queue.call', patientName, diagnosis.id).click();
    await page.getByRole('status').filter({ hasText: t('ko', 'queue.calledToast', { name: patientName }) }).waitFor();
    await row.locator('.call-state[data-call-count="1"]').filter({ hasText: t('ko', 'queue.state.consultingRoom', { room: '3' }) }).waitFor();
    let now = await diagnosisNow(diagnosis.id);
    assert.deepEqual([now.callCount, now.room, now.noShowAt, typeof now.calledAt], [1, '3', undefined, 'string'], JSON.stringify(now));

    // Once called: Recall, and No-show.
    await rowAction(row, 'ko', 'queue.recall', patientName, diagnosis.id).click();
    await row.locator('.call-state[data-call-count="2"]').waitFor();
    await rowAction(row, 'ko', 'queue.noShow', patientName, diagnosis.id).click();
    await row.locator('.call-state[data-no-show="true"]').waitFor();
    await page.getByRole('status').filter({ hasText: t('ko', 'queue.noShowToast', { name: patientName }) }).waitFor();
    assert.equal(await rowAction(row, 'ko', 'queue.noShow', patientName, diagnosis.id).count(), 0, 'marked once per call');
    now = await diagnosisNow(diagnosis.id);
    assert.equal(now.callCount, 2, JSON.stringify(now));
    assert.equal(typeof now.noShowAt, 'string', 'the API shows the no-show');
    await screenshot(page, 'waiting-room-doctor-worklist-ko');

    // The same browser later: the room is still there.
    await page.reload();
    await screenHeading(page, 'doctor').waitFor();
    assert.equal(await page.getByLabel(t('ko', 'queue.room.consulting')).inputValue(), '3', 'the room remembered');

    // The open diagnosis shows the number and the state, and calls too: the patient came back.
    await rowAction(worklistRow(page, diagnosis.id), 'ko', 'common.select', patientName, diagnosis.id).click();
    const detail = page.locator(`section[data-diagnosis-id="${diagnosis.id}"]`);
    await detail.getByRole('heading', { level: 2, name: t('ko', 'doctor.detail.heading', { id: diagnosis.id, name: patientName }), exact: true }).waitFor();
    await detail.locator('dd.queue-number').filter({ hasText: String(reception.queueNumber) }).waitFor();
    await detail.locator('.call-state[data-no-show="true"]').waitFor();
    await detail.getByRole('button', { name: t('ko', 'queue.recall'), exact: true }).click();
    await detail.locator('.call-state[data-call-count="3"]').waitFor();
    now = await diagnosisNow(diagnosis.id);
    assert.deepEqual([now.callCount, now.noShowAt, now.room], [3, undefined, '3'], 'a call clears the no-show');
    await worklistRow(page, diagnosis.id).locator('.call-state[data-call-count="3"]').waitFor();
    office.errors.assertClean();
  });

  test("a surgeon calls an internal-medicine patient only by breaking the glass, as for every other action on another department's diagnosis", { timeout: 90_000 }, async () => {
    const patientName = '문서진';
    const reception = await registerQueuedVisit(patientName);
    const diagnosis = await waitForDiagnosis(running.client.as('admin'), reception.id);
    const surgeon = await open(DEMO_SURGEON);
    const page = surgeon.page;
    const reason = '외과 협진 요청, 내과 진료실 부재';

    await page.getByRole('textbox', { name: literally(t('ko', 'doctor.open.id')) }).fill(String(diagnosis.id));
    await page.getByRole('button', { name: t('ko', 'doctor.open.submit'), exact: true }).click();
    const dialog = page.getByRole('dialog', { name: t('ko', 'doctor.breakGlass.title', { id: diagnosis.id }), exact: true });
    await dialog.waitFor();
    await dialog.getByLabel(t('ko', 'doctor.breakGlass.reason')).fill(reason);
    await dialog.getByRole('button', { name: t('ko', 'doctor.breakGlass.confirm'), exact: true }).click();
    const detail = page.locator(`section[data-diagnosis-id="${diagnosis.id}"]`);
    await detail.locator('[data-emergency="true"]').waitFor();

    // The call is asked for again with the reason offered, and goes through with it.
    await detail.getByRole('button', { name: t('ko', 'queue.call'), exact: true }).click();
    await dialog.waitFor();
    assert.equal(await dialog.getByLabel(t('ko', 'doctor.breakGlass.reason')).inputValue(), reason, 'the reason offered again');
    await dialog.getByRole('button', { name: t('ko', 'doctor.breakGlass.confirm'), exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await detail.locator('.call-state[data-call-count="1"]').waitFor();
    assert.equal((await diagnosisNow(diagnosis.id)).callCount, 1);
    assert.equal(await page.getByRole('alert').count(), 0, 'no refusal shown');
    surgeon.errors.assertClean();
  });

  test('the examiner calls from the examination room, the number named with the department it counts in', { timeout: 90_000 }, async () => {
    const patientName = '장우진';
    const patientId = await registerPatient(patientName);
    const { reception, examination } = await visitWithPendingExamination(running.client, 'CHEST_XRAY', { patientId, patientName, department: INTERNAL_MEDICINE.code });
    const queued = ok(await running.client.as('examiner').get<QueuedExamination>(`/examinations/${examination.id}`));
    assert.equal(queued.queueNumber, (reception as QueuedReception).queueNumber, 'the examination carries the visit\'s number');
    const room = await open('examiner');
    const page = room.page;

    const row = rowOf(page, 'examination-id', examination.id);
    await row.waitFor();
    assert.equal(await numberShown(row), String(queued.queueNumber));
    // A radiology room calls every department's patients: the number is named with the visit's department.
    assert.equal(queued.visitDepartment, INTERNAL_MEDICINE.code, JSON.stringify(queued));
    await row.locator('.queue-from').filter({ hasText: t('ko', 'queue.from', { department: INTERNAL_MEDICINE.name.ko }) }).waitFor();

    await page.getByLabel(t('ko', 'queue.room.examination')).fill('X선 2');
    await rowAction(row, 'ko', 'queue.call', patientName, examination.id).click();
    await row.locator('.call-state[data-call-count="1"]').filter({ hasText: t('ko', 'queue.state.examinationRoom', { room: 'X선 2' }) }).waitFor();
    await rowAction(row, 'ko', 'queue.noShow', patientName, examination.id).click();
    await row.locator('.call-state[data-no-show="true"]').waitFor();
    const now = ok(await running.client.as('examiner').get<QueuedExamination>(`/examinations/${examination.id}`));
    assert.deepEqual([now.callCount, now.room, typeof now.noShowAt], [1, 'X선 2', 'string'], JSON.stringify(now));
    // Still to be performed: the examiner's own actions stay on the row.
    await rowAction(row, 'ko', 'examiner.perform', patientName, examination.id).waitFor();
    room.errors.assertClean();
  });

  test('the manager reads the waiting times of scripted visits as charts with their figures, live, in either language; axe finds nothing serious', { timeout: 150_000 }, async () => {
    const { client } = running;
    // One visit through every stage, each wait a few seconds (the read model times them by the
    // events' own times, so only real waiting makes waits to chart), and one waiting for the doctor.
    const reception = await registerQueuedVisit('백도윤');
    await registerQueuedVisit('유채원');
    const diagnosis = await waitForDiagnosis(client.as('doctor'), reception.id);
    await sleep(6_000);
    ok(await client.as('doctor').post(`/diagnoses/${diagnosis.id}/call`, { room: '5' }), 200, 'call');
    await sleep(3_000);
    const { prescription } = await prescribe(client, diagnosis.id, 'CBC');
    const examination = await waitForExamination(client, diagnosis.id, prescription.prescriptionId);
    await sleep(4_000);
    await perform(client, examination.id, '정상 범위');
    await waitFor(() => diagnosisNow(diagnosis.id), (d) => d.status === 'EXAMINATION_DONE', { message: 'the examination done on the diagnosis' });
    await sleep(2_000);
    await complete(client, diagnosis.id, '특이 소견 없음');
    await waitFor(async () => ok(await client.get<Reception>(`/receptions/${reception.id}`)), (r) => r.status === 'DIAGNOSIS_COMPLETED', { message: 'the outcome at the desk' });
    await sleep(2_000);
    await confirm(client, reception.id);
    const internal = (times: WaitingTimes) => times.stages.filter((entry) => entry.department === INTERNAL_MEDICINE.code);
    const api = await waitFor(waitingTimes, (times) => internal(times).some((entry) => entry.stage === 'VISIT') && times.waitingNow.some((entry) => entry.department === INTERNAL_MEDICINE.code && entry.waitingCount >= 1), {
      message: 'the scripted visit\'s waits in the read model',
    });

    const manager = await open('manager');
    const page = manager.page;
    const section = page.locator('section.waiting-times');
    await section.getByRole('heading', { level: 2, name: t('ko', 'waitingTimes.heading'), exact: true }).waitFor();
    const departmentFilter = section.getByRole('combobox', { name: literally(t('ko', 'waitingTimes.department')) });
    assert.equal(await departmentFilter.inputValue(), INTERNAL_MEDICINE.code, 'the hospital\'s default department first');
    assert.equal(await section.locator('#waiting-times-day').inputValue(), reception.queueDay, 'today, by default');
    assert.equal(await section.getAttribute('data-live'), 'true', 'today\'s figures are live');

    // The stages' chart: drawn, and its figures (for screen readers) the API's.
    const stagesTitle = t('ko', 'waitingTimes.stages.title', { department: INTERNAL_MEDICINE.name.ko });
    await chartDrawn(section, 'stage-waits');
    const stageRows = await until(async () => {
      const rows = await figures(page, stagesTitle);
      assert.equal(rows.length, WAIT_STAGES.length, 'one row per stage');
      return rows;
    }, 'the stages\' figures');
    for (const [index, stage] of WAIT_STAGES.entries()) {
      const entry = internal(api).find((item) => item.stage === stage);
      const expected = entry
        ? [t('ko', `waitStage.${stage}`), String(entry.count), minutesText('ko', entry.p50Minutes), minutesText('ko', entry.p90Minutes)]
        : [t('ko', `waitStage.${stage}`), '0', t('ko', 'waitingTimes.none'), t('ko', 'waitingTimes.none')];
      assert.deepEqual(stageRows[index], expected, `the figures of ${stage}`);
    }
    // The examination's wait counts in the department that performs it (the laboratory, for a blood count).
    assert.deepEqual(internal(api).map((entry) => entry.stage).toSorted(), WAIT_STAGES.filter((stage) => stage !== 'PRESCRIPTION_TO_EXAMINATION').toSorted(), `every stage of the doctor's has ended: ${JSON.stringify(internal(api))}`);
    const laboratory = api.stages.find((entry) => entry.department === LABORATORY.code && entry.stage === 'PRESCRIPTION_TO_EXAMINATION');
    assert.ok(laboratory && laboratory.count >= 1, `the blood count's wait is the laboratory's: ${JSON.stringify(api.stages)}`);
    await departmentFilter.selectOption(LABORATORY.code);
    const laboratoryRows = await until(async () => {
      const rows = await figures(page, t('ko', 'waitingTimes.stages.title', { department: LABORATORY.name.ko }));
      assert.equal(rows.length, WAIT_STAGES.length);
      return rows;
    }, "the laboratory's figures");
    assert.deepEqual(laboratoryRows[WAIT_STAGES.indexOf('PRESCRIPTION_TO_EXAMINATION')], [t('ko', 'waitStage.PRESCRIPTION_TO_EXAMINATION'), String(laboratory.count), minutesText('ko', laboratory.p50Minutes), minutesText('ko', laboratory.p90Minutes)]);
    await departmentFilter.selectOption(INTERNAL_MEDICINE.code);

    // By the hour, and waiting now.
    await chartDrawn(section, 'hourly-waits');
    const hourRows = await figures(page, t('ko', 'waitingTimes.hours.title', { department: INTERNAL_MEDICINE.name.ko }));
    assert.ok(hourRows.length >= 1 && hourRows.every((cells) => /^\d{2}:00$/.test(cells[0]!)), JSON.stringify(hourRows));
    const nowRows = await figures(page, t('ko', 'waitingTimes.now.title'));
    const waitingHere = api.waitingNow.find((entry) => entry.department === INTERNAL_MEDICINE.code)!.waitingCount;
    assert.ok(nowRows.some(([department, count]) => department === INTERNAL_MEDICINE.name.ko && Number(count) >= waitingHere), JSON.stringify(nowRows));

    // Live: a call now ends a wait (registration → first call), and the figures follow without a reload.
    const before = Number(stageRows[0]![1]);
    const third = await registerQueuedVisit('하지안');
    const thirdDiagnosis = await waitForDiagnosis(client.as('doctor'), third.id);
    ok(await client.as('doctor').post(`/diagnoses/${thirdDiagnosis.id}/call`, {}), 200, 'call the third');
    await until(async () => assert.ok(Number((await figures(page, stagesTitle))[0]![1]) > before, 'one more wait to the first call'), 'the figures refreshed live', 45_000, 500);
    // Pictured without the pointer's highlight on a bar.
    await page.mouse.move(0, 0);
    await readmeScreenshotOf(page, section, 'waiting-times');

    // Another day: its own figures (none yesterday for this new system), then back to today.
    const day = section.locator('#waiting-times-day');
    const yesterday = new Date(Date.parse(`${reception.queueDay}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    await day.fill(yesterday);
    await section.getByText(t('ko', 'waitingTimes.dayShown', { day: yesterday }), { exact: true }).waitFor();
    await section.locator('figure[data-chart="stage-waits"]').getByText(t('ko', 'waitingTimes.noWaits'), { exact: true }).waitFor();
    await day.fill(reception.queueDay);
    await chartDrawn(section, 'stage-waits');

    // In English: the stages by their English names.
    await switchLanguage(page, 'ko');
    const englishRows = await until(async () => {
      const rows = await (async () => {
        const table = page.getByRole('table', { name: t('en', 'waitingTimes.figuresOf', { chart: t('en', 'waitingTimes.stages.title', { department: INTERNAL_MEDICINE.name.en }) }), exact: true });
        return table.locator('tbody th').allTextContents();
      })();
      assert.equal(rows.length, WAIT_STAGES.length);
      return rows;
    }, 'the stages in English');
    assert.deepEqual(englishRows, WAIT_STAGES.map((stage) => t('en', `waitStage.${stage}`)));
    manager.errors.assertClean();

    // axe-core on the board with its charts, at the desktop's and the tablet's width.
    for (const viewport of ['desktop', 'tablet'] as const) {
      const checked = await open('manager', { viewport, bypassCSP: true });
      await chartDrawn(checked.page.locator('section.waiting-times'), 'stage-waits');
      await assertAccessible(checked.page, `the board with the waiting times (${viewport})`);
      const scroll = await checked.page.evaluate(() => {
        const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
        return [root.scrollWidth, root.clientWidth];
      });
      assert.ok(scroll[0]! <= scroll[1]! + 1, `the board does not scroll sideways at the ${viewport}'s width: ${scroll}`);
    }
  });
});
