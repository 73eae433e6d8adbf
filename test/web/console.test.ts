import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import {
  getVisit,
  inServiceDatabase,
  ok,
  registerVisit,
  useTestSystem,
  visitWithPendingExamination,
  waitFor,
  waitForDiagnosis,
  waitForReception,
  waitForVisit,
  type Diagnosis,
  type HttpReply,
  type Page as ListPage,
  type Reception,
  type TestSystem,
} from '../e2e/helpers.ts';
import { assertAccessible } from './support/axe.ts';
import { assertNoReload, launchBrowser, markDocument, openPage, screenshot, until, type OpenedPage, type ViewportName } from './support/browser.ts';
import {
  consoleUrl,
  DEMO_SURGEON,
  hasMessage,
  HOME_SCREEN,
  literally,
  liveIndicator,
  makePng,
  openConsoleAs,
  openSignIn,
  rowAction,
  rowOf,
  screenHeading,
  signIn,
  signOut,
  submitSignIn,
  switchLanguage,
  t,
  type ConsolePage,
  type DemoUser,
  type Language,
  type ScreenId,
  type StaffRole,
  assertConsoleServed,
} from './support/console.ts';

/**
 * The staff console (web/) in Debian's Chromium, served by the gateway of a whole test system on
 * the embedded profile: one visit clicked through by the receptionist, the doctor and the
 * examiner while the manager's board follows it live; Korean by default and English after one
 * click; the sign-in's refusal and each role's screens; the privacy officer's access log of a
 * patient (reads, a refusal, an emergency access, paged); axe-core's WCAG 2.1 A/AA rules on every
 * screen at desktop and tablet sizes, with the comboboxes' choices open; the desk's patient search
 * (each form of search, the arrows, a look-alike offered before a second registration); the
 * doctor's examination and the desk's department chosen from the hospital's catalog by typing
 * (an alias, either language's name) and shown by their names; a patient and a visit registered with the
 * keyboard alone, a returning patient's visit in three keystrokes at most; and the screenshots
 * (test-artifacts/screenshots/console-*.png), copies of some of which docs/screenshots keeps for the README.
 *
 * Controls are found as a user finds them, by role and by the name the message files give them
 * (web/src/messages/*.json, imported, never copied), within the rows the app marks with
 * data-reception-id, data-diagnosis-id and data-examination-id. Waiting is Playwright's
 * (locator.waitFor) or a poll with a deadline, never a fixed sleep.
 */

let running: TestSystem;
let browser: Browser;
/** Every context a test opened, closed after it (even when it failed). */
let opened: OpenedPage[] = [];

const ROLES: readonly StaffRole[] = ['receptionist', 'doctor', 'examiner', 'manager'];

async function open(role: StaffRole | DemoUser, options: { viewport?: ViewportName; bypassCSP?: boolean } = {}): Promise<ConsolePage> {
  const page = await openConsoleAs(browser, running.system.gatewayUrl, role, options);
  opened.push(page);
  return page;
}

async function openBlank(options: { viewport?: ViewportName; bypassCSP?: boolean; label?: string; locale?: string } = {}): Promise<OpenedPage> {
  const page = await openPage(browser, options);
  opened.push(page);
  return page;
}

/** The hospital's default department (the gateway's default list), preselected at the desk. */
const DEFAULT_DEPARTMENT = { code: 'internal-medicine', name: { ko: '내과', en: 'Internal medicine' } } as const satisfies { code: string; name: Record<Language, string> };

/** Examinations of the hospital's default catalog (contracts' defaultExaminations): their codes and names. */
const EXAMINATIONS = {
  CHEST_XRAY: { ko: '흉부 X선 (2방향)', en: 'Chest X-ray, 2 views' },
  CBC: { ko: '일반혈액검사', en: 'Complete blood count' },
  CT_HEAD: { ko: '두부 CT', en: 'CT head' },
  MRI_BRAIN: { ko: '뇌 MRI', en: 'MRI brain' },
  ABDOMEN_US: { ko: '복부 초음파', en: 'Abdominal ultrasound' },
} as const satisfies Record<string, Record<Language, string>>;

/** A patient of the registry, as `POST /patients` and `GET /patients` answer them. */
type RegistryPatient = { patientId: string; name: string; birthDate?: string; sex: string; phone?: string; possibleDuplicates: string[] };

/**
 * A patient registered through the API, for a test that starts from a returning patient: a
 * different person from any look-alike (notADuplicate), so a test run twice, or two tests using
 * one name, register one each.
 */
async function registerPatient(client: TestSystem['client'], name: string, more: { birthDate?: string; phone?: string } = {}): Promise<RegistryPatient> {
  const body = { name, birthDate: more.birthDate ?? '1980-01-01', sex: 'female', ...(more.phone ? { phone: more.phone } : {}), notADuplicate: true };
  return ok(await client.post<RegistryPatient>('/patients', body), 201, `register the patient ${name}`);
}

/** The desk's patient search: a combobox named by its label. */
function deskSearch(page: Page, language: Language = 'ko'): Locator {
  return page.getByRole('combobox', { name: t(language, 'reception.search.label'), exact: true });
}

/** A patient among the desk's search results (an option of the listbox). */
function searchResult(page: Page, patientId: string): Locator {
  return page.getByRole('listbox', { name: t('ko', 'reception.search.results'), exact: true }).locator(`[role="option"][data-patient-id="${patientId}"]`);
}

/** The patient chosen for the visit (the panel that names them), any patient when `patientId` is not given. */
function chosenPatient(page: Page, patientId?: string): Locator {
  return page.locator(patientId === undefined ? 'section.chosen-patient[data-patient-id]' : `section.chosen-patient[data-patient-id="${patientId}"]`);
}

/** A combobox of the console (a department, an examination), named by its label. */
function combobox(scope: Page | Locator, key: string, language: Language = 'ko'): Locator {
  return scope.getByRole('combobox', { name: t(language, key) });
}

/** An option of the combobox's open list, by the code it chooses. */
function choice(page: Page, code: string): Locator {
  return page.getByRole('listbox').locator(`[role="option"][data-value="${code}"]`);
}

/** The codes of the open list's options, in order. */
async function choiceCodes(page: Page): Promise<string[]> {
  return page.getByRole('listbox').locator('[role="option"]').evaluateAll((options) => options.map((option) => (option as unknown as { getAttribute(n: string): string }).getAttribute('data-value')));
}

/** Types `typed` into a combobox and clicks the option of `code`; the box then shows its name. */
async function chooseFrom(page: Page, box: Locator, typed: string, code: string, name: string): Promise<void> {
  await box.fill(typed);
  await choice(page, code).click();
  await until(async () => assert.equal(await box.inputValue(), name), `${name} chosen for ${typed}`);
}

/** A prescription row of the open diagnosis, by the examination's name. */
function prescriptionRow(detail: Locator, name: string): Locator {
  // The inner locator starts at the page: `has` looks for it inside each row.
  return detail.locator('tr[data-prescription-id]').filter({ has: detail.page().getByRole('rowheader').filter({ hasText: name }) });
}

/** The patient numbers the desk's search shows, in order. */
async function resultIds(page: Page): Promise<string[]> {
  return page.locator('[role="listbox"] [role="option"]').evaluateAll((options) => options.map((option) => (option as unknown as { getAttribute(n: string): string }).getAttribute('data-patient-id')));
}

/** The desk's new-patient dialog. */
function newPatientDialog(page: Page, language: Language = 'ko'): Locator {
  return page.getByRole('dialog', { name: t(language, 'reception.newPatient.title'), exact: true });
}

/**
 * Registers a new patient at the desk with the mouse (the search already typed, or not): the
 * dialog's fields, then Register; answers the dialog, still open when the registry answered
 * look-alikes.
 */
async function fillNewPatient(page: Page, patient: { name: string; birthDate: string; sex: 'female' | 'male' | 'other' | 'unknown'; phone?: string }): Promise<Locator> {
  await page.getByRole('button', { name: t('ko', 'reception.newPatient.open'), exact: true }).click();
  const dialog = newPatientDialog(page);
  await dialog.waitFor();
  await dialog.getByLabel(t('ko', 'reception.newPatient.name')).fill(patient.name);
  await dialog.getByLabel(t('ko', 'reception.form.birthDate')).fill(patient.birthDate);
  await dialog.getByLabel(t('ko', 'reception.newPatient.sex')).selectOption({ label: t('ko', `reception.patient.sex.${patient.sex}`) });
  if (patient.phone) await dialog.getByLabel(t('ko', 'reception.newPatient.phone')).fill(patient.phone);
  await dialog.getByRole('button', { name: t('ko', 'reception.newPatient.submit'), exact: true }).click();
  return dialog;
}

/** The stage section of the board that holds the visit now, waiting until it is `stage`. */
async function expectOnBoard(board: Page, receptionId: number, stage: string, language: Language = 'ko'): Promise<void> {
  const card = board.locator(`section[data-stage="${stage}"] li[data-reception-id="${receptionId}"]`);
  try {
    await card.waitFor();
  } catch (error) {
    const where = await board.locator(`li[data-reception-id="${receptionId}"]`).evaluateAll((items) => items.map((li) => (li as unknown as { closest(s: string): { getAttribute(n: string): string | null } | null }).closest('section')?.getAttribute('data-stage')));
    throw new Error(`visit ${receptionId} should be on the board under ${stage}; it is under ${JSON.stringify(where)}`, { cause: error });
  }
  // Once on the board, only there: a visit moves, it is not copied.
  assert.equal(await board.locator(`li[data-reception-id="${receptionId}"]`).count(), 1, `visit ${receptionId} is in one stage only`);
  const heading = board.locator(`section[data-stage="${stage}"]`).getByRole('heading', { level: 3 });
  assert.match((await heading.textContent()) ?? '', new RegExp(`^${t(language, `stage.${stage}`)} \\(\\d+\\)$`), `the section of ${stage} is named in words`);
}

/** The toast (role=status) saying `text`. */
function toast(page: Page, text: string): Locator {
  return page.getByRole('status').filter({ hasText: text });
}

/**
 * Waits for the confirmation `text`, then checks where it shows: in the window (the header that
 * stays at the top), and over no form.
 */
async function toastInSight(page: Page, text: string): Promise<void> {
  await toast(page, text).waitFor();
  const problems = await page.evaluate(() => {
    type Box = { left: number; right: number; top: number; bottom: number; width: number };
    const g = globalThis as unknown as { innerHeight: number; document: { querySelectorAll(selector: string): ArrayLike<{ getBoundingClientRect(): Box; getAttribute(name: string): string | null }> } };
    const boxes = (selector: string) => Array.from(g.document.querySelectorAll(selector)).map((element) => ({ box: element.getBoundingClientRect(), name: element.getAttribute('aria-labelledby') ?? '' }));
    const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const found: string[] = [];
    for (const { box } of boxes('.toast')) {
      if (box.top < 0 || box.bottom > g.innerHeight) found.push(`the toast is out of sight (${Math.round(box.top)} to ${Math.round(box.bottom)} px in a ${g.innerHeight} px window)`);
      for (const form of boxes('form')) if (form.box.width > 0 && overlap(box, form.box)) found.push(`the toast lies over the form ${form.name || '(unnamed)'}`);
    }
    return found;
  });
  assert.deepEqual(problems, [], `the confirmation "${text}"`);
}

describe('the staff console in Chromium (embedded profile)', () => {
  useTestSystem('console', 'embedded', (system) => {
    running = system;
  });

  before(async () => {
    // The gateway serves the built console (web/dist) under its Content Security Policy, which
    // every page but axe's runs under (a violation fails the test through PageErrors).
    const index = await assertConsoleServed(running.system.gatewayUrl);
    assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'(;|$)/, 'the console is served with its CSP');
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

  test('one visit through the four roles, each screen following the others live, and the board and timeline showing it move', { timeout: 150_000 }, async () => {
    const { client } = running;
    const patientName = '이서연';
    const opinion = '경미한 염좌. 일주일 휴식 후 재진.';
    const xrayResult = '골절 없음. 연부 조직 부종.';
    const png = await makePng(96, 64);
    const filename = 'ankle-xray.png';

    // Every role's console is open from the start, as at a hospital; the manager's board too.
    const [desk, office, room, manager] = (await Promise.all(ROLES.map((role) => open(role)))) as [ConsolePage, ConsolePage, ConsolePage, ConsolePage];
    const board = manager.page;
    const marks = new Map<Page, string>();
    for (const { page } of [desk, office, room, manager]) marks.set(page, await markDocument(page));
    const noReload = async (page: Page, what: string) => assertNoReload(page, marks.get(page)!, what);
    // The board, open since before the visit existed, shows each step in the right stage, on the same page.
    const onBoard = async (stage: string) => {
      await expectOnBoard(board, receptionId, stage);
      await noReload(board, `the board with the visit under ${stage}`);
    };

    // 1. The receptionist searches first; the patient is new, so registers them once, then the visit.
    const reception = desk.page;
    await deskSearch(reception).fill(patientName);
    await reception.getByText(t('ko', 'reception.search.none', { query: patientName }), { exact: true }).waitFor();
    const dialog = await fillNewPatient(reception, { name: patientName, birthDate: '1987-04-12', sex: 'female', phone: '010-4821-3307' });
    await dialog.waitFor({ state: 'detached' });
    const chosen = chosenPatient(reception);
    await chosen.waitFor();
    const patientId = (await chosen.getAttribute('data-patient-id'))!;
    assert.match(patientId, /^[0-9]{8}$/, 'the registry issued an eight-digit patient number');
    await toastInSight(reception, t('ko', 'reception.newPatient.registered', { name: patientName, patientId }));
    const patient = ok(await client.get<RegistryPatient>(`/patients/${patientId}`));
    assert.deepEqual([patient.name, patient.birthDate, patient.sex, patient.phone], [patientName, '1987-04-12', 'female', '010-4821-3307'], 'the registry keeps the patient as the desk typed them');
    // The department is chosen from the hospital's, by its name; the visit carries its code. Internal
    // medicine: the demo doctor's department, so the visit reaches their worklist.
    // Typed in English in the Korean console, found by its English name, shown by its Korean one.
    await chooseFrom(reception, combobox(reception, 'reception.form.department'), 'internal', DEFAULT_DEPARTMENT.code, DEFAULT_DEPARTMENT.name.ko);
    await reception.getByLabel(t('ko', 'reception.form.symptom')).fill('오른쪽 발목 통증');
    await reception.getByRole('button', { name: t('ko', 'reception.form.submit'), exact: true }).click();
    const deskRow = reception.locator('tr[data-reception-id]').filter({ hasText: patientId });
    await deskRow.waitFor();
    const receptionId = Number(await deskRow.getAttribute('data-reception-id'));
    assert.ok(Number.isInteger(receptionId) && receptionId > 0, `the row names the reception: ${receptionId}`);
    await toastInSight(reception, t('ko', 'reception.form.registered', { name: patientName, patientId, id: receptionId }));
    // Ready for the next patient: the search back, empty.
    await chosen.waitFor({ state: 'detached' });
    assert.equal(await deskSearch(reception).inputValue(), '');
    await deskRow.filter({ hasText: t('ko', 'status.reception.RECEIVED') }).waitFor();
    const registered = ok(await client.get<ListPage<Reception>>(`/receptions?patientId=${encodeURIComponent(patientId)}`));
    assert.equal(registered.items.length, 1, 'one click, one reception');
    assert.deepEqual(
      { id: registered.items[0]!.id, patientName: registered.items[0]!.patientName, birthDate: registered.items[0]!.birthDate, department: registered.items[0]!.department, symptom: registered.items[0]!.symptom },
      { id: receptionId, patientName, birthDate: '1987-04-12', department: 'internal-medicine', symptom: '오른쪽 발목 통증' },
    );
    // The desk names the department, not its code.
    await deskRow.filter({ has: reception.getByRole('cell', { name: '내과', exact: true }) }).waitFor();

    // The board shows the new visit waiting for the doctor, without a reload; select it for its timeline.
    await onBoard('WAITING_FOR_DOCTOR');
    await board.getByRole('button', { name: t('ko', 'board.visit', { name: patientName, patientId, id: receptionId }), exact: true }).click();
    const timeline = board.locator(`section.timeline[data-reception-id="${receptionId}"]`);
    await timeline.getByRole('heading', { name: t('ko', 'board.timeline.heading', { name: patientName, id: receptionId }), exact: true }).waitFor();
    await timeline.locator('tr[data-event="DiagnosisRegistered"]').waitFor();

    // 2. The doctor finds it on the worklist (it arrived live) and prescribes two examinations.
    const doctor = office.page;
    const worklistRow = doctor.locator(`tr[data-reception-id="${receptionId}"]`);
    await worklistRow.waitFor();
    const diagnosisId = Number(await worklistRow.getAttribute('data-diagnosis-id'));
    assert.ok(diagnosisId > 0, 'the worklist row names its diagnosis');
    await worklistRow.filter({ hasText: t('ko', 'status.diagnosis.REGISTERED') }).waitFor();
    await rowAction(worklistRow, 'ko', 'common.select', patientName, diagnosisId).click();
    const detail = rowOf(doctor, 'diagnosis-id', diagnosisId).and(doctor.locator('section'));
    await detail.getByRole('heading', { name: t('ko', 'doctor.detail.heading', { id: diagnosisId, name: patientName }), exact: true }).waitFor();
    // The examination is chosen from the hospital's catalog, found by whatever the doctor types: an
    // abbreviation (an alias), the Korean name. Chosen, its default instructions fill the empty
    // field and its expected duration is said beside it.
    const examinationBox = combobox(detail, 'doctor.prescribe.examinationType');
    const instructionsField = detail.getByLabel(t('ko', 'doctor.prescribe.instructions'));
    const prescribeButton = detail.getByRole('button', { name: t('ko', 'doctor.prescribe.submit'), exact: true });
    await examinationBox.fill('CXR');
    await until(async () => assert.deepEqual(await choiceCodes(doctor), ['CHEST_XRAY']), 'CXR finds the chest X-ray');
    await chooseFrom(doctor, examinationBox, '흉부', 'CHEST_XRAY', EXAMINATIONS.CHEST_XRAY.ko);
    assert.equal(await instructionsField.inputValue(), '금속류 제거', 'the default instructions, in Korean');
    const expected = t('ko', 'doctor.prescribe.expected', { minutes: 15 });
    await detail.getByText(expected, { exact: true }).waitFor();
    assert.match((await accessibleDescription(examinationBox)) ?? '', literally(expected), 'the expected duration is read with the box');
    await instructionsField.fill('오른쪽 발목 AP/측면');
    await prescribeButton.click();
    await prescriptionRow(detail, EXAMINATIONS.CHEST_XRAY.ko).waitFor();
    await toastInSight(doctor, t('ko', 'doctor.prescribe.done', { type: EXAMINATIONS.CHEST_XRAY.ko }));
    await until(async () => assert.equal(await examinationBox.inputValue(), ''), 'the box empty for the next prescription');

    // The blood count with the keyboard: a word the staff use finds every test of that word, the first
    // highlighted; the arrows move the highlight (the focus stays in the box), Enter chooses.
    await examinationBox.fill('검사');
    await until(async () => assert.deepEqual(await choiceCodes(doctor), ['CBC', 'CMP', 'URINALYSIS']), 'the tests named with 검사');
    const highlighted = doctor.getByRole('listbox').locator('[role="option"][aria-selected="true"]');
    assert.equal(await highlighted.getAttribute('data-value'), 'CBC', 'the first match is highlighted');
    await screenshot(doctor, 'console-doctor-prescribe-ko');
    await examinationBox.press('ArrowDown');
    assert.equal(await highlighted.getAttribute('data-value'), 'CMP', 'ArrowDown highlights the next');
    assert.equal(await examinationBox.getAttribute('aria-activedescendant'), await highlighted.getAttribute('id'), 'the box points to the highlighted option');
    await examinationBox.press('ArrowUp');
    await examinationBox.press('Enter');
    await until(async () => assert.equal(await examinationBox.inputValue(), EXAMINATIONS.CBC.ko), 'Enter chooses the highlighted test');
    assert.ok(await isFocused(examinationBox), 'the focus stays in the box');
    assert.equal(await instructionsField.inputValue(), '', 'no default instructions for a blood count');
    await instructionsField.fill('CBC, CRP');
    await prescribeButton.click();
    await prescriptionRow(detail, EXAMINATIONS.CBC.ko).waitFor();
    await toastInSight(doctor, t('ko', 'doctor.prescribe.done', { type: EXAMINATIONS.CBC.ko }));
    await onBoard('IN_EXAMINATION');
    // Completing is not offered while an examination is still requested: the button is disabled
    // and says why (the server would answer 409).
    const completeButton = detail.getByRole('button', { name: t('ko', 'doctor.complete.submit'), exact: true });
    const blocked = detail.getByText(t('ko', 'doctor.complete.blocked', { count: 2 }), { exact: true });
    await blocked.waitFor();
    assert.equal(await completeButton.isDisabled(), true, 'completion is not offered while two examinations are requested');
    assert.equal(await completeButton.getAttribute('aria-describedby'), await blocked.getAttribute('id'), 'the disabled button points to its reason');
    await screenshot(doctor, 'console-doctor-completion-blocked-ko');

    // 3. The examiner sees both orders arrive, performs the X-ray with a result and an image, cancels the blood test.
    const examiner = room.page;
    const orders = examiner.locator(`tr[data-reception-id="${receptionId}"]`);
    await until(async () => assert.equal(await orders.count(), 2), 'both examinations on the examiner\'s worklist');
    // Each examination by its Korean name, its code beneath (the cell after the queue number).
    const xrayRow = orders.filter({ hasText: EXAMINATIONS.CHEST_XRAY.ko });
    const bloodRow = orders.filter({ hasText: EXAMINATIONS.CBC.ko });
    assert.deepEqual(await xrayRow.locator('td').nth(1).locator('span').allTextContents(), [EXAMINATIONS.CHEST_XRAY.ko, 'CHEST_XRAY'], "the examiner's worklist names the X-ray in Korean");
    assert.deepEqual(await bloodRow.locator('td').nth(1).locator('span').allTextContents(), [EXAMINATIONS.CBC.ko, 'CBC'], "the examiner's worklist names the blood count in Korean");
    const xrayId = Number(await xrayRow.getAttribute('data-examination-id'));
    const bloodId = Number(await bloodRow.getAttribute('data-examination-id'));
    assert.ok(xrayId > 0 && bloodId > 0 && xrayId !== bloodId, `two examinations: ${xrayId}, ${bloodId}`);
    assert.equal(await xrayRow.getAttribute('data-diagnosis-id'), String(diagnosisId));

    await rowAction(xrayRow, 'ko', 'examiner.perform', patientName, xrayId).click();
    const performDialog = examiner.getByRole('dialog', { name: t('ko', 'examiner.performDialog.title', { type: EXAMINATIONS.CHEST_XRAY.ko, name: patientName, id: xrayId }), exact: true });
    await performDialog.waitFor();
    await performDialog.getByLabel(t('ko', 'examiner.performDialog.result')).fill(xrayResult);
    await performDialog.getByLabel(t('ko', 'examiner.performDialog.file')).setInputFiles({ name: filename, mimeType: 'image/png', buffer: png });
    await performDialog.getByRole('button', { name: t('ko', 'examiner.performDialog.submit'), exact: true }).click();
    await performDialog.waitFor({ state: 'detached' });
    await toastInSight(examiner, t('ko', 'examiner.performed', { id: xrayId }));
    await rowOf(examiner, 'examination-id', xrayId).waitFor({ state: 'detached' });

    // The doctor's open diagnosis shows the result and the image as they arrive, without a reload.
    const xrayOnDiagnosis = detail.locator(`tr[data-examination-id="${xrayId}"]`);
    await xrayOnDiagnosis.filter({ hasText: t('ko', 'status.examination.PERFORMED') }).filter({ hasText: xrayResult }).waitFor();
    const image = xrayOnDiagnosis.getByRole('img', { name: t('ko', 'doctor.attachments.imageAlt', { type: EXAMINATIONS.CHEST_XRAY.ko, filename }), exact: true });
    await image.waitFor();
    await until(async () => assert.deepEqual(await image.evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight]), [96, 64]), 'the attached PNG is shown, decoded');
    await xrayOnDiagnosis.getByRole('button', { name: `${t('ko', 'doctor.attachments.download')} — ${filename}`, exact: true }).waitFor();
    await noReload(doctor, 'the doctor\'s screen after the result arrived');
    await screenshot(doctor, 'console-doctor-result-ko');

    await rowAction(bloodRow, 'ko', 'examiner.cancel', patientName, bloodId).click();
    const cancelDialog = examiner.getByRole('dialog', { name: t('ko', 'examiner.cancelDialog.title', { type: EXAMINATIONS.CBC.ko, name: patientName, id: bloodId }), exact: true });
    await cancelDialog.waitFor();
    await cancelDialog.getByLabel(t('ko', 'examiner.cancelDialog.reason')).fill('환자 채혈 거부');
    await cancelDialog.getByRole('button', { name: t('ko', 'examiner.cancelDialog.submit'), exact: true }).click();
    await cancelDialog.waitFor({ state: 'detached' });
    await toastInSight(examiner, t('ko', 'examiner.cancelled', { id: bloodId }));
    await orders.first().waitFor({ state: 'detached' });
    await noReload(examiner, 'the examiner\'s screen');

    await detail.locator(`tr[data-examination-id="${bloodId}"]`).filter({ hasText: t('ko', 'status.examination.CANCELLED') }).waitFor();
    await detail.locator('dd').filter({ hasText: t('ko', 'status.diagnosis.EXAMINATION_DONE') }).waitFor();
    await onBoard('EXAMINATIONS_DONE');

    // 4. The doctor completes the diagnosis with an opinion: offered now that no examination is pending.
    await blocked.waitFor({ state: 'detached' });
    assert.equal(await completeButton.isDisabled(), false);
    await detail.getByLabel(t('ko', 'doctor.complete.opinion')).fill(opinion);
    await detail.getByRole('button', { name: t('ko', 'doctor.complete.submit'), exact: true }).click();
    await toastInSight(doctor, t('ko', 'doctor.complete.done', { id: diagnosisId }));
    await detail.locator('dd').filter({ hasText: t('ko', 'status.diagnosis.COMPLETED') }).waitFor();
    await detail.locator('dd').filter({ hasText: opinion }).waitFor();
    await worklistRow.waitFor({ state: 'detached' });
    await noReload(doctor, 'the doctor\'s screen');
    await onBoard('DIAGNOSIS_COMPLETED');

    // 5. The receptionist sees the outcome arrive (translated), not the doctor's opinion (minimum necessary), and confirms it.
    await deskRow.filter({ hasText: t('ko', 'status.reception.DIAGNOSIS_COMPLETED') }).waitFor();
    assert.equal(await deskRow.filter({ hasText: opinion }).count(), 0, "the desk never shows the doctor's opinion");
    await noReload(reception, 'the reception desk');
    await rowAction(deskRow, 'ko', 'reception.confirm', patientName, receptionId).click();
    await toastInSight(reception, t('ko', 'reception.confirmed', { id: receptionId }));
    await deskRow.filter({ hasText: t('ko', 'status.reception.CONFIRMED') }).waitFor();
    assert.equal(await rowAction(deskRow, 'ko', 'reception.confirm', patientName, receptionId).count(), 0, 'a confirmed visit has nothing left to confirm');
    await onBoard('CONFIRMED');

    // 6. The board's timeline lists every step with who did it, as the API does; still the same page.
    await timeline.locator('tr[data-event="ReceptionConfirmed"]').waitFor();
    await noReload(board, 'the board at the end');
    type Step = { event: string; eventId: string; actor?: { subject: string; name?: string; role: string } };
    const steps = ok(await client.get<{ steps: Step[] }>(`/patientManagements/${receptionId}/timeline`)).steps;
    assert.deepEqual(
      steps.map((s) => s.event).toSorted(),
      ['DiagnosisCompleted', 'DiagnosisRegistered', 'ExaminationCancelled', 'ExaminationPerformed', 'ExaminationPrescribed', 'ExaminationPrescribed', 'ExaminationRequested', 'ExaminationRequested', 'ReceptionCompleted', 'ReceptionConfirmed'],
    );
    const rows = timeline.locator('tbody tr');
    await until(async () => assert.equal(await rows.count(), steps.length), 'one timeline row per step');
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as { getAttribute(n: string): string }).getAttribute('data-event-id'))), steps.map((s) => s.eventId), 'the rows are the steps, in order');
    for (const step of steps) {
      const actor = step.actor ? t('ko', 'board.timeline.actorValue', { name: step.actor.name ?? step.actor.subject, role: t('ko', `role.${step.actor.role}`) }) : t('ko', 'board.timeline.noActor');
      const cells = await timeline.locator(`tr[data-event-id="${step.eventId}"] td`).allTextContents();
      assert.equal(cells.at(-1), actor, `${step.event}: the actor shown`);
      // In Korean the step is named by its event in Korean (the service's English words beneath).
      const named = `board.timeline.events.${step.event}`;
      if (hasMessage('ko', named)) assert.ok(cells[0]?.startsWith(t('ko', named)), `${step.event} is named "${t('ko', named)}": ${cells[0]}`);
    }
    const people = Object.fromEntries(steps.filter((s) => s.actor && s.actor.role !== 'system').map((s) => [s.event, s.actor!.role]));
    assert.deepEqual(people, {
      ReceptionCompleted: 'receptionist',
      ExaminationPrescribed: 'doctor',
      ExaminationPerformed: 'examiner',
      ExaminationCancelled: 'examiner',
      DiagnosisCompleted: 'doctor',
      ReceptionConfirmed: 'receptionist',
    }, 'each click was made as the role signed in on that screen');
    for (const role of ['receptionist', 'doctor', 'examiner'] as const) {
      await timeline.getByRole('cell', { name: literally(t('ko', `role.${role}`)) }).first().waitFor();
    }

    // 7. The API agrees with what the screens showed.
    const confirmed = await waitForReception(client.as('admin'), receptionId, (r) => r.status === 'CONFIRMED');
    assert.equal(confirmed.diagnosisOutcome, 'COMPLETED');
    assert.equal(confirmed.diagnosisOpinion, opinion);
    const diagnosis = ok(await client.get<Diagnosis>(`/diagnoses/${diagnosisId}`));
    assert.equal(diagnosis.status, 'COMPLETED');
    assert.equal(diagnosis.opinion, opinion);
    assert.deepEqual(
      diagnosis.prescriptions.map((p) => [p.examinationType, p.status, p.examinationId, p.result]).toSorted(),
      [['CHEST_XRAY', 'PERFORMED', xrayId, xrayResult], ['CBC', 'CANCELLED', bloodId, undefined]].toSorted(),
    );
    const attachments = ok(await client.get<ListPage<{ name: string; filename: string; contentType: string; size: number; sha256: string }>>(`/examinations/${xrayId}/attachments`, { auth: 'doctor' })).items;
    assert.equal(attachments.length, 1, JSON.stringify(attachments));
    assert.deepEqual(
      { filename: attachments[0]!.filename, contentType: attachments[0]!.contentType, size: attachments[0]!.size, sha256: attachments[0]!.sha256 },
      { filename, contentType: 'image/png', size: png.length, sha256: createHash('sha256').update(png).digest('hex') },
    );
    const visit = await waitForVisit(client, receptionId, (v) => v.stage === 'CONFIRMED');
    assert.equal(visit.patientId, patientId);
    assert.equal((await getVisit(client, receptionId)).diagnosisStatus, 'COMPLETED');

    await screenshot(board, 'console-board-visit-ko');
    for (const page of [desk, office, room, manager]) page.errors.assertClean();
  });

  test('Korean by default and English after one click, on every screen and on the sign-in, with <html lang> following', { timeout: 90_000 }, async () => {
    const { client } = running;
    const patientName = '박민준';
    const { patientId } = await registerPatient(client, patientName);
    const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'CT_HEAD', { patientId, patientName, department: DEFAULT_DEPARTMENT.code, symptom: '복통' });
    const ids = { reception: reception.id, diagnosis: diagnosis.id, examination: examination.id };
    const shown = { patientName, patientId, ids, department: DEFAULT_DEPARTMENT.name, examination: EXAMINATIONS.CT_HEAD };

    for (const role of ROLES) {
      const screen = HOME_SCREEN[role];
      // An English-speaking browser still opens the console in Korean: the staff's working language.
      const { page, errors } = await openBlank({ label: role, locale: 'en-US' });
      await openSignIn(page, running.system.gatewayUrl, 'ko');
      if (role === 'receptionist') {
        await assertSignInTexts(page, 'ko');
        await screenshot(page, 'console-sign-in-ko');
      }
      await signIn(page, role, 'ko');
      await prepare(page, screen, 'ko', patientName, ids);
      await assertScreenTexts(page, screen, 'ko', shown);
      await screenshot(page, `console-${screen}-ko`);
      if (screen === 'examiner') {
        await openPerformDialog(page, 'ko', EXAMINATIONS.CT_HEAD.ko, patientName, ids.examination);
        await screenshot(page, 'console-examiner-dialog-ko');
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'detached' });
      }

      await switchLanguage(page, 'ko');
      await assertScreenTexts(page, screen, 'en', shown);
      await screenshot(page, `console-${screen}-en`);
      if (screen === 'examiner') {
        await openPerformDialog(page, 'en', EXAMINATIONS.CT_HEAD.en, patientName, ids.examination);
        await screenshot(page, 'console-examiner-dialog-en');
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'detached' });
      }
      if (role === 'manager') {
        // The language is kept: signed out, the sign-in screen is in English too.
        await signOut(page, 'en');
        await assertSignInTexts(page, 'en');
        await screenshot(page, 'console-sign-in-en');
      }
      errors.assertClean();
    }
  });

  test('the sign-in refuses a wrong password and says why; each role sees only its own screens', { timeout: 60_000 }, async () => {
    const gatewayUrl = running.system.gatewayUrl;
    const { page, errors } = await openBlank({ label: 'sign-in' });
    await openSignIn(page, gatewayUrl);

    // Empty: the form's own check, named on the fields.
    await page.getByRole('button', { name: t('ko', 'signIn.submit'), exact: true }).click();
    const username = page.getByLabel(t('ko', 'signIn.username'));
    await page.locator('#sign-in-username[aria-invalid="true"]').waitFor();
    assert.match((await accessibleDescription(username)) ?? '', new RegExp(t('ko', 'validation.required')));

    // Wrong password: the gateway's refusal (401), said in the console's language in an alert; still signed out.
    await submitSignIn(page, 'receptionist', 'not-the-password');
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: t('ko', 'signIn.wrongCredentials') }).waitFor();
    assert.equal(await screenHeading(page, 'reception').count(), 0, 'not signed in');
    await page.getByRole('heading', { level: 1, name: t('ko', 'signIn.title'), exact: true }).waitFor();

    // Then the right one: the alert goes, the desk opens.
    await page.getByLabel(t('ko', 'signIn.password')).fill('demo');
    await page.getByRole('button', { name: t('ko', 'signIn.submit'), exact: true }).click();
    await screenHeading(page, 'reception').waitFor();
    assert.equal(await alert.count(), 0, 'no alert once signed in');
    errors.assertClean();

    // Each staff role: its one screen, no navigation to the others, and a link to another screen leads back to its own.
    const screens: ScreenId[] = ['reception', 'doctor', 'examiner', 'board'];
    for (const role of ROLES) {
      const signedIn = await open(role);
      const own = HOME_SCREEN[role];
      assert.equal(await signedIn.page.getByRole('navigation', { name: t('ko', 'app.nav') }).count(), 0, `${role}: one screen, no navigation`);
      for (const other of screens.filter((s) => s !== own)) {
        await signedIn.page.goto(consoleUrl(gatewayUrl, other));
        await screenHeading(signedIn.page, own).waitFor();
        assert.equal(await screenHeading(signedIn.page, other).count(), 0, `${role} must not see the ${other} screen at #/${other}`);
        assert.equal(await signedIn.page.getByRole('link', { name: t('ko', `screens.${other}`) }).count(), 0, `${role}: no link to ${other}`);
      }
      signedIn.errors.assertClean();
    }

    // The admin: all four, linked from the navigation, the current one marked.
    const admin = await open('admin');
    const nav = admin.page.getByRole('navigation', { name: t('ko', 'app.nav') });
    for (const screen of screens) {
      const link = nav.getByRole('link', { name: t('ko', `screens.${screen}`), exact: true });
      await link.click();
      await screenHeading(admin.page, screen).waitFor();
      assert.equal(await link.getAttribute('aria-current'), 'page');
    }
    admin.errors.assertClean();
  });

  test("a surgeon opens an internal-medicine diagnosis only by breaking the glass: the dialog, a cancel that opens nothing, a Korean reason, a prescription under it, and the steps on the board's timeline", { timeout: 90_000 }, async () => {
    const { client } = running;
    const patientName = '윤서준';
    const { patientId } = await registerPatient(client, patientName);
    const reason = '응급실 이송 중 의식 저하, 내과 당직의 연락 불가';
    // An internal-medicine visit with an examination pending, set up through the API (the desk, the internist).
    const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'ECG', { patientId, patientName, department: DEFAULT_DEPARTMENT.code, symptom: '흉통' });
    const internalMedicine = DEFAULT_DEPARTMENT.name;

    // The surgeon (`doctor-surgery`, signed in by username): the worklist is surgery's, so the visit is not on it.
    const surgeon = await open(DEMO_SURGEON);
    const page = surgeon.page;
    await page.locator('table[aria-labelledby="doctor-worklist-heading"]:not([aria-busy])').waitFor();
    assert.equal(await rowOf(page, 'diagnosis-id', diagnosis.id).count(), 0, "another department's diagnosis is not on the surgeon's worklist");

    // Opened by its number: refused by the server (403 outside the department), so the console asks.
    const number = page.getByRole('textbox', { name: literally(t('ko', 'doctor.open.id')) });
    const openButton = page.getByRole('button', { name: t('ko', 'doctor.open.submit'), exact: true });
    const dialog = page.getByRole('dialog', { name: t('ko', 'doctor.breakGlass.title', { id: diagnosis.id }), exact: true });
    await number.fill(String(diagnosis.id));
    await openButton.click();
    await dialog.waitFor();
    // It names the department in the console's language, says the access is recorded and reviewed, and asks for the reason.
    await dialog.getByText(t('ko', 'doctor.breakGlass.outside', { department: internalMedicine.ko }), { exact: true }).waitFor();
    await dialog.getByText(t('ko', 'doctor.breakGlass.recorded'), { exact: true }).waitFor();
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    assert.match((await accessibleDescription(dialog)) ?? '', literally(t('ko', 'doctor.breakGlass.recorded')), 'the dialog is described by its explanation');
    const reasonField = dialog.getByLabel(t('ko', 'doctor.breakGlass.reason'));
    await until(async () => assert.ok(await isFocused(reasonField)), 'the focus is on the reason');
    // The reason is required: confirming without one is refused on the field.
    const confirm = dialog.getByRole('button', { name: t('ko', 'doctor.breakGlass.confirm'), exact: true });
    await confirm.click();
    await dialog.locator('#break-glass-reason[aria-invalid="true"]').waitFor();
    assert.match((await accessibleDescription(reasonField)) ?? '', literally(t('ko', 'validation.required')));
    await screenshot(page, 'console-break-glass-dialog-ko');

    // Cancelled: nothing opened, nothing said, the focus back on the button that asked.
    await dialog.getByRole('button', { name: t('ko', 'doctor.breakGlass.cancel'), exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText(t('ko', 'doctor.detail.none'), { exact: true }).waitFor();
    assert.equal(await page.locator('section[data-diagnosis-id]').count(), 0, 'no diagnosis opened after cancelling');
    assert.equal(await page.getByRole('alert').count(), 0, 'cancelling is no error');
    await until(async () => assert.ok(await isFocused(openButton)), 'focus back on the open button');

    // Again, with a reason in Korean: the diagnosis opens, marked as an emergency access.
    await openButton.click();
    await dialog.waitFor();
    await reasonField.fill(reason);
    await confirm.click();
    await dialog.waitFor({ state: 'detached' });
    const detail = rowOf(page, 'diagnosis-id', diagnosis.id).and(page.locator('section'));
    await detail.getByRole('heading', { name: t('ko', 'doctor.detail.heading', { id: diagnosis.id, name: patientName }), exact: true }).waitFor();
    await detail.locator(`tr[data-examination-id="${examination.id}"]`).filter({ hasText: t('ko', 'status.examination.REQUESTED') }).waitFor();
    await detail.locator('[data-emergency="true"]').filter({ hasText: t('ko', 'doctor.breakGlass.notice', { department: internalMedicine.ko }) }).waitFor();
    await screenshot(page, 'console-doctor-break-glass-ko');

    // Acting on it is an access of its own, asked for again with the reason offered again: the prescription goes through
    // (with a new Idempotency-Key: the first one keeps its 403). The diagnosis is not reloaded behind the doctor's back;
    // the examination requested since is said to have changed the visit.
    await chooseFrom(page, combobox(detail, 'doctor.prescribe.examinationType'), 'CT', 'CT_HEAD', EXAMINATIONS.CT_HEAD.ko);
    await detail.getByRole('button', { name: t('ko', 'doctor.prescribe.submit'), exact: true }).click();
    await dialog.waitFor();
    assert.equal(await reasonField.inputValue(), reason, 'the reason given for this diagnosis is offered again');
    await confirm.click();
    await dialog.waitFor({ state: 'detached' });
    await toast(page, t('ko', 'doctor.prescribe.done', { type: EXAMINATIONS.CT_HEAD.ko })).waitFor();
    await prescriptionRow(detail, EXAMINATIONS.CT_HEAD.ko).waitFor();
    await detail.locator('[data-emergency="true"]').filter({ hasText: t('ko', 'doctor.breakGlass.changed') }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'no refusal shown');

    // The server read the reason as it was typed (sent percent-encoded), once per request: the cancelled one sent none.
    const audited = (await inServiceDatabase(running, 'diagnosis', 'select command, actor_subject, break_glass_reason from audit_log where reception_id = ? and break_glass_reason is not null order by id', [reception.id])) as Array<Record<string, unknown>>;
    assert.deepEqual(audited.map((row) => ({ ...row })), [
      { command: 'diagnosis.read', actor_subject: 'dev:doctor-surgery', break_glass_reason: reason },
      { command: 'diagnosis.prescribe', actor_subject: 'dev:doctor-surgery', break_glass_reason: reason },
    ]);
    type Step = { event: string; eventId: string; actor?: { subject: string; name?: string; role: string } };
    const steps = await waitFor(
      async () => ok(await client.as('manager').get<{ steps: Step[] }>(`/patientManagements/${reception.id}/timeline`)).steps,
      (list) => list.filter((step) => step.event === 'BreakGlassAccessed').length >= 2,
      { message: 'the break-glass steps on the visit\'s timeline' },
    );
    const glass = steps.filter((step) => step.event === 'BreakGlassAccessed');
    assert.equal(glass.length, 2, JSON.stringify(steps));
    for (const step of glass) assert.deepEqual([step.actor?.subject, step.actor?.role], ['dev:doctor-surgery', 'doctor']);

    // The manager's board: the visit's timeline shows the step, named in Korean, by the surgeon, without the reason.
    const manager = await open('manager');
    const board = manager.page;
    await board.getByRole('button', { name: t('ko', 'board.visit', { name: patientName, patientId, id: reception.id }), exact: true }).click();
    const timeline = board.locator(`section.timeline[data-reception-id="${reception.id}"]`);
    for (const { eventId } of glass) {
      const step = timeline.locator(`tr[data-event="BreakGlassAccessed"][data-event-id="${eventId}"]`);
      await step.waitFor();
      const cells = await step.locator('td').allTextContents();
      assert.ok(cells[0]?.startsWith(t('ko', 'board.timeline.events.BreakGlassAccessed')), `the step is named "${t('ko', 'board.timeline.events.BreakGlassAccessed')}": ${cells[0]}`);
      assert.equal(cells.at(-1), t('ko', 'board.timeline.actorValue', { name: 'Demo Surgeon', role: t('ko', 'role.doctor') }));
    }
    const step = timeline.locator(`tr[data-event-id="${glass[0]!.eventId}"]`);
    assert.doesNotMatch((await timeline.textContent()) ?? '', literally(reason), 'the timeline never shows the reason');
    await screenshot(board, 'console-board-break-glass-ko');
    // Named in English too.
    await switchLanguage(board, 'ko');
    await until(async () => assert.ok((await step.locator('td').first().textContent())?.startsWith(t('en', 'board.timeline.events.BreakGlassAccessed'))), 'the step named in English');

    surgeon.errors.assertClean();
    manager.errors.assertClean();
  });

  test("the privacy officer's access log: a patient's reads, a refusal and an emergency access, page by page, on the auditor's only screen; the admin's too", { timeout: 120_000 }, async () => {
    const { client } = running;
    const { patientId } = await registerPatient(client, '강하준');
    const reason = '야간 응급 내원, 내과 당직의 부재';
    // Through the API: the desk registers an internal-medicine visit and reads it back; the manager asks for it and is
    // refused (403, by the gateway); the surgeon opens its diagnosis by breaking the glass.
    const reception = await registerVisit(client, { patientId, patientName: '강하준', department: DEFAULT_DEPARTMENT.code });
    const diagnosis = await waitForDiagnosis(client.as('admin'), reception.id);
    const requestIdOf = (reply: HttpReply, status: number, what: string) => {
      assert.equal(reply.status, status, `${what}: ${reply.text}`);
      const id = reply.headers.get('x-request-id');
      assert.ok(id, `${what}: the answer names its request id`);
      return id;
    };
    const read = requestIdOf(await client.as('receptionist').get(`/receptions/${reception.id}`), 200, 'the receptionist reads the visit');
    const refused = requestIdOf(await client.as('manager').get(`/receptions/${reception.id}`), 403, 'the manager asks for the visit');
    const surgeonToken = await running.tokens.tokenForUser(DEMO_SURGEON.username);
    const glass = requestIdOf(
      await client.get(`/diagnoses/${diagnosis.id}`, { headers: { authorization: `Bearer ${surgeonToken}`, 'break-glass': encodeURIComponent(reason) } }),
      200,
      'the surgeon breaks the glass',
    );

    // The auditor: the access log is their only screen (no navigation, no live stream); another screen's address leads back to it.
    const auditor = await open('auditor');
    const page = auditor.page;
    assert.equal(await page.getByRole('navigation', { name: t('ko', 'app.nav') }).count(), 0, 'the auditor has one screen, no navigation');
    assert.equal(await page.locator('header [data-live-status]').count(), 0, 'no live indicator: the auditor follows no stream');
    for (const other of ['reception', 'doctor', 'examiner', 'board'] as const) {
      await page.goto(consoleUrl(running.system.gatewayUrl, other));
      await screenHeading(page, 'access-log').waitFor();
      assert.equal(await screenHeading(page, other).count(), 0, `the auditor must not see the ${other} screen at #/${other}`);
    }
    await page.getByText(t('ko', 'accessLog.notSearched'), { exact: true }).waitFor();

    // Searched by the patient's id (Enter in the field), again until the records have arrived.
    const rowOfRequest = (requestId: string) => page.locator(`section.access-log tr[data-request-id="${requestId}"]`);
    await searchAccessLog(page, patientId, rowOfRequest(glass), 'the three requests in the access log', [rowOfRequest(read), rowOfRequest(refused)]);
    await page.getByRole('heading', { level: 2, name: t('ko', 'accessLog.heading', { patientId }), exact: true }).waitFor();
    for (const column of ['at', 'who', 'role', 'action', 'request', 'status', 'visit', 'breakGlass', 'requestId']) {
      await page.getByRole('columnheader', { name: t('ko', `accessLog.columns.${column}`), exact: true }).waitFor();
    }
    const cellsOf = (requestId: string) => rowOfRequest(requestId).locator('td').allTextContents();
    const [who, role, action, request, status, visit, breakGlass, requestId] = await cellsOf(read);
    assert.ok(who?.includes('Demo Receptionist') && who.includes('dev:receptionist'), `who: ${who}`);
    assert.deepEqual([role, action, request, visit, breakGlass, requestId], [t('ko', 'role.receptionist'), t('ko', 'accessLog.actions.read'), 'GET /receptions/:id', `#${reception.id}`, t('ko', 'accessLog.noValue'), read]);
    assert.match(status ?? '', /^200/);
    // The time in the hospital's zone, the instant kept in <time datetime>.
    const at = await rowOfRequest(read).locator('th time').getAttribute('datetime');
    assert.ok(at && Math.abs(Date.parse(at) - Date.now()) < 120_000, `the read's time: ${at}`);

    const refusal = await cellsOf(refused);
    assert.deepEqual([refusal[1], refusal[2], refusal[3], refusal[5]], [t('ko', 'role.manager'), t('ko', 'accessLog.actions.refused'), 'GET /receptions/:id', `#${reception.id}`]);
    assert.ok(refusal[4]?.startsWith('403') && refusal[4].includes(t('ko', 'accessLog.services.gateway')), `refused by the gateway: ${refusal[4]}`);
    assert.equal(await rowOfRequest(refused).getAttribute('class'), 'access-refused', 'the refusal is marked');
    const emergency = await cellsOf(glass);
    assert.deepEqual([emergency[0]?.includes('dev:doctor-surgery'), emergency[1], emergency[2], emergency[3]], [true, t('ko', 'role.doctor'), t('ko', 'accessLog.actions.read'), 'GET /diagnoses/:id']);
    await rowOfRequest(glass).locator('.break-glass-reason').filter({ hasText: reason }).waitFor();
    await screenshot(page, 'console-access-log-ko');

    // Paging: twenty more reads push those three to the second page (newest first); Next and Previous, with the keyboard.
    for (let i = 0; i < 20; i++) ok(await client.as('receptionist').get(`/receptions/${reception.id}`));
    await searchAccessLog(page, patientId, rowOfRequest(read), 'the older requests off the first page', [], 'detached');
    const pager = page.getByRole('navigation', { name: t('ko', 'accessLog.paging.label') });
    const previous = pager.getByRole('button', { name: t('ko', 'accessLog.paging.previous'), exact: true });
    const next = pager.getByRole('button', { name: t('ko', 'accessLog.paging.next'), exact: true });
    assert.equal(await previous.getAttribute('aria-disabled'), 'true', 'no page before the first');
    await next.focus();
    await page.keyboard.press('Enter');
    await page.locator('nav.pager[data-page="1"]').waitFor();
    for (const id of [read, refused, glass]) await rowOfRequest(id).waitFor();
    const [pages, total] = [Number(await pager.getAttribute('data-pages')), Number(await pager.getAttribute('data-total'))];
    assert.ok(pages >= 2 && total >= 24, `pages ${pages}, total ${total}`);
    await pager.getByText(t('ko', 'accessLog.paging.status', { page: 2, pages, total }), { exact: true }).waitFor();
    // The focus stays on Next (aria-disabled on the last page, not disabled); Shift+Tab goes back to Previous.
    await page.keyboard.press('Shift+Tab');
    assert.ok(await previous.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement), 'Shift+Tab reaches Previous');
    await page.keyboard.press('Enter');
    await rowOfRequest(read).waitFor({ state: 'detached' });

    // In English: the same lines, in English words.
    await switchLanguage(page, 'ko');
    await screenHeading(page, 'access-log', 'en').waitFor();
    await page.getByRole('navigation', { name: t('en', 'accessLog.paging.label') }).getByRole('button', { name: t('en', 'accessLog.paging.next'), exact: true }).click();
    await rowOfRequest(refused).getByRole('cell', { name: t('en', 'accessLog.actions.refused'), exact: true }).waitFor();
    await page.getByRole('columnheader', { name: t('en', 'accessLog.columns.breakGlass'), exact: true }).waitFor();
    auditor.errors.assertClean();

    // The admin has the screen too, from the navigation; the auditor's searches are in the log themselves.
    const admin = await open('admin');
    await admin.page.getByRole('navigation', { name: t('ko', 'app.nav') }).getByRole('link', { name: t('ko', 'screens.access-log'), exact: true }).click();
    await screenHeading(admin.page, 'access-log').waitFor();
    await searchAccessLog(admin.page, patientId, admin.page.locator('section.access-log tr[data-subject="dev:auditor"]').filter({ hasText: 'GET /patients/:patientId/access-log' }).first(), "the auditor's searches in the log");
    admin.errors.assertClean();
  });

  test("the birth date in the hospital's format whatever the browser's locale: typed as digits or with dots, kept as YYYY-MM-DD, and found so", { timeout: 60_000 }, async () => {
    const { page, errors } = await openBlank({ label: 'birth date', locale: 'en-US' });
    await openSignIn(page, running.system.gatewayUrl);
    await signIn(page, 'receptionist');
    // The birth date is the new patient's: the registry keeps it, the visits take it from there.
    await page.getByRole('button', { name: t('ko', 'reception.newPatient.open'), exact: true }).click();
    const dialog = newPatientDialog(page);
    await dialog.waitFor();
    const birthDate = dialog.getByLabel(t('ko', 'reception.form.birthDate'));
    assert.equal(await birthDate.getAttribute('type'), 'text', 'no date input: it would show the browser\'s locale (MM/DD/YYYY here)');
    assert.match((await accessibleDescription(birthDate)) ?? '', /1987-04-12/, 'the hint shows the format');
    for (const [typed, kept] of [['19870412', '1987-04-12'], ['1987.4.2', '1987-04-02'], ['1987/04/12', '1987-04-12']] as const) {
      await birthDate.fill(typed);
      await birthDate.press('Tab');
      assert.equal(await birthDate.inputValue(), kept, `${typed} is kept as ${kept}`);
    }
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await fillNewPatient(page, { name: '윤하준', birthDate: '20010305', sex: 'male' });
    await dialog.waitFor({ state: 'detached' });
    const chosen = chosenPatient(page);
    await chosen.waitFor();
    const patientId = (await chosen.getAttribute('data-patient-id'))!;
    assert.equal(ok(await running.client.get<RegistryPatient>(`/patients/${patientId}`)).birthDate, '2001-03-05', 'registered with the date as the hospital writes it');
    await chosen.locator('.patient-details').filter({ hasText: '2001-03-05' }).waitFor();

    // Searched by the birth date as the desk types it (with dots), the patient is found and chosen, and the visit takes the date.
    await chosen.getByRole('button', { name: t('ko', 'reception.chosen.change'), exact: true }).click();
    await deskSearch(page).fill('2001.3.5');
    await searchResult(page, patientId).waitFor();
    await deskSearch(page).press('Enter');
    await chosenPatient(page, patientId).waitFor();
    await page.getByRole('button', { name: t('ko', 'reception.form.submit'), exact: true }).click();
    await page.locator('tr[data-reception-id]').filter({ hasText: patientId }).waitFor();
    const registered = ok(await running.client.get<{ items: Reception[] }>(`/receptions?patientId=${patientId}`)).items;
    assert.deepEqual(registered.map((r) => r.birthDate), ['2001-03-05'], 'the visit has the date as the hospital writes it');
    errors.assertClean();
  });

  test('the worklists at 1024, 1280 and 1920 px, in Korean and in English: every column and every action in sight, nothing cut off', { timeout: 180_000 }, async () => {
    const { client } = running;
    const patientName = '남궁서연';
    const { patientId } = await registerPatient(client, patientName);
    const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'ABDOMEN_US', { patientId, patientName });
    const ids = { reception: reception.id, diagnosis: diagnosis.id, examination: examination.id };
    const { page, errors } = await openBlank({ label: 'widths' });
    await openSignIn(page, running.system.gatewayUrl);
    const screens = [['receptionist', 'reception'], ['doctor', 'doctor'], ['examiner', 'examiner'], ['manager', 'board']] as const;
    for (const [index, [role, screen]] of screens.entries()) {
      if (index > 0) await signOut(page);
      await signIn(page, role);
      for (const language of ['ko', 'en'] as const) {
        // The English words are longer ("Examination prescribed"): each language gets its own check.
        if (language === 'en') await page.getByRole('button', { name: t('ko', 'app.languageSwitch'), exact: true }).click();
        await prepare(page, screen, language, patientName, ids);
        for (const width of [1024, 1280, 1920]) {
          await page.setViewportSize({ width, height: 900 });
          await assertNothingCutOff(page, `${screen} at ${width} px (${language})`);
          await screenshot(page, `console-${screen}-${width}-${language}`);
        }
        await page.setViewportSize({ width: 1280, height: 800 });
      }
      await page.getByRole('button', { name: t('en', 'app.languageSwitch'), exact: true }).click();
    }
    errors.assertClean();
  });

  for (const viewport of ['desktop', 'tablet'] as const) {
    test(`axe-core finds no serious or critical WCAG 2.1 A/AA violation on any screen or dialog (${viewport})`, { timeout: 90_000 }, async () => {
      const { client } = running;
      const gatewayUrl = running.system.gatewayUrl;
      const patientName = '최지우';
      const { patientId } = await registerPatient(client, patientName, { birthDate: '1979-06-30' });
      const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'MRI_BRAIN', { patientId, patientName });
      // A refusal in the visit's access log, for its marked line.
      const refused = await client.as('manager').get(`/receptions/${reception.id}`);
      assert.equal(refused.status, 403, refused.text);
      // A visit still at the desk, for the cancel dialog.
      const waiting = ok(await client.post<Reception>('/receptions', { patientId: (await registerPatient(client, '한가람')).patientId }), 201);
      // A surgical visit, for the break-glass dialog of the internist (waited for as admin: not on the internist's list).
      const surgeryPatient = await registerPatient(client, '서하은');
      const surgical = await waitForDiagnosis(client.as('admin'), (await registerVisit(client, { patientId: surgeryPatient.patientId, patientName: surgeryPatient.name, department: 'surgery' })).id);

      // Only these pages bypass the CSP: axe-core is injected as an inline script.
      const { page, errors } = await openBlank({ viewport, bypassCSP: true, label: `axe ${viewport}` });
      const check = async (screen: string) => {
        await assertAccessible(page, `${screen} (${viewport})`);
        await assertNoSidewaysScroll(page, `${screen} (${viewport})`);
      };
      await openSignIn(page, gatewayUrl);
      await check('sign-in');
      await submitSignIn(page, 'receptionist', 'wrong-password');
      await page.getByRole('alert').waitFor();
      await check('sign-in with its error');
      await page.getByLabel(t('ko', 'signIn.password')).fill('demo');
      await page.getByRole('button', { name: t('ko', 'signIn.submit'), exact: true }).click();
      await screenHeading(page, 'reception').waitFor();
      await liveIndicator(page).waitFor();

      await rowOf(page, 'reception-id', waiting.id).waitFor();
      await check('reception desk');
      if (viewport === 'tablet') await screenshot(page, 'console-reception-tablet-ko');
      const cancelButton = rowAction(rowOf(page, 'reception-id', waiting.id), 'ko', 'reception.cancel', '한가람', waiting.id);
      await cancelButton.click();
      await page.getByRole('dialog', { name: t('ko', 'reception.cancelDialog.title', { name: '한가람', id: waiting.id }), exact: true }).waitFor();
      await check('reception desk, cancel dialog open');
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await until(async () => assert.ok(await cancelButton.evaluate((el) => el === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement)), 'focus back on the button that opened the dialog');
      // The search with its results, a patient chosen, and the new-patient dialog offering a look-alike instead.
      await deskSearch(page).fill(patientName);
      await searchResult(page, patientId).waitFor();
      await check('reception desk, search results');
      await deskSearch(page).press('Enter');
      await chosenPatient(page).waitFor();
      await check('reception desk, a patient chosen');
      // The department's choices open, filtered by what is typed; Escape closes them and the box shows the choice again.
      const department = combobox(page, 'reception.form.department');
      await department.fill('과');
      await choice(page, 'surgery').waitFor();
      await check('reception desk, department choices open');
      await department.press('Escape');
      await page.getByRole('listbox').waitFor({ state: 'hidden' });
      assert.equal(await settledValue(department, DEFAULT_DEPARTMENT.name.ko), DEFAULT_DEPARTMENT.name.ko, 'Escape keeps the department chosen');
      await chosenPatient(page).getByRole('button', { name: t('ko', 'reception.chosen.change'), exact: true }).click();
      const newPatient = await fillNewPatient(page, { name: patientName, birthDate: '1979-06-30', sex: 'female' });
      await newPatient.getByRole('heading', { name: t('ko', 'reception.duplicates.heading'), exact: true }).waitFor();
      await check('reception desk, new-patient dialog with a look-alike');
      await page.keyboard.press('Escape');
      await newPatient.waitFor({ state: 'detached' });
      await signOut(page);

      await signIn(page, 'doctor');
      await prepare(page, 'doctor', 'ko', patientName, { reception: reception.id, diagnosis: diagnosis.id, examination: examination.id });
      await check('doctor, a diagnosis open');
      const examinationBox = combobox(page, 'doctor.prescribe.examinationType');
      await examinationBox.fill('검사');
      await choice(page, 'CBC').waitFor();
      await check('doctor, examination choices open');
      await examinationBox.fill('없는 검사 이름');
      await page.getByText(t('ko', 'common.combobox.none', { text: '없는 검사 이름' }), { exact: true }).waitFor();
      await check('doctor, no examination matches');
      await examinationBox.press('Escape');
      assert.equal(await settledValue(examinationBox, ''), '', 'Escape leaves no text that is not a choice');
      // Another department's diagnosis by its number: the break-glass dialog; Escape closes it and the open one stays.
      await page.getByRole('textbox', { name: literally(t('ko', 'doctor.open.id')) }).fill(String(surgical.id));
      const openButton = page.getByRole('button', { name: t('ko', 'doctor.open.submit'), exact: true });
      await openButton.click();
      await page.getByRole('dialog', { name: t('ko', 'doctor.breakGlass.title', { id: surgical.id }), exact: true }).waitFor();
      await check('doctor, break-glass dialog open');
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await until(async () => assert.ok(await isFocused(openButton)), 'focus back on the button that opened the break-glass dialog');
      await page.locator(`section[data-diagnosis-id="${diagnosis.id}"]`).getByRole('heading', { level: 2, name: t('ko', 'doctor.detail.heading', { id: diagnosis.id, name: patientName }), exact: true }).waitFor();
      await signOut(page);

      await signIn(page, 'examiner');
      await rowOf(page, 'examination-id', examination.id).waitFor();
      await check('examiner');
      await openPerformDialog(page, 'ko', EXAMINATIONS.MRI_BRAIN.ko, patientName, examination.id);
      await check('examiner, perform dialog open');
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await signOut(page);

      await signIn(page, 'auditor');
      await check('access log, before a search');
      const refusal = page.locator(`section.access-log tr[data-action="refused"][data-reception-id="${reception.id}"]`);
      await searchAccessLog(page, patientId, refusal, 'the refusal in the access log');
      await check('access log of a patient');
      if (viewport === 'tablet') await screenshot(page, 'console-access-log-tablet-ko');
      await signOut(page);

      await signIn(page, 'manager');
      await prepare(page, 'board', 'ko', patientName, { reception: reception.id, diagnosis: diagnosis.id, examination: examination.id });
      await check('board with a visit\'s timeline');
      if (viewport === 'tablet') await screenshot(page, 'console-board-tablet-ko');
      await switchLanguage(page, 'ko');
      await check('board in English');
      errors.assertClean();
    });
  }

  test('a desk that searches first: by number, name, initials, birth date and a phone\'s last digits, chosen with the arrows, and a look-alike offered before a second registration', { timeout: 90_000 }, async () => {
    const { client } = running;
    // Three patients whose initials are ㅌㅅ (no other test's are), in the registry's order: by name.
    const seoa = await registerPatient(client, '탁서아', { birthDate: '2015-02-28' });
    const soyun = await registerPatient(client, '탁소윤', { birthDate: '1992-11-03', phone: '010-7001-9753' });
    const soyul = await registerPatient(client, '탁소율', { birthDate: '1990-05-17', phone: '010-7001-2468' });
    const desk = await open('receptionist');
    const page = desk.page;
    const search = deskSearch(page);

    // By initials: all three, the first highlighted; the arrows move the highlight, the focus stays in the box.
    await search.fill('ㅌㅅ');
    await searchResult(page, soyul.patientId).waitFor();
    assert.deepEqual(await resultIds(page), [seoa.patientId, soyun.patientId, soyul.patientId], 'the three, by name');
    await page.getByText(t('ko', 'reception.search.found', { count: 3 }), { exact: true }).waitFor();
    const highlighted = page.locator('[role="option"][aria-selected="true"]');
    assert.equal(await highlighted.getAttribute('data-patient-id'), seoa.patientId, 'the first is highlighted');
    await search.press('ArrowDown');
    assert.equal(await highlighted.getAttribute('data-patient-id'), soyun.patientId, 'ArrowDown highlights the next');
    assert.equal(await search.getAttribute('aria-activedescendant'), await highlighted.getAttribute('id'), 'the box points to the highlighted option');
    assert.ok(await isFocused(search), 'the focus stays in the search box');
    await screenshot(page, 'console-reception-search-ko');
    await search.press('ArrowUp');
    await search.press('ArrowUp');
    assert.equal(await highlighted.getAttribute('data-patient-id'), soyul.patientId, 'ArrowUp from the first goes round to the last');
    await search.press('ArrowDown');
    await search.press('ArrowDown');

    // Enter chooses the highlighted one and puts the focus on the visit's register button.
    await search.press('Enter');
    const chosen = chosenPatient(page, soyun.patientId);
    await chosen.waitFor();
    await chosen.locator('.patient-details').filter({ hasText: '1992-11-03' }).filter({ hasText: t('ko', 'reception.patient.phoneEnding', { digits: '9753' }) }).waitFor();
    assert.doesNotMatch((await chosen.textContent()) ?? '', /7001/, 'the phone shows its last four digits only');
    const submit = page.getByRole('button', { name: t('ko', 'reception.form.submit'), exact: true });
    await until(async () => assert.ok(await isFocused(submit)), 'the focus on the register button');
    assert.match((await accessibleDescription(submit)) ?? '', literally(soyun.patientId), 'the register button is described by the patient it registers');
    await screenshot(page, 'console-reception-chosen-ko');

    // Another choice: the search is back, as it was, with the focus; by the other forms each finds its patient.
    await chosen.getByRole('button', { name: t('ko', 'reception.chosen.change'), exact: true }).click();
    await until(async () => assert.ok(await isFocused(search)), 'the focus back in the search box');
    assert.equal(await search.inputValue(), 'ㅌㅅ');
    const searches: Array<[string, string[]]> = [
      [soyul.patientId, [soyul.patientId]],
      [soyul.patientId.slice(0, 7), [soyul.patientId]],
      ['탁소', [soyun.patientId, soyul.patientId]],
      ['2468', [soyul.patientId]],
      ['1992.11.3', [soyun.patientId]],
      ['2015-02-28', [seoa.patientId]],
    ];
    for (const [query, expected] of searches) {
      await search.fill(query);
      await until(async () => assert.deepEqual(await resultIds(page), expected), `the search for ${query}`);
    }

    // Registering someone who looks like a patient already registered (the same name and birth date): the look-alike is offered.
    const dialog = await fillNewPatient(page, { name: '탁소율', birthDate: '19900517', sex: 'female' });
    const heading = dialog.getByRole('heading', { name: t('ko', 'reception.duplicates.heading'), exact: true });
    await heading.waitFor();
    await until(async () => assert.ok(await isFocused(heading)), 'the focus on the look-alikes\' heading');
    const candidate = dialog.locator(`li[data-patient-id="${soyul.patientId}"]`);
    await candidate.waitFor();
    await screenshot(page, 'console-reception-look-alike-ko');
    await candidate.getByRole('button', { name: t('ko', 'reception.duplicates.chooseNamed', { name: '탁소율', patientId: soyul.patientId }), exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await chosenPatient(page, soyul.patientId).waitFor();
    await until(async () => assert.ok(await isFocused(submit)), 'the focus on the register button after choosing the look-alike');
    const named = (name: string) => client.get<{ items: RegistryPatient[]; total: number }>(`/patients?q=${encodeURIComponent(name)}`);
    assert.equal(ok(await named('탁소율')).total, 1, 'choosing the look-alike registers nobody');

    // A different person of the same name and birth date: registered anyway, marked for review, and chosen.
    await chosenPatient(page).getByRole('button', { name: t('ko', 'reception.chosen.change'), exact: true }).click();
    await fillNewPatient(page, { name: '탁소율', birthDate: '1990-05-17', sex: 'male' });
    await dialog.getByRole('button', { name: t('ko', 'reception.duplicates.registerAnyway'), exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    const second = chosenPatient(page);
    await second.waitFor();
    const secondId = (await second.getAttribute('data-patient-id'))!;
    assert.notEqual(secondId, soyul.patientId, 'a new patient number');
    await toast(page, t('ko', 'reception.newPatient.registered', { name: '탁소율', patientId: secondId })).waitFor();
    assert.deepEqual(ok(await client.get<RegistryPatient>(`/patients/${secondId}`)).possibleDuplicates, [soyul.patientId], 'registered as a possible duplicate, for review');
    desk.errors.assertClean();
  });

  test('a patient registered and a visit registered with the keyboard alone, the focus always visible; a returning patient\'s visit in three keystrokes at most', { timeout: 90_000 }, async () => {
    const { client } = running;
    const { page, errors } = await openBlank({ label: 'keyboard' });
    await openSignIn(page, running.system.gatewayUrl);

    // Sign in: Tab to the username, type, Tab, type, Enter.
    const username = page.getByLabel(t('ko', 'signIn.username'));
    await tabTo(page, username, 'the username field');
    await assertFocusVisible(page, 'the username field');
    await page.keyboard.type('receptionist');
    await page.keyboard.press('Tab');
    assert.ok(await isFocused(page.getByLabel(t('ko', 'signIn.password'))), 'Tab goes from the username to the password');
    await page.keyboard.type('demo');
    await page.keyboard.press('Enter');
    await screenHeading(page, 'reception').waitFor();
    await liveIndicator(page).waitFor();

    // Search first: nobody of that name, so on (Tab) to registering a new patient, the name already filled in.
    const patientName = '정하늘';
    const search = deskSearch(page);
    await tabTo(page, search, 'the patient search');
    await assertFocusVisible(page, 'the patient search');
    await page.keyboard.type(patientName);
    await page.getByText(t('ko', 'reception.search.none', { query: patientName }), { exact: true }).waitFor();
    await page.keyboard.press('Tab');
    assert.ok(await isFocused(page.getByRole('button', { name: t('ko', 'reception.newPatient.open'), exact: true })), 'Tab goes from the search to registering a new patient');
    await assertFocusVisible(page, 'the new-patient button');
    await page.keyboard.press('Enter');
    const dialog = newPatientDialog(page);
    await dialog.waitFor();
    const nameField = dialog.getByLabel(t('ko', 'reception.newPatient.name'));
    await until(async () => assert.ok(await isFocused(nameField)), 'the focus on the name');
    assert.equal(await nameField.inputValue(), patientName, 'the name searched for is filled in');
    await page.keyboard.press('Tab');
    assert.ok(await isFocused(dialog.getByLabel(t('ko', 'reception.form.birthDate'))), 'Tab goes on to the birth date');
    await page.keyboard.type('19910823');
    await page.keyboard.press('Tab');
    const sex = dialog.getByLabel(t('ko', 'reception.newPatient.sex'));
    assert.ok(await isFocused(sex), 'Tab goes on to the sex');
    await assertFocusVisible(page, 'the sex field');
    await chooseWithArrows(page, sex, t('ko', 'reception.patient.sex.male'));
    await page.keyboard.press('Tab');
    assert.ok(await isFocused(dialog.getByLabel(t('ko', 'reception.newPatient.phone'))), 'Tab goes on to the phone');
    await page.keyboard.type('010-5550-1234');
    const registerPatientButton = dialog.getByRole('button', { name: t('ko', 'reception.newPatient.submit'), exact: true });
    await tabTo(page, registerPatientButton, 'the register-patient button');
    await assertFocusVisible(page, 'the register-patient button');
    await page.keyboard.press('Enter');

    // Registered and chosen: the focus on the visit's register button.
    await dialog.waitFor({ state: 'detached' });
    const chosen = chosenPatient(page);
    await chosen.waitFor();
    const patientId = (await chosen.getAttribute('data-patient-id'))!;
    await toast(page, t('ko', 'reception.newPatient.registered', { name: patientName, patientId })).waitFor();
    const patient = ok(await client.get<RegistryPatient>(`/patients/${patientId}`));
    assert.deepEqual([patient.name, patient.birthDate, patient.sex, patient.phone], [patientName, '1991-08-23', 'male', '010-5550-1234']);
    const submit = page.getByRole('button', { name: t('ko', 'reception.form.submit'), exact: true });
    await until(async () => assert.ok(await isFocused(submit)), 'the focus on the register-visit button once the patient is registered');
    await assertFocusVisible(page, 'the register-visit button');

    // The first visit: back (Shift+Tab) to the symptom and the department, chosen with the arrows; on to the button and Enter.
    await page.keyboard.press('Shift+Tab');
    const symptom = page.getByLabel(t('ko', 'reception.form.symptom'));
    assert.ok(await isFocused(symptom), 'Shift+Tab goes back to the symptom');
    await page.keyboard.type('기침');
    await page.keyboard.press('Shift+Tab');
    const department = combobox(page, 'reception.form.department');
    assert.ok(await isFocused(department), 'Shift+Tab goes back to the department');
    await assertFocusVisible(page, 'the department field');
    await chooseByTyping(page, department, '가정', 'family-medicine', '가정의학과');
    await tabTo(page, submit, 'the register button');
    await page.keyboard.press('Enter');
    const rows = page.locator('tr[data-reception-id]').filter({ hasText: patientId });
    await rows.first().waitFor();
    const first = ok(await client.get<Reception>(`/receptions/${Number(await rows.first().getAttribute('data-reception-id'))}`));
    assert.deepEqual({ patientId: first.patientId, patientName: first.patientName, department: first.department, symptom: first.symptom }, { patientId, patientName, department: 'family-medicine', symptom: '기침' });
    // Ready for the next patient: the search empty, with the focus; the department back to the hospital's default.
    await until(async () => assert.ok(await isFocused(search)), 'focus back on the search after registering');
    assert.equal(await search.inputValue(), '');
    assert.equal(await department.inputValue(), DEFAULT_DEPARTMENT.name.ko, 'the department back to the hospital\'s default');
    await assertFocusVisible(page, 'the search after registering');

    // The patient comes back: from the search box holding the name, at most three keystrokes to a registered visit:
    // Enter chooses the first match (or, while the answer to the name is on its way, searches at once, and then
    // Enter chooses), and Enter on the register button, which has the focus, registers the visit.
    await page.keyboard.type(patientName);
    let keystrokes = 0;
    const press = async (key: string) => {
      keystrokes += 1;
      await page.keyboard.press(key);
    };
    await press('Enter');
    const offered = searchResult(page, patientId).and(page.locator('[aria-selected="true"]'));
    await chosen.or(offered).first().waitFor();
    if (!(await chosen.isVisible())) await press('Enter');
    await chosenPatient(page, patientId).waitFor();
    await until(async () => assert.ok(await isFocused(submit)), 'the focus on the register button once the patient is chosen');
    await assertFocusVisible(page, 'the register button of the returning patient');
    await press('Enter');
    await until(async () => assert.equal(await rows.count(), 2), 'the second visit on today\'s list');
    assert.ok(keystrokes <= 3, `a returning patient's visit took ${keystrokes} keystrokes after the name`);
    const visits = ok(await client.get<ListPage<Reception>>(`/receptions?patientId=${patientId}`)).items;
    assert.equal(visits.length, 2, 'one visit per Enter on the register button');
    assert.deepEqual([visits[1]!.patientName, visits[1]!.department, visits[1]!.symptom], [patientName, DEFAULT_DEPARTMENT.code, undefined], 'the hospital\'s default department, no symptom');
    await toast(page, t('ko', 'reception.form.registered', { name: patientName, patientId, id: visits[1]!.id })).waitFor();
    errors.assertClean();
  });
});

// ---- per screen ------------------------------------------------------------------------------

type Ids = { reception: number; diagnosis: number; examination: number };

/** What a screen shows before its screenshot: the doctor's diagnosis open, the board's visit with its timeline. */
async function prepare(page: Page, screen: ScreenId, language: Language, patientName: string, ids: Ids): Promise<void> {
  if (screen === 'doctor') {
    const row = rowOf(page, 'diagnosis-id', ids.diagnosis).and(page.locator('tr'));
    await row.waitFor();
    await rowAction(row, language, 'common.select', patientName, ids.diagnosis).click();
    await page.getByRole('heading', { level: 2, name: t(language, 'doctor.detail.heading', { id: ids.diagnosis, name: patientName }), exact: true }).waitFor();
    await page.locator(`section[data-diagnosis-id="${ids.diagnosis}"] tr[data-examination-id="${ids.examination}"]`).waitFor();
  } else if (screen === 'board') {
    const card = page.locator(`li[data-reception-id="${ids.reception}"]`);
    await card.waitFor();
    await card.getByRole('button').click();
    await page.locator(`section.timeline[data-reception-id="${ids.reception}"] tbody tr`).first().waitFor();
  } else if (screen === 'reception') {
    await rowOf(page, 'reception-id', ids.reception).waitFor();
  } else {
    await rowOf(page, 'examination-id', ids.examination).waitFor();
  }
}

/** The examiner's perform dialog of one examination, open, with its fields. */
async function openPerformDialog(page: Page, language: Language, type: string, patientName: string, examinationId: number): Promise<void> {
  const row = rowOf(page, 'examination-id', examinationId);
  await rowAction(row, language, 'examiner.perform', patientName, examinationId).click();
  const dialog = page.getByRole('dialog', { name: t(language, 'examiner.performDialog.title', { type, name: patientName, id: examinationId }), exact: true });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: t(language, 'examiner.performDialog.submit'), exact: true }).waitFor();
  await dialog.getByRole('button', { name: t(language, 'common.close'), exact: true }).waitFor();
  await dialog.getByLabel(t(language, 'examiner.performDialog.result')).waitFor();
  await dialog.getByLabel(t(language, 'examiner.performDialog.file')).waitFor();
}

async function assertSignInTexts(page: Page, language: Language): Promise<void> {
  await page.locator(`html[lang="${language}"]`).waitFor({ state: 'attached' });
  await page.getByRole('heading', { level: 1, name: t(language, 'signIn.title'), exact: true }).waitFor();
  await page.getByLabel(t(language, 'signIn.username')).waitFor();
  await page.getByLabel(t(language, 'signIn.password')).waitFor();
  await page.getByRole('button', { name: t(language, 'signIn.submit'), exact: true }).waitFor();
  await page.getByText(t(language, 'signIn.devHint'), { exact: true }).waitFor();
  await page.getByRole('button', { name: t(language, 'app.languageSwitch'), exact: true }).waitFor();
  assert.equal(await page.title(), t(language, 'app.title'));
}

/** The texts of the screen, the header and the data's translated statuses, in `language`; and none of the other language's headings. */
async function assertScreenTexts(page: Page, screen: ScreenId, language: Language, data: { patientName: string; patientId: string; ids: Ids; department: Record<Language, string>; examination: Record<Language, string> }): Promise<void> {
  const other: Language = language === 'ko' ? 'en' : 'ko';
  const heading = (key: string, values: Record<string, string | number> = {}, level?: number) =>
    page.getByRole('heading', { name: t(language, key, values), exact: true, ...(level ? { level } : {}) }).waitFor();
  const label = (key: string) => page.getByLabel(t(language, key)).first().waitFor();
  const button = (key: string) => page.getByRole('button', { name: t(language, key), exact: true }).first().waitFor();
  const column = (key: string) => page.getByRole('columnheader', { name: t(language, key), exact: true }).first().waitFor();

  await page.locator(`html[lang="${language}"]`).waitFor({ state: 'attached' });
  assert.equal(await page.title(), t(language, 'app.title'), 'the document title');
  await screenHeading(page, screen, language).waitFor();
  assert.equal(await screenHeading(page, screen, other).count(), 0, `no ${other} heading left`);
  await button('app.signOut');
  await page.getByRole('button', { name: t(language, 'app.languageSwitch'), exact: true }).waitFor();
  await liveIndicator(page, language).waitFor();

  if (screen === 'reception') {
    await heading('reception.form.heading', {}, 2);
    await heading('reception.list.heading', {}, 2);
    // The search first, with its hint and the way to register a new patient; then the visit's fields.
    await deskSearch(page, language).waitFor();
    assert.match((await accessibleDescription(deskSearch(page, language))) ?? '', literally(t(language, 'reception.search.hint')), 'the search says what it takes');
    await button('reception.newPatient.open');
    for (const key of ['department', 'symptom']) await label(`reception.form.${key}`);
    await button('reception.form.submit');
    for (const key of ['id', 'receivedAt', 'patient', 'status', 'outcome', 'actions']) await column(`reception.list.${key}`);
    const row = rowOf(page, 'reception-id', data.ids.reception);
    await row.filter({ hasText: t(language, 'status.reception.RECEIVED') }).waitFor();
    await rowAction(row, language, 'reception.cancel', data.patientName, data.ids.reception).waitFor();
    // The visit's department by its name in the language; the form's choice preselected to the hospital's default, named so too.
    await row.filter({ has: page.getByRole('cell', { name: data.department[language], exact: true }) }).waitFor();
    const department = combobox(page, 'reception.form.department', language);
    await until(async () => assert.equal(await department.inputValue(), DEFAULT_DEPARTMENT.name[language]), `the default department preselected, named in ${language}`);
  } else if (screen === 'doctor') {
    await heading('doctor.worklist.heading', {}, 2);
    await heading('doctor.detail.heading', { id: data.ids.diagnosis, name: data.patientName }, 2);
    for (const key of ['prescriptions.heading', 'prescribe.heading', 'complete.heading', 'reject.heading']) await heading(`doctor.${key}`, {}, 3);
    for (const key of ['prescribe.examinationType', 'prescribe.instructions', 'complete.opinion', 'reject.reason']) await label(`doctor.${key}`);
    await button('doctor.prescribe.submit');
    await button('doctor.complete.submit');
    await button('doctor.reject.submit');
    for (const key of ['id', 'patient', 'status', 'updatedAt', 'actions']) await column(`doctor.worklist.${key}`);
    await rowOf(page, 'diagnosis-id', data.ids.diagnosis).and(page.locator('tr')).filter({ hasText: t(language, 'status.diagnosis.EXAMINATION_PRESCRIBED') }).waitFor();
    await page.locator(`tr[data-examination-id="${data.ids.examination}"]`).filter({ hasText: t(language, 'status.examination.REQUESTED') }).filter({ hasText: data.examination[language] }).waitFor();
  } else if (screen === 'examiner') {
    await heading('examiner.worklist.heading', {}, 2);
    for (const key of ['id', 'type', 'patient', 'diagnosis', 'reception', 'instructions', 'requestedAt', 'actions']) await column(`examiner.worklist.${key}`);
    const row = rowOf(page, 'examination-id', data.ids.examination);
    await rowAction(row, language, 'examiner.perform', data.patientName, data.ids.examination).waitFor();
    await rowAction(row, language, 'examiner.cancel', data.patientName, data.ids.examination).waitFor();
    // The examination by its name in the language.
    await row.filter({ hasText: data.examination[language] }).waitFor();
  } else {
    await label('board.search');
    await heading('board.stages', {}, 2);
    for (const section of await page.locator('section[data-stage]').all()) {
      const stage = (await section.getAttribute('data-stage'))!;
      const count = Number(await section.getAttribute('data-count'));
      await section.getByRole('heading', { level: 3, name: t(language, 'board.stageHeading', { stage: t(language, `stage.${stage}`), count }), exact: true }).waitFor();
    }
    await page.locator(`section[data-stage="IN_EXAMINATION"] li[data-reception-id="${data.ids.reception}"]`).waitFor();
    await heading('board.timeline.heading', { name: data.patientName, id: data.ids.reception }, 2);
    for (const key of ['at', 'description', 'stage', 'service', 'actor']) await column(`board.timeline.${key}`);
    const receptionist = t(language, 'board.timeline.actorValue', { name: 'Demo Receptionist', role: t(language, 'role.receptionist') });
    await page.locator('section.timeline tr[data-event="ReceptionCompleted"]').getByRole('cell', { name: receptionist, exact: true }).waitFor();
    // The step's columns: what happened (in Korean, the event's name), its stage, its service, who did it.
    const cells = await page.locator('section.timeline tr[data-event="ReceptionCompleted"] td').allTextContents();
    const event = 'board.timeline.events.ReceptionCompleted';
    const service = 'board.timeline.services.reception';
    if (language === 'ko' && hasMessage('ko', event)) assert.ok(cells[0]?.startsWith(t('ko', event)), `the step is named "${t('ko', event)}": ${cells[0]}`);
    assert.deepEqual(cells.slice(1), [t(language, 'stage.RECEIVED'), hasMessage(language, service) ? t(language, service) : 'reception', receptionist]);
  }
}

/**
 * Searches the access log for `patientId` (typed, then Enter in the field) and again, about once a
 * second, until `target` (and each of `also`) is in the state asked: records arrive moments after a
 * request. Each search is itself a read of the patient's log, recorded as its newest line, so the
 * tries are few.
 */
async function searchAccessLog(page: Page, patientId: string, target: Locator, what: string, also: Locator[] = [], state: 'visible' | 'detached' = 'visible'): Promise<void> {
  const field = page.getByLabel(t('ko', 'accessLog.search.patientId'));
  await field.fill(patientId);
  for (let attempt = 1; attempt <= 10; attempt++) {
    await field.press('Enter');
    try {
      await target.waitFor({ state, timeout: 1_000 });
      for (const locator of also) await locator.waitFor({ state, timeout: 1_000 });
      return;
    } catch {
      // Not yet: search again.
    }
  }
  assert.fail(`${what}: not shown after 10 searches`);
}

// ---- keyboard and layout ---------------------------------------------------------------------

type DomElement = { getBoundingClientRect(): unknown };
type BrowserGlobals = {
  document: { activeElement: DomElement | null; documentElement: { scrollWidth: number; clientWidth: number } };
  getComputedStyle(element: DomElement): { outlineStyle: string; outlineWidth: string; boxShadow: string };
};

/**
 * A box's value once it is `expected`, or after a second its value then: the combobox puts its
 * choice back in a render after the list closes, which a read at once can come before.
 */
async function settledValue(box: Locator, expected: string): Promise<string> {
  const until = Date.now() + 1_000;
  let value = await box.inputValue();
  while (value !== expected && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await box.inputValue();
  }
  return value;
}

async function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((element) => element === (globalThis as unknown as BrowserGlobals).document.activeElement);
}

/**
 * Chooses the option named `label` of the focused <select> with the arrow keys alone (Chromium
 * changes a closed select's value on ArrowDown/ArrowUp, as a user does it without a mouse).
 */
async function chooseWithArrows(page: Page, select: Locator, label: string): Promise<void> {
  const { labels, selected } = await select.evaluate((element) => {
    const el = element as unknown as { options: ArrayLike<{ label: string }>; selectedIndex: number };
    return { labels: Array.from(el.options, (option) => option.label), selected: el.selectedIndex };
  });
  const target = labels.indexOf(label);
  assert.ok(target >= 0, `the select offers ${label}: ${JSON.stringify(labels)}`);
  for (let index = selected; index !== target; index += target > selected ? 1 : -1) await page.keyboard.press(target > selected ? 'ArrowDown' : 'ArrowUp');
  assert.equal(await select.locator('option:checked').textContent(), label, `${label} chosen with the arrow keys`);
}

/**
 * Chooses in the focused combobox with the keyboard alone: what it holds selected and replaced by
 * `typed`, the first match highlighted (checked to be `code`), Enter; the box then shows `name`.
 */
async function chooseByTyping(page: Page, box: Locator, typed: string, code: string, name: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(typed);
  const highlighted = page.getByRole('listbox').locator('[role="option"][aria-selected="true"]');
  await until(async () => assert.equal(await highlighted.getAttribute('data-value'), code), `${typed} highlights ${code}`);
  await page.keyboard.press('Enter');
  await until(async () => assert.equal(await box.inputValue(), name), `${name} chosen with the keyboard`);
}

/** Presses Tab until `target` has the focus (at most 40 times). */
async function tabTo(page: Page, target: Locator, what: string): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    if (await isFocused(target)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${what} never received the focus in 40 presses of Tab`);
}

/** The focused element shows a focus indicator: an outline (or a box shadow) of some width. */
async function assertFocusVisible(page: Page, what: string): Promise<void> {
  const style = await page.evaluate(() => {
    const g = globalThis as unknown as BrowserGlobals;
    const element = g.document.activeElement;
    if (!element) return null;
    const computed = g.getComputedStyle(element);
    return { outlineStyle: computed.outlineStyle, outlineWidth: computed.outlineWidth, boxShadow: computed.boxShadow };
  });
  assert.ok(style, `${what}: nothing has the focus`);
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  assert.ok(outlined || style.boxShadow !== 'none', `${what}: the focus is not visible (${JSON.stringify(style)})`);
}

/** The page fits its viewport's width: nothing to scroll sideways (a tablet held upright). */
async function assertNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    const root = (globalThis as unknown as BrowserGlobals).document.documentElement;
    return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
  });
  assert.ok(scrollWidth <= clientWidth + 1, `${what}: the page is ${scrollWidth}px wide in a ${clientWidth}px window, so it scrolls sideways`);
}

/**
 * Nothing of the screen is cut off at this width: the page does not scroll sideways, no table needs
 * its scroll box (every column, every row's action, in sight), and every control lies within the
 * window. Answers each problem, naming the table by its heading.
 */
async function assertNothingCutOff(page: Page, what: string): Promise<void> {
  const problems = await page.evaluate(() => {
    type Box = { left: number; right: number; width: number };
    type Node = { scrollWidth: number; clientWidth: number; getAttribute(name: string): string | null; getBoundingClientRect(): Box; textContent: string | null; tagName: string };
    const doc = (globalThis as unknown as { document: { documentElement: Node; querySelectorAll(selector: string): ArrayLike<Node>; getElementById(id: string): Node | null } }).document;
    const found: string[] = [];
    const root = doc.documentElement;
    if (root.scrollWidth > root.clientWidth + 1) found.push(`the page scrolls sideways: ${root.scrollWidth}px in ${root.clientWidth}px`);
    for (const wrap of Array.from(doc.querySelectorAll('.table-wrap'))) {
      const name = doc.getElementById(wrap.getAttribute('aria-labelledby') ?? '')?.textContent ?? '(a table)';
      if (wrap.scrollWidth > wrap.clientWidth + 1) found.push(`the table "${name}" is cut off: ${wrap.scrollWidth}px wide in a ${wrap.clientWidth}px box`);
    }
    for (const control of Array.from(doc.querySelectorAll('button, a[href], input, select, textarea'))) {
      const box = control.getBoundingClientRect();
      if (box.width > 0 && (box.left < -1 || box.right > root.clientWidth + 1)) found.push(`${control.tagName.toLowerCase()} "${(control.textContent ?? '').trim()}" lies outside the window (${Math.round(box.left)} to ${Math.round(box.right)} px)`);
    }
    return found;
  });
  assert.deepEqual(problems, [], `${what}: something is cut off`);
}

/** An element's accessible description (aria-describedby's texts). */
async function accessibleDescription(locator: Locator): Promise<string | null> {
  return locator.evaluate((element) => {
    const el = element as unknown as { getAttribute(n: string): string | null; ownerDocument: { getElementById(id: string): { textContent: string | null } | null } };
    const ids = el.getAttribute('aria-describedby');
    if (!ids) return null;
    return ids.split(/\s+/).map((id) => el.ownerDocument.getElementById(id)?.textContent ?? '').join(' ');
  });
}
