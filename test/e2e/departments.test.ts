import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertProblem,
  describeEachProfile,
  expectStatus,
  inServiceDatabase,
  ok,
  query,
  registerVisit,
  useTestSystem,
  waitForDiagnosis,
  waitForQuiescence,
  type Client,
  type Diagnosis,
  type HttpReply,
  type Page,
  type TestSystem,
} from './helpers.ts';

/**
 * Departments and break-glass through the gateway (issue 18): a visit belongs to a department, its
 * diagnosis with it; a doctor sees and acts on the diagnoses of the departments their token names
 * (the demo `doctor` works in internal medicine, `doctor-surgery` in surgery), admin on every one.
 * Outside them, a doctor is refused (403, urn:medical:problem:forbidden/outside-department) unless
 * breaking the glass with a reason (the Break-Glass header): then it is allowed, audited with the
 * reason, counted, and a step of the visit's timeline, which says so without the reason.
 */

type User = 'doctor' | 'doctor-surgery' | 'admin';
type Step = { event: string; description: string; stage: string; actor?: { subject: string; role: string } };

const OUTSIDE_DEPARTMENT = 'urn:medical:problem:forbidden/outside-department';
const REASON = 'Collapsed in the waiting room; known to surgery only';

let running: TestSystem;
/** The visits of this file, each with its diagnosis: by the department the desk registered. */
let visits: Record<'internal' | 'surgery' | 'unnamed', { receptionId: number; diagnosis: Diagnosis }>;

/** Headers that make a request as `user` (a demo user's own token), and with a Break-Glass reason when given. */
async function as(user: User, breakGlass?: string): Promise<Record<string, string>> {
  const token = await running.tokens.tokenForUser(user);
  assert.ok(token, `a token for ${user}`);
  return { authorization: `Bearer ${token}`, ...(breakGlass !== undefined ? { 'break-glass': breakGlass } : {}) };
}

function get(user: User, path: string, breakGlass?: string): Promise<HttpReply> {
  return as(user, breakGlass).then((headers) => running.client.get(path, { headers }));
}

function post(user: User, path: string, json: unknown, breakGlass?: string): Promise<HttpReply> {
  return as(user, breakGlass).then((headers) => running.client.post(path, json, { headers }));
}

function assertOutsideDepartment(reply: HttpReply, department: string): void {
  assertProblem(reply, 403);
  assert.equal(reply.body.type, OUTSIDE_DEPARTMENT, reply.text);
  assert.match(reply.body.detail, new RegExp(`department ${department}`));
  assert.doesNotMatch(reply.text, /Hong Gildong|P-/, 'the refusal names no patient');
}

async function timelineOf(client: Client, receptionId: number): Promise<Step[]> {
  return ok(await client.as('manager').get<{ steps: Step[] }>(`/patientManagements/${receptionId}/timeline`)).steps;
}

/** medical_break_glass_total of a route, as the diagnosis service exposes it. */
async function breakGlassCount(route: string): Promise<number> {
  const text = await (await fetch(`${running.system.services.diagnosis.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('medical_break_glass_total{') && l.includes(`route="${route}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function breakGlassAudit(receptionId: number): Promise<Array<{ command: string; actor_subject: string; break_glass_reason: string | null }>> {
  const rows = await inServiceDatabase(running, 'diagnosis', 'select command, actor_subject, break_glass_reason from audit_log where reception_id = ? order by id', [receptionId]);
  // node:sqlite's rows have no prototype: copied into plain objects, to compare them.
  return (rows as Array<{ command: string; actor_subject: string; break_glass_reason: string | null }>).map((row) => ({ ...row }));
}

describeEachProfile((profile) => {
  useTestSystem('departments', profile, async (system) => {
    running = system;
    const admin = system.client.as('admin');
    const registered = async (department?: string) => {
      const reception = await registerVisit(system.client, department ? { department } : {});
      // Waited for as admin: the doctor of internal medicine does not see the surgical one.
      return { receptionId: reception.id, diagnosis: await waitForDiagnosis(admin, reception.id) };
    };
    visits = { internal: await registered('internal-medicine'), surgery: await registered('surgery'), unnamed: await registered() };
  });

  test("each diagnosis belongs to its visit's department; one registered without a department to the default one", () => {
    assert.equal(visits.internal.diagnosis.department, 'internal-medicine');
    assert.equal(visits.surgery.diagnosis.department, 'surgery');
    assert.equal(visits.unnamed.diagnosis.department, 'internal-medicine');
  });

  test('roles × departments × the diagnosis routes, without a Break-Glass reason', async () => {
    const sees: Record<User, Record<keyof typeof visits, boolean>> = {
      doctor: { internal: true, surgery: false, unnamed: true },
      'doctor-surgery': { internal: false, surgery: true, unnamed: false },
      admin: { internal: true, surgery: true, unnamed: true },
    };
    for (const [user, expected] of Object.entries(sees) as Array<[User, Record<keyof typeof visits, boolean>]>) {
      for (const [name, visit] of Object.entries(visits) as Array<[keyof typeof visits, (typeof visits)['internal']]>) {
        const context = `${user} on the ${name} visit`;
        const listed = ok((await get(user, `/diagnoses${query({ receptionId: visit.receptionId })}`)) as HttpReply<Page<Diagnosis>>, 200, context);
        assert.deepEqual([listed.items.map((d) => d.id), listed.total], expected[name] ? [[visit.diagnosis.id], 1] : [[], 0], `${context}: the worklist`);
        const one = await get(user, `/diagnoses/${visit.diagnosis.id}`);
        if (expected[name]) expectStatus(one, 200, context);
        else assertOutsideDepartment(one, visit.diagnosis.department as string);
        if (expected[name]) continue;
        // Every command on a diagnosis outside the doctor's departments is refused before anything happens.
        assertOutsideDepartment(await post(user, `/diagnoses/${visit.diagnosis.id}/prescriptions`, { examinationType: 'CT_HEAD' }), visit.diagnosis.department as string);
        assertOutsideDepartment(await post(user, `/diagnoses/${visit.diagnosis.id}/complete`, { opinion: 'fine' }), visit.diagnosis.department as string);
        assertOutsideDepartment(await post(user, `/diagnoses/${visit.diagnosis.id}/reject`, { reason: 'no' }), visit.diagnosis.department as string);
      }
    }
    // The other roles are refused by the permission table, as before (not by department).
    for (const role of ['receptionist', 'examiner', 'manager'] as const) {
      const reply = await running.client.as(role).get(`/diagnoses/${visits.internal.diagnosis.id}`);
      assertProblem(reply, 403);
      assert.equal(reply.body.type, 'urn:medical:problem:forbidden');
    }
  });

  test('breaking the glass: the surgeon opens and acts on an internal-medicine diagnosis, audited with the reason, counted, on the timeline', async () => {
    const visit = visits.internal;
    const reads = await breakGlassCount('/diagnoses/:id');
    const prescriptions = await breakGlassCount('/diagnoses/:id/prescriptions');
    const opened = ok(await get('doctor-surgery', `/diagnoses/${visit.diagnosis.id}`, REASON), 200, 'open with Break-Glass');
    assert.equal(opened.id, visit.diagnosis.id);
    // Percent-encoded, as a browser sends a reason that is not Latin-1.
    const acted = ok(await post('doctor-surgery', `/diagnoses/${visit.diagnosis.id}/prescriptions`, { examinationType: 'ECG' }, encodeURIComponent('응급: 의식 저하')), 201, 'prescribe with Break-Glass');
    assert.equal(acted.status, 'EXAMINATION_PRESCRIBED');
    assert.equal(await breakGlassCount('/diagnoses/:id'), reads + 1);
    assert.equal(await breakGlassCount('/diagnoses/:id/prescriptions'), prescriptions + 1);

    const audited = (await breakGlassAudit(visit.receptionId)).filter((row) => row.break_glass_reason !== null);
    assert.deepEqual(audited, [
      { command: 'diagnosis.read', actor_subject: 'dev:doctor-surgery', break_glass_reason: REASON },
      { command: 'diagnosis.prescribe', actor_subject: 'dev:doctor-surgery', break_glass_reason: '응급: 의식 저하' },
    ]);

    await waitForQuiescence(running);
    const steps = await timelineOf(running.client, visit.receptionId);
    const glass = steps.filter((s) => s.event === 'BreakGlassAccessed');
    assert.equal(glass.length, 2, JSON.stringify(steps));
    for (const step of glass) {
      assert.match(step.description, /opened in an emergency/);
      assert.deepEqual([step.actor?.subject, step.actor?.role], ['dev:doctor-surgery', 'doctor']);
    }
    assert.doesNotMatch(JSON.stringify(steps), /waiting room|의식/, 'the timeline never shows the reason');
    // The read left the visit where it was; the prescription moved it on.
    assert.equal(glass[0]!.stage, 'WAITING_FOR_DOCTOR');
    assert.equal(steps.at(-1)?.stage, 'IN_EXAMINATION');
  });

  test('a Break-Glass reason on a diagnosis of one\'s own department, or as admin, records nothing', async () => {
    const visit = visits.surgery;
    const before = await breakGlassCount('/diagnoses/:id');
    expectStatus(await get('doctor-surgery', `/diagnoses/${visit.diagnosis.id}`, REASON), 200, 'own department');
    expectStatus(await get('admin', `/diagnoses/${visit.diagnosis.id}`, REASON), 200, 'admin');
    assert.equal(await breakGlassCount('/diagnoses/:id'), before);
    assert.deepEqual((await breakGlassAudit(visit.receptionId)).filter((row) => row.break_glass_reason !== null), []);
    await waitForQuiescence(running);
    assert.deepEqual((await timelineOf(running.client, visit.receptionId)).filter((s) => s.event === 'BreakGlassAccessed'), []);
  });

  test('a bad Break-Glass header is a 400 naming the header', async () => {
    for (const value of ['', ' ', 'x'.repeat(501)]) {
      const reply = await get('doctor', `/diagnoses/${visits.surgery.diagnosis.id}`, value);
      assertProblem(reply, 400, { fields: ['Break-Glass'] });
    }
    assertProblem(await post('doctor', `/diagnoses/${visits.surgery.diagnosis.id}/reject`, { reason: 'x' }, '%E2%80%8B'), 400, { fields: ['Break-Glass'] });
  });
});
