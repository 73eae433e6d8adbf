import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { promisify } from 'node:util';
import { test } from 'node:test';
import {
  assertProblem,
  assertTimestamp,
  cancelReception,
  describeEachProfile,
  getVisit,
  ok,
  registerVisit,
  useTestSystem,
  waitForDiagnosis,
  waitForQuiescence,
  type Client,
  type TestSystem,
} from './helpers.ts';
import { driveVisit } from './support/visits.ts';

/**
 * The visit's timeline (GET /patientManagements/{receptionId}/timeline) through the gateway:
 * every step of a visit in time order, each with who did it. A person's command carries the
 * actor of the request's verified token: the e2e client sends each command as the role the
 * permission table names first for it (the development identity provider's demo users), so the
 * receptionist registers, cancels and confirms, the doctor prescribes, completes and rejects, and
 * the examiner performs and cancels. What a service does by itself (an examination ordered from a
 * prescription, the diagnosis put on the worklist, a compensation) is attributed to that
 * service's system actor.
 */
const run = promisify(execFile);

type Actor = { subject: string; name?: string; role: string };
type Step = { at: string; event: string; eventId: string; service: string; description: string; stage: string; actor?: Actor };
type Timeline = { receptionId: number; steps: Step[] };

let running: TestSystem;

type AuditRow = { command: string; aggregate_id: string; reception_id: number; actor_subject: string; actor_role: string; request_id: string | null; causation_id: string | null; event_ids: string };

/** A service's audit trail for one visit, read from its own database (its SQLite file, or its PostgreSQL schema). */
async function auditOf(service: string, receptionId: number): Promise<AuditRow[]> {
  const query = 'select command, aggregate_id, reception_id, actor_subject, actor_role, request_id, causation_id, event_ids from audit_log where reception_id = $1 order by id';
  if (running.database) {
    const client = new pg.Client({ connectionString: running.database.url });
    await client.connect();
    try {
      const { rows } = await client.query(query.replace('audit_log', `"${service.replaceAll('-', '_')}".audit_log`), [receptionId]);
      return rows as AuditRow[];
    } finally {
      await client.end();
    }
  }
  const db = new DatabaseSync(path.join(running.dataDir, `${service}.sqlite`), { readOnly: true });
  try {
    return db.prepare(query.replace('$1', '?')).all(receptionId) as unknown as AuditRow[];
  } finally {
    db.close();
  }
}

async function timelineOf(client: Client, receptionId: number): Promise<Timeline> {
  return ok(await client.get<Timeline>(`/patientManagements/${receptionId}/timeline`), 200, `timeline of visit ${receptionId}`);
}

/** Steps in time order, each with its fields and an actor. */
function assertWellFormed(timeline: Timeline, receptionId: number): void {
  assert.equal(timeline.receptionId, receptionId);
  for (const step of timeline.steps) {
    assertTimestamp(step.at, `${step.event}.at`);
    assert.match(step.eventId, /^[0-9a-f-]{36}$/, `${step.event}.eventId`);
    assert.ok(step.description.length > 0, `${step.event} has a description`);
    assert.ok(step.stage.length > 0, `${step.event} has a stage`);
    assert.ok(step.actor, `${step.event} has an actor: ${JSON.stringify(step)}`);
    assert.ok(typeof step.actor.subject === 'string' && step.actor.subject.length > 0, `${step.event}.actor.subject`);
    assert.ok(typeof step.actor.role === 'string' && step.actor.role.length > 0, `${step.event}.actor.role`);
  }
  const times = timeline.steps.map((s) => Date.parse(s.at));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'steps in time order');
  assert.equal(new Set(timeline.steps.map((s) => s.eventId)).size, timeline.steps.length, 'each event once');
}

/** The development identity provider's demo users, as a verified token names them. */
const DEMO_USERS: Record<string, Actor> = {
  receptionist: { subject: 'dev:receptionist', name: 'Demo Receptionist', role: 'receptionist' },
  doctor: { subject: 'dev:doctor', name: 'Demo Doctor', role: 'doctor' },
  examiner: { subject: 'dev:examiner', name: 'Demo Examiner', role: 'examiner' },
};

/** Who the step was done by: `system:<service>` for a service's own reaction, else the person's role. */
function doneBy(step: Step): string {
  return step.actor?.role === 'system' ? `system:${step.service}` : String(step.actor?.role);
}

/**
 * Asserts who did each step: `system:<service>` for a service's own reaction, the role of the
 * person for a command, who is then exactly that role's demo user (subject, name and role).
 */
/**
 * The steps and who did them, in order; `concurrentTail` steps at the end happen side by side (two
 * services reacting to one event: the rejection's compensation and the desk's confirmation), so
 * their order is not part of the expectation.
 */
function assertActors(timeline: Timeline, expected: Array<[event: string, by: string]>, concurrentTail = 0): void {
  const inOrder = (steps: Array<[string, string]>) => [...steps.slice(0, steps.length - concurrentTail), ...steps.slice(steps.length - concurrentTail).sort()];
  const seen = inOrder(timeline.steps.map((s): [string, string] => [s.event, doneBy(s)]));
  assert.deepEqual(seen, inOrder(expected), `the steps and who did them:\n${timeline.steps.map((s) => `  ${s.at} ${s.event} by ${JSON.stringify(s.actor)}: ${s.description}`).join('\n')}`);
  for (const step of timeline.steps) {
    if (step.actor?.role === 'system') assert.equal(step.actor.subject, `service:${step.service}`, `${step.event} is attributed to the service that did it`);
    else assert.deepEqual(step.actor, DEMO_USERS[step.actor?.role ?? ''], `${step.event} names the person who sent the command`);
  }
}

describeEachProfile((profile) => {
  useTestSystem('timeline', profile, (system) => {
    running = system;
  });

  test('a full visit: every step in order, commands by the receptionist, doctor and examiner who sent them, reactions by the system', async () => {
    const { client } = running;
    const visit = await driveVisit(client, { label: 'timeline-full', examinations: ['perform', 'cancel'], outcome: 'complete' });
    await waitForQuiescence(running);

    const timeline = await timelineOf(client, visit.receptionId);
    assertWellFormed(timeline, visit.receptionId);
    // The examination service may order the first examination before the doctor prescribes the
    // second: those steps are in the order they happened, which the test does not fix.
    const [first, second, ...rest] = timeline.steps.slice(2, 6).map((s) => s.event);
    const prescribedAndOrdered = [first, second, ...rest].toSorted();
    assert.deepEqual(prescribedAndOrdered, ['ExaminationPrescribed', 'ExaminationPrescribed', 'ExaminationRequested', 'ExaminationRequested']);
    assert.equal(first, 'ExaminationPrescribed', 'the first order follows the first prescription');
    const inOrder = timeline.steps.map((s) => [s.event, doneBy(s)] as [string, string]);
    assertActors(timeline, [
      ['ReceptionCompleted', 'receptionist'],
      ['DiagnosisRegistered', 'system:diagnosis'],
      ...inOrder.slice(2, 6),
      ['ExaminationPerformed', 'examiner'],
      ['ExaminationCancelled', 'examiner'],
      ['DiagnosisCompleted', 'doctor'],
      ['ReceptionConfirmed', 'receptionist'],
    ]);
    for (const [event, by] of inOrder.slice(2, 6)) {
      assert.equal(by, event === 'ExaminationPrescribed' ? 'doctor' : 'system:examination', `${event} by ${by}`);
    }
    const people = new Set(timeline.steps.filter((s) => s.actor?.role !== 'system').map((s) => s.actor?.name));
    assert.deepEqual([...people].toSorted(), ['Demo Doctor', 'Demo Examiner', 'Demo Receptionist'], 'the timeline names the receptionist, the doctor and the examiner');
    const services = timeline.steps.map((s) => s.service);
    assert.deepEqual(services, ['reception', 'diagnosis', ...timeline.steps.slice(2, 6).map((s) => (s.event === 'ExaminationPrescribed' ? 'diagnosis' : 'examination')), 'examination', 'examination', 'diagnosis', 'reception']);
    assert.equal(timeline.steps.at(-1)!.stage, 'CONFIRMED');
    assert.equal(timeline.steps.at(-1)!.stage, (await getVisit(client, visit.receptionId)).stage, "the last step's stage is the visit's");
    // The audit trail of each service: a row per command, the request id of a person's command,
    // the causing event of a reaction, and the ids of the events it emitted (the timeline's).
    const reception = await auditOf('reception', visit.receptionId);
    assert.deepEqual(reception.map((r) => [r.command, r.actor_role, r.actor_subject]), [
      ['reception.register', 'receptionist', 'dev:receptionist'],
      ['reception.recordDiagnosisCompleted', 'system', 'service:reception'],
      ['reception.confirm', 'receptionist', 'dev:receptionist'],
    ]);
    const examination = await auditOf('examination', visit.receptionId);
    assert.deepEqual(examination.map((r) => r.command).toSorted(), ['examination.cancel', 'examination.perform', 'examination.request', 'examination.request']);
    const diagnosis = await auditOf('diagnosis', visit.receptionId);
    assert.ok(diagnosis.some((r) => r.command === 'diagnosis.complete' && r.aggregate_id === String(visit.diagnosisId) && r.actor_subject === 'dev:doctor'), JSON.stringify(diagnosis));
    for (const row of examination) {
      const expected = row.command === 'examination.request' ? 'system' : 'examiner';
      assert.equal(row.actor_role, expected, `${row.command} by the ${expected}: ${JSON.stringify(row)}`);
    }
    const stepById = new Map(timeline.steps.map((s) => [s.eventId, s]));
    for (const row of [...reception, ...diagnosis, ...examination]) {
      if (row.actor_role === 'system') {
        assert.ok(row.causation_id && row.request_id === null, `${row.command}: a reaction names its causing event: ${JSON.stringify(row)}`);
        assert.match(row.actor_subject, /^service:/);
      } else {
        assert.ok(row.request_id && row.causation_id === null, `${row.command}: a command names its request: ${JSON.stringify(row)}`);
      }
      for (const eventId of JSON.parse(row.event_ids) as string[]) {
        const step = stepById.get(eventId);
        assert.ok(step, `${row.command}: its event ${eventId} is a step of the timeline`);
        assert.equal(step.actor?.subject, row.actor_subject, `${row.command}: the step's actor is the audited one`);
      }
    }
    // No clinical content in the descriptions: the result and the opinion stay with their services.
    assert.ok(!JSON.stringify(timeline).includes('result of') && !JSON.stringify(timeline).includes('opinion on'), JSON.stringify(timeline));
  });

  test('compensation and cancellation are attributed to the service that did them', async () => {
    const { client } = running;
    const rejected = await driveVisit(client, { label: 'timeline-rejected', examinations: ['leave'], outcome: 'reject' });
    const cancelled = await registerVisit(client);
    await waitForDiagnosis(client, cancelled.id);
    await cancelReception(client, cancelled.id, 'patient left');
    await waitForQuiescence(running);

    const rejectedTimeline = await timelineOf(client, rejected.receptionId);
    assertWellFormed(rejectedTimeline, rejected.receptionId);
    assertActors(rejectedTimeline, [
      ['ReceptionCompleted', 'receptionist'],
      ['DiagnosisRegistered', 'system:diagnosis'],
      ['ExaminationPrescribed', 'doctor'],
      ['ExaminationRequested', 'system:examination'],
      ['DiagnosisRejected', 'doctor'],
      // The examination still pending, cancelled by the rejection: the examination service did it,
      // while the desk confirmed the outcome (both follow the rejection, in either order).
      ['ExaminationCancelled', 'system:examination'],
      ['ReceptionConfirmed', 'receptionist'],
    ], 2);

    const cancelledTimeline = await timelineOf(client, cancelled.id);
    assertWellFormed(cancelledTimeline, cancelled.id);
    assertActors(cancelledTimeline, [
      ['ReceptionCompleted', 'receptionist'],
      ['DiagnosisRegistered', 'system:diagnosis'],
      ['ReceptionCancelled', 'receptionist'],
      ['DiagnosisCancelled', 'system:diagnosis'],
    ]);
    assert.equal(cancelledTimeline.steps.at(-1)!.stage, 'CANCELLED');
  });

  test('an unknown visit is a 404 and a bad id a 400, as problem+json', async () => {
    const { client } = running;
    assertProblem(await client.get('/patientManagements/999999/timeline'), 404);
    assertProblem(await client.get('/patientManagements/abc/timeline'), 400, { fields: ['receptionId'] });
  });

  test('npm run rebuild rebuilds the timelines equal to the live ones', async () => {
    const { client } = running;
    const visits = ok(await client.get<{ items: Array<{ receptionId: number }> }>('/patientManagements?size=100')).items.map((v) => v.receptionId);
    assert.ok(visits.length >= 3, 'the visits of the tests above');
    const live = await Promise.all(visits.map((id) => timelineOf(client, id)));

    await running.system.stop('patient-management');
    const { stdout } = await run(process.execPath, ['services/patient-management/src/rebuild.ts'], { env: { ...process.env, ...running.env } });
    assert.match(stdout, new RegExp(`rebuilt ${visits.length} visits from the event log`));
    await running.system.restart('patient-management');
    await waitForQuiescence(running);

    assert.deepEqual(await Promise.all(visits.map((id) => timelineOf(client, id))), live);
  });
});
