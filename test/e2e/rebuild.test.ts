import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { test } from 'node:test';
import pino from 'pino';
import { eventConsumers } from '@medical/contracts';
import { loadConfig, openTransport } from '@medical/platform';
import {
  cancelReception,
  complete,
  confirm,
  describeEachProfile,
  eventually,
  ok,
  perform,
  prescribe,
  rawPages,
  registerVisit,
  reject,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForReception,
  waitForVisit,
  type TestSystem,
} from './helpers.ts';

/**
 * CQRS: the patient-management view is built only from events, so it can be rebuilt from the
 * start of the log; `npm run rebuild` builds the new view beside the live one and switches when
 * it has caught up (issue 19): the view answers all the while, with patient-management running,
 * the rebuilt view equals the one that was live, visits registered during the rebuild are in it,
 * and an event the live view dead-lettered stays a dead letter.
 */
const run = promisify(execFile);
let running: TestSystem;

/** An event no consumer can apply (a ReceptionCompleted without a patient name): each of its consumers dead-letters it. */
async function publishPoison(receptionId: number): Promise<void> {
  const id = randomUUID();
  const config = loadConfig('e2e-poison', 0, { ...running.env, LOG_LEVEL: 'silent' });
  const transport = await openTransport(config, pino({ level: 'silent' }));
  try {
    await transport.publish([{
      topic: config.topic,
      key: String(receptionId),
      headers: { ce_specversion: '1.0', ce_id: id, ce_type: 'ReceptionCompleted', ce_source: '/reception', ce_time: new Date().toISOString(), ce_subject: String(receptionId), 'content-type': 'application/json' },
      value: JSON.stringify({ receptionId, patientId: 'P-POISON', receivedAt: new Date().toISOString() }),
    }]);
  } finally {
    await transport.close();
  }
}

describeEachProfile((profile) => {
  useTestSystem('rebuild', profile, (system) => {
    running = system;
  });

  test('npm run rebuild builds the view beside the live one and switches: no gap, equal to the live view, dead letters kept', async () => {
    const { client } = running;
    // Visits in every kind of end state: confirmed, rejected with compensation, cancelled, still open.
    const done = await registerVisit(client);
    const doneDiagnosis = await waitForDiagnosis(client, done.id);
    const { prescription } = await prescribe(client, doneDiagnosis.id, 'CHEST_XRAY');
    await perform(client, (await waitForExamination(client, doneDiagnosis.id, prescription.prescriptionId)).id, 'clear');
    await waitForDiagnosis(client, done.id, (d) => d.status === 'EXAMINATION_DONE');
    await complete(client, doneDiagnosis.id, 'healthy');
    await waitForReception(client, done.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    await confirm(client, done.id);

    const rejected = await registerVisit(client);
    const rejectedDiagnosis = await waitForDiagnosis(client, rejected.id);
    const { prescription: pending } = await prescribe(client, rejectedDiagnosis.id, 'CBC');
    await waitForExamination(client, rejectedDiagnosis.id, pending.prescriptionId);
    await reject(client, rejectedDiagnosis.id, 'referred to another hospital');

    const cancelled = await registerVisit(client);
    await waitForDiagnosis(client, cancelled.id);
    await cancelReception(client, cancelled.id, 'patient left');

    await registerVisit(client);
    await publishPoison(990_001);
    await eventually(async () =>
      assert.deepEqual(
        (await running.events.deadLetters()).map((l) => `${l.type} ${l.group}`).sort(),
        eventConsumers.ReceptionCompleted.map((group) => `ReceptionCompleted ${group}`).sort(),
        'every consumer of ReceptionCompleted (diagnosis, patient-management, interop) dead-letters the poison',
      ),
    );
    await waitForQuiescence(running);
    const live = await rawPages(client, '/patientManagements');
    const lettersBefore = (await running.events.deadLetters()).length;

    // patient-management keeps running; the view is read all through the rebuild.
    let reading = true;
    const totals: number[] = [];
    const reader = (async () => {
      while (reading) {
        totals.push(ok(await client.as('admin').get<{ total: number }>('/patientManagements?size=1')).total);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // `npm run rebuild`, as the README says.
    const rebuild = run('npm', ['run', 'rebuild'], { env: { ...process.env, ...running.env } });
    // A visit registered while the rebuild runs is in the view it switches to.
    const during = await registerVisit(client);
    const { stdout, stderr } = await rebuild;
    reading = false;
    await reader;
    assert.match(stdout, /rebuilt [45] visits from the event log in \d+ ms, and switched to them/);
    assert.match(stderr, /"step":"replaying the event log into the new view"/, 'progress as JSON lines when not on a terminal');
    assert.match(stderr, /"deadLettersKept":1\b/, 'the live view\'s dead letter is carried over');
    assert.ok(totals.length > 0 && totals.every((total) => total >= 4), `the view answered all the while, never empty (totals seen: ${[...new Set(totals)].join(', ')})`);

    await waitForVisit(client, during.id, () => true);
    await waitForQuiescence(running);
    const rebuilt = await rawPages(client, '/patientManagements');
    assert.deepEqual(JSON.parse(rebuilt[0]!).total, 5);
    const withoutDuring = (pages: string[]) => pages.flatMap((page) => (JSON.parse(page) as { items: Array<{ receptionId: number }> }).items).filter((v) => v.receptionId !== during.id);
    assert.deepEqual(withoutDuring(rebuilt), withoutDuring(live), 'the rebuilt view equals the live one');
    assert.equal((await running.events.deadLetters()).length, lettersBefore, 'nothing dead-lettered again');
  });
});
