import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import {
  cancelReception,
  complete,
  confirm,
  describeEachProfile,
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
  type TestSystem,
} from './helpers.ts';

/**
 * CQRS: the patient-management view is built only from events, so it can be thrown away and
 * rebuilt from the start of the log, and the rebuilt view equals the one that was live.
 */
const run = promisify(execFile);
let running: TestSystem;

describeEachProfile((profile) => {
  useTestSystem('rebuild', profile, (system) => {
    running = system;
  });

  test('npm run rebuild replays the log into a view equal to the live one', async () => {
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
    const { prescription: pending } = await prescribe(client, rejectedDiagnosis.id, 'BLOOD');
    await waitForExamination(client, rejectedDiagnosis.id, pending.prescriptionId);
    await reject(client, rejectedDiagnosis.id, 'referred to another hospital');

    const cancelled = await registerVisit(client);
    await waitForDiagnosis(client, cancelled.id);
    await cancelReception(client, cancelled.id, 'patient left');

    await registerVisit(client);
    await waitForQuiescence(running);
    const live = await rawPages(client, '/patientManagements');

    await running.system.stop('patient-management');
    const { stdout } = await run(process.execPath, ['services/patient-management/src/rebuild.ts'], {
      env: { ...process.env, ...running.env },
    });
    assert.match(stdout, /rebuilt 4 visits from the event log/);
    await running.system.restart('patient-management');
    await waitForQuiescence(running);

    assert.deepEqual(await rawPages(client, '/patientManagements'), live);
  });

  test('the rebuild refuses to run while patient-management is consuming', async () => {
    await assert.rejects(
      run(process.execPath, ['services/patient-management/src/rebuild.ts'], { env: { ...process.env, ...running.env } }),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', /stop it before rebuilding/);
        return true;
      },
    );
  });
});
