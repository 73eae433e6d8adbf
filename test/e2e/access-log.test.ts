import assert from 'node:assert/strict';
import { test } from 'node:test';
import { permissionFor, type AccessLogEntry } from '@medical/contracts';
import {
  authHeaders,
  describeEachProfile,
  eventually,
  ok,
  prescribe,
  query,
  registerVisit,
  registerPatient,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  type HttpReply,
  type Page,
  type TestSystem,
} from './helpers.ts';

/**
 * The access log through the gateway (issue 18): roles × departments × the routes that read a
 * patient's records, with and without a Break-Glass reason, each answered as the permission table
 * and the departments say; then the patient's access log names every one of those requests, by
 * the gateway's request id: who (subject and role, `anonymous` without a token), what (method,
 * route pattern, status), read or refused, the visit, and the break-glass reason when the glass
 * was broken.
 */

type User = 'receptionist' | 'doctor' | 'doctor-surgery' | 'examiner' | 'manager' | 'auditor' | 'admin' | 'anonymous';
const users: readonly User[] = ['receptionist', 'doctor', 'doctor-surgery', 'examiner', 'manager', 'auditor', 'admin', 'anonymous'];
const roleOf = (user: User) => (user === 'doctor-surgery' ? 'doctor' : user);

const REASON = 'Arrived unconscious; internal medicine not reachable';

let running: TestSystem;
let patientId: string;
let ids: { receptionId: number; diagnosisId: number; examinationId: number; attachment: string };

async function headersOf(user: User, breakGlass?: string): Promise<Record<string, string>> {
  const headers: Record<string, string> = breakGlass !== undefined ? { 'break-glass': breakGlass } : {};
  if (user === 'anonymous') return headers;
  const token = await running.tokens.tokenForUser(user);
  assert.ok(token, `a token for ${user}`);
  return { ...headers, authorization: `Bearer ${token}` };
}

/** One request of the matrix, and what it should be answered. */
type Call = { user: User; path: string; breakGlass?: string };

/** What the rules say: 401 without a token, 403 for a role the route does not allow, 403 for the surgeon on internal medicine's diagnosis without the glass broken. */
function expectedStatus({ user, path, breakGlass }: Call): number {
  if (user === 'anonymous') return 401;
  const allowed = permissionFor('GET', path)!.roles;
  if (!allowed.includes(roleOf(user) as (typeof allowed)[number])) return 403;
  if (user === 'doctor-surgery' && path === `/diagnoses/${ids.diagnosisId}` && breakGlass === undefined) return 403;
  return 200;
}

describeEachProfile((profile) => {
  useTestSystem('access-log', profile, async (system) => {
    running = system;
    const admin = system.client.as('admin');
    patientId = await registerPatient(system.client);
    const reception = await registerVisit(system.client, { patientId, department: 'internal-medicine' });
    const diagnosis = await waitForDiagnosis(admin, reception.id);
    const { prescription } = await prescribe(admin, diagnosis.id, 'CBC');
    const examination = await waitForExamination(admin, diagnosis.id, prescription.prescriptionId);
    // A report on the examination, so that its download is one of the reads.
    const uploadPath = `/examinations/${examination.id}/attachments`;
    const form = new FormData();
    form.append('file', new Blob([new TextEncoder().encode('%PDF-1.7\n% access log\n%%EOF\n')], { type: 'application/pdf' }), 'report.pdf');
    const uploaded = await fetch(`${system.system.gatewayUrl}${uploadPath}`, { method: 'POST', body: form, headers: await authHeaders('POST', uploadPath, 'examiner') });
    const attachment = (await uploaded.json()) as { name?: string };
    assert.equal(uploaded.status, 201, `upload an attachment: ${JSON.stringify(attachment)}`);
    ids = { receptionId: reception.id, diagnosisId: diagnosis.id, examinationId: examination.id, attachment: attachment.name! };
  });

  test('roles × departments × the reading routes, with and without breaking the glass; the access log names every read and refusal', async () => {
    const { receptionId, diagnosisId, examinationId, attachment } = ids;
    const paths = [
      `/receptions/${receptionId}`,
      `/receptions${query({ patientId })}`,
      `/diagnoses/${diagnosisId}`,
      `/diagnoses${query({ receptionId })}`,
      `/examinations/${examinationId}`,
      `/examinations${query({ receptionId })}`,
      `/examinations/${examinationId}/attachments`,
      `/examinations/${examinationId}/attachments/${attachment}`,
      `/patientManagements/${receptionId}`,
      `/patientManagements/${receptionId}/timeline`,
      `/patientManagements${query({ patientId })}`,
      `/patients/${encodeURIComponent(patientId)}/access-log`,
    ];
    const calls: Call[] = users.flatMap((user) => paths.map((path) => ({ user, path })));
    calls.push({ user: 'doctor-surgery', path: `/diagnoses/${diagnosisId}`, breakGlass: REASON });
    calls.push({ user: 'doctor', path: `/diagnoses/${diagnosisId}`, breakGlass: REASON });

    const made: Array<Call & { status: number; requestId: string; clientRequestId: string }> = [];
    for (const [index, call] of calls.entries()) {
      const clientRequestId = `matrix-${index}`;
      const headers = { ...(await headersOf(call.user, call.breakGlass)), 'x-request-id': clientRequestId };
      const reply = await running.client.as('none').get(call.path, { headers });
      const context = `${call.user} GET ${call.path}${call.breakGlass ? ' with Break-Glass' : ''}`;
      assert.equal(reply.status, expectedStatus(call), `${context}: ${reply.text}`);
      const requestId = reply.headers.get('x-request-id');
      assert.ok(requestId && requestId !== clientRequestId, `${context}: the answer names the gateway's own request id, not the client's`);
      made.push({ ...call, status: reply.status, requestId, clientRequestId });
    }
    assert.ok(made.some((m) => m.status === 401) && made.some((m) => m.status === 403) && made.some((m) => m.status === 200));

    // Every request of the matrix is in the patient's log (records arrive within moments).
    const entries = await eventually(
      async () => {
        const all = await readWholeLog();
        const byRequest = new Map(all.map((entry) => [entry.requestId, entry]));
        const missing = made.filter((m) => !byRequest.has(m.requestId));
        assert.deepEqual(missing.map((m) => `${m.user} ${m.path}`), [], 'requests not in the access log yet');
        return byRequest;
      },
      { timeoutMs: 30_000, message: 'every request of the matrix in the access log' },
    );
    for (const call of made) {
      const entry = entries.get(call.requestId)!;
      const context = `${call.user} GET ${call.path}${call.breakGlass ? ' with Break-Glass' : ''}`;
      assert.equal(entry.action, call.status === 200 ? 'read' : 'refused', context);
      assert.equal(entry.status, call.status, context);
      assert.equal(entry.method, 'GET', context);
      assert.equal(entry.role, roleOf(call.user), context);
      assert.equal(entry.subject, call.user === 'anonymous' ? 'anonymous' : `dev:${call.user}`, context);
      assert.equal(entry.route.includes(String(receptionId)) || entry.route.includes(patientId), false, `${context}: the route is a pattern (${entry.route})`);
      // The visit, whichever of its ids the request named or its answer showed; none for a request
      // that named only the patient and was refused (it showed nothing), nor for the log itself.
      const namesOnlyThePatient = call.path.startsWith('/patients/') || (call.path.includes('patientId=') && call.status !== 200);
      assert.equal(entry.receptionId, namesOnlyThePatient ? undefined : receptionId, context);
      // Only where the glass was broken: the surgeon's read with a reason, not the doctor's within department.
      assert.equal(entry.breakGlassReason, call.user === 'doctor-surgery' && call.breakGlass && call.status === 200 ? REASON : undefined, context);
    }
  });

  test('the log is paged newest first, and refused to every role but auditor and admin', async () => {
    const auditor = running.client.as('auditor');
    const first = ok(await auditor.get<Page<AccessLogEntry>>(`/patients/${encodeURIComponent(patientId)}/access-log${query({ size: 5 })}`));
    assert.equal(first.items.length, 5);
    assert.ok(first.total > 5);
    const times = first.items.map((entry) => entry.at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    const second = ok(await auditor.get<Page<AccessLogEntry>>(`/patients/${encodeURIComponent(patientId)}/access-log${query({ size: 5, page: 1 })}`));
    assert.equal(second.items.length, 5);
    assert.notDeepEqual(second.items[0], first.items[0]);
    const unknown = ok(await auditor.get<Page<AccessLogEntry>>(`/patients/NOBODY-${Date.now()}/access-log`));
    assert.equal(unknown.items.every((entry) => entry.route === '/patients/:patientId/access-log'), true, 'a patient nobody knows: only the reads of their (empty) log');
    for (const role of ['receptionist', 'doctor', 'examiner', 'manager'] as const) {
      assert.equal((await running.client.as(role).get(`/patients/${encodeURIComponent(patientId)}/access-log`)).status, 403, role);
    }
    const bad = await auditor.get(`/patients/${encodeURIComponent(patientId)}/access-log${query({ size: 1000 })}`);
    assert.equal(bad.status, 400);
  });
});

async function readWholeLog(): Promise<AccessLogEntry[]> {
  const entries: AccessLogEntry[] = [];
  for (let page = 0; ; page++) {
    const reply = (await running.client.as('auditor').get(`/patients/${encodeURIComponent(patientId)}/access-log${query({ page, size: 100 })}`)) as HttpReply<Page<AccessLogEntry>>;
    const found = ok(reply);
    entries.push(...found.items);
    if (entries.length >= found.total || found.items.length === 0) return entries;
  }
}
