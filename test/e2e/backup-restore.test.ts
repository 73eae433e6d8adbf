import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { serialOfPatientNumber } from '@medical/contracts';
import { freePort, SERVICE_NAMES, BACKEND_SERVICES } from '../../scripts/lib/processes.ts';
import { readEventRecords, recordsByKey } from './support/event-records.ts';
import { driveVisit, endStateProblems, planFor, readSystemState, type DrivenVisit } from './support/visits.ts';
import {
  authHeaders,
  describeProduction,
  getDiagnosis,
  prescribe,
  registerVisit,
  startTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  waitForVisit,
  type TestSystem,
} from './helpers.ts';

/**
 * Issue 19's backup and point-in-time restore, for real: a PostgreSQL cluster of this test's own,
 * set up by `infra/postgres/up.sh` exactly as `npm run infra:up` sets up the shared one (WAL
 * archiving on), beside the shared Kafka broker. Visits are driven, `npm run backup` runs, more
 * visits, the time is noted, more visits (and an attachment, and a visit half-way), then the
 * services stop and `npm run restore -- --to <that time>` runs. Started again, the system holds
 * exactly the visits before that time, the same in every service and in the read model; the
 * events of the lost interval that are still in Kafka are dead letters of each consumer, for a
 * person to decide; and new visits get fresh ids past every id ever handed out.
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const infraDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-backup-infra-'));
// The server's OS user (postgres, when the tests run as root) makes its folders in there.
fs.chmodSync(infraDir, 0o755);
let infraEnv: Record<string, string>;
let running: TestSystem | undefined;

function runScript(command: string, args: string[], env: Record<string, string | undefined>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const stopCluster = () => spawnSync('bash', [path.join(root, 'infra', 'postgres', 'down.sh')], { env: { ...process.env, ...infraEnv }, stdio: 'ignore', timeout: 60_000 });

/** `npm run <script> [-- args]` exactly as the README says, with the system's settings and the test cluster's. */
async function npmRun(script: string, args: string[] = []): Promise<{ stdout: string; stderr: string }> {
  const env = { ...process.env, ...running!.env, ...infraEnv };
  const result = await runScript('npm', ['run', script, ...(args.length > 0 ? ['--', ...args] : [])], env);
  assert.equal(result.code, 0, `npm run ${script} ${args.join(' ')} exited ${result.code}:\n${result.stderr.slice(-4000)}\n${result.stdout.slice(-2000)}`);
  return result;
}

async function upload(examinationId: number, label: string): Promise<{ name: string; sha256: string }> {
  const form = new FormData();
  const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(`report ${label} ${Math.random()}`)]);
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'application/pdf' }), `${label}.pdf`);
  const pathname = `/examinations/${examinationId}/attachments`;
  const response = await fetch(`${running!.system.gatewayUrl}${pathname}`, { method: 'POST', body: form, headers: await authHeaders('POST', pathname), signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  assert.equal(response.status, 201, `upload ${label}: ${text}`);
  return JSON.parse(text) as { name: string; sha256: string };
}

describeProduction('backup and point-in-time restore (npm run backup, npm run restore)', () => {
  before(async () => {
    const port = await freePort();
    infraEnv = { INFRA_STATE_DIR: infraDir, INFRA_PG_CLUSTER: 'own', INFRA_PG_PORT: String(port) };
    process.on('exit', stopCluster);
    const up = await runScript('bash', [path.join(root, 'infra', 'postgres', 'up.sh')], { ...process.env, ...infraEnv });
    assert.equal(up.code, 0, `infra/postgres/up.sh: ${up.stderr.slice(-3000)}`);
    // The system's database is made on this cluster (startTestSystem uses this process's DATABASE_URL).
    process.env.DATABASE_URL = `postgres://medical:medical@127.0.0.1:${port}/medical`;
    running = await startTestSystem('backup', { profile: 'production' });
  });

  after(async () => {
    try {
      await running?.stop();
    } finally {
      stopCluster();
      fs.rmSync(infraDir, { recursive: true, force: true });
    }
  });

  test('restored to a noted time: exactly the visits before it, in every service and the read model; the lost events set aside; fresh ids', async () => {
    const { client } = running!;
    const driveAll = async (from: number, count: number, prefix: string) => {
      const visits: DrivenVisit[] = [];
      for (let i = from; i < from + count; i++) visits.push(await driveVisit(client, planFor(i, prefix)));
      return visits;
    };

    // Before the backup: two visits, and an attachment on one of their examinations.
    const beforeBackup = await driveAll(0, 2, 'before-backup');
    const kept = await upload(beforeBackup[0]!.prescriptions[0]!.examinationId, 'before-backup');
    await waitForQuiescence(running!);
    const backup = await npmRun('backup');
    assert.match(backup.stderr, /"step":"base backup of PostgreSQL"/, 'the backup reports its steps as JSON lines when not on a terminal');
    assert.match(backup.stderr, /"summary":/, 'and ends with a summary');

    // After the backup, before the noted time: more visits and an attachment; these come back
    // from the WAL archive, not from the base backup.
    const afterBackup = await driveAll(2, 2, 'after-backup');
    const replayed = await upload(afterBackup[0]!.prescriptions[0]!.examinationId, 'after-backup');
    const halfWay = await registerVisit(client, { patientName: 'Half Way' });
    const halfWayDiagnosis = await waitForDiagnosis(client, halfWay.id, () => true);
    await waitForQuiescence(running!);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const noted = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 200));

    // The lost interval: whole visits, the half-way visit taken further, and an attachment.
    const lost = await driveAll(4, 2, 'lost');
    const { prescription: lostPrescription } = await prescribe(client, halfWayDiagnosis.id, 'CMP');
    const lostExamination = await waitForExamination(client, halfWayDiagnosis.id, lostPrescription.prescriptionId, () => true);
    const lostAttachment = await upload(beforeBackup[0]!.prescriptions[0]!.examinationId, 'lost');
    await waitForQuiescence(running!);

    // Stop every service; restore to the noted time.
    for (const name of SERVICE_NAMES) await running!.system.stop(name);
    const restore = await npmRun('restore', ['--to', noted]);
    const summary = restore.stderr.split('\n').filter((line) => line.includes('"summary"')).map((line) => JSON.parse(line).summary)[0];
    assert.ok(summary, `the restore ends with a summary:\n${restore.stderr.slice(-3000)}`);
    process.stderr.write(`# restore: ${summary.eventsRead} events read, ${summary.eventsAppliedAgain} applied again, ${summary.eventsLost} lost, ${summary.setAside.length} set aside; next ids ${summary.idSequences.map((s: { sequence: string; nextId: number }) => `${s.sequence} ${s.nextId}`).join(', ')}\n`);

    // The reconciliation alone (what the Job of deploy/k8s/restore runs after CloudNativePG's
    // recovery), once more: every lost event is set aside already, so nothing twice; the ids move
    // on to yet another block.
    const again = await npmRun('restore', ['--reconcile-only', '--to', noted]);
    const second = again.stderr.split('\n').filter((line) => line.includes('"summary"')).map((line) => JSON.parse(line).summary)[0];
    assert.deepEqual(second.setAside, [], 'a second reconciliation sets nothing aside twice');
    assert.equal(second.eventsLost, summary.eventsLost);
    for (const sequence of second.idSequences) assert.ok(sequence.nextId > summary.idSequences.find((s: { sequence: string }) => s.sequence === sequence.sequence).nextId);

    // Start again, the backends first (as the system does), then the gateway.
    for (const name of BACKEND_SERVICES) await running!.system.restart(name);
    await running!.system.restart('gateway');
    await waitForQuiescence(running!);

    // Exactly the visits driven before the noted time, each in the end state its plan implies,
    // the read model equal to the services' own state.
    const drivenBefore = [...beforeBackup, ...afterBackup];
    const state = await readSystemState(client);
    const byId = (a: number, b: number) => a - b;
    assert.deepEqual(state.receptions.map((r) => r.id).sort(byId), [...drivenBefore.map((v) => v.receptionId), halfWay.id].sort(byId), 'the receptions are those registered before the noted time');
    const records = (await readEventRecords(running!.env)).filter((r) => drivenBefore.some((v) => String(v.receptionId) === r.key));
    assert.deepEqual(endStateProblems(state, drivenBefore, recordsByKey(records), new Set([halfWay.id])), []);
    // The half-way visit as it stood: registered and diagnosed, its prescription of the lost interval gone everywhere.
    const halfWayDiagnosisNow = state.diagnoses.find((d) => d.receptionId === halfWay.id);
    assert.equal(halfWayDiagnosisNow?.status, 'REGISTERED');
    assert.deepEqual(halfWayDiagnosisNow?.prescriptions, []);
    assert.equal(state.examinations.some((e) => e.id === lostExamination.id || e.receptionId === halfWay.id), false, 'no examination of the lost prescription');
    const halfWayView = state.visits.find((v) => v.receptionId === halfWay.id);
    assert.equal(halfWayView?.receptionStatus, 'RECEIVED');
    assert.equal(halfWayView?.diagnosisStatus, 'REGISTERED');
    assert.deepEqual(halfWayView?.examinations, []);
    for (const visit of lost) assert.equal(state.visits.some((v) => v.receptionId === visit.receptionId), false, `visit ${visit.receptionId} of the lost interval is not in the read model`);

    // The events of the lost interval: each a dead letter of every consumer that handles it, none applied.
    const letters = await running!.events.deadLetters();
    assert.ok(letters.length > 0, 'the lost events are set aside as dead letters');
    for (const letter of letters) assert.match(String(letter.reason), /^restore to /, `dead letter ${JSON.stringify(letter)}`);
    assert.equal(summary.setAside.length, letters.length, 'each dead letter the restore wrote is on the dead-letter topic');
    assert.ok(summary.eventsLost >= lost.length * 6, `the events of the ${lost.length} lost visits are lost (${summary.eventsLost})`);

    // Attachments: those of before the noted time are served byte for byte; the lost one is left unnamed.
    for (const [examinationId, attachment] of [[beforeBackup[0]!.prescriptions[0]!.examinationId, kept], [afterBackup[0]!.prescriptions[0]!.examinationId, replayed]] as const) {
      const pathname = `/examinations/${examinationId}/attachments/${attachment.name}`;
      const response = await fetch(`${running!.system.gatewayUrl}${pathname}`, { headers: await authHeaders('GET', pathname) });
      assert.equal(response.status, 200, pathname);
    }
    assert.deepEqual(summary.attachments.missing, []);
    assert.ok(summary.attachments.unnamed.some((file: string) => file.endsWith(lostAttachment.name)), 'the lost interval\'s file is reported');

    // New visits: fresh ids, past every id ever handed out, and the saga goes on.
    const highestReception = Math.max(...[...drivenBefore, ...lost].map((v) => v.receptionId), halfWay.id);
    const fresh = await driveVisit(client, planFor(8, 'after-restore'));
    assert.ok(fresh.receptionId > highestReception + 1000, `a new reception id (${fresh.receptionId}) is far past the highest handed out (${highestReception})`);
    assert.ok(fresh.diagnosisId > Math.max(...[...drivenBefore, ...lost].map((v) => v.diagnosisId)) + 1000, 'so is a new diagnosis id');
    // And a new patient number: those of the patients registered in the lost interval may be on paper.
    const highestPatient = Math.max(...[...drivenBefore, ...lost].map((v) => serialOfPatientNumber(v.patientId) ?? 0));
    assert.ok(serialOfPatientNumber(fresh.patientId)! > highestPatient + 1000, `a new patient number (${fresh.patientId}) is far past the highest handed out`);
    const diagnosis = await getDiagnosis(client, fresh.diagnosisId);
    assert.equal(diagnosis.status, 'COMPLETED');
    await waitForVisit(client, fresh.receptionId, (v) => v.receptionStatus === 'CONFIRMED');

    // npm run purge: what the retention table allows. A backup planted as two years old goes, with
    // the archived WAL only it needed; the newest backup always stays.
    const backups = path.join(infraDir, 'backups');
    const planted = path.join(backups, 'base', '20241201T000000Z');
    fs.mkdirSync(planted, { recursive: true });
    const old = { id: '20241201T000000Z', startedAt: '2024-12-01T00:00:00.000Z', finishedAt: '2024-12-01T00:01:00.000Z', database: { kB: 1, timeline: 1, startLsn: '0/1000028', endLsn: '0/1000100' }, attachments: { files: 0, newInStore: 0, bytes: 0 } };
    fs.writeFileSync(path.join(planted, 'backup.json'), JSON.stringify(old));
    const oldSegment = path.join(backups, 'wal', '000000010000000000000000');
    fs.writeFileSync(oldSegment, '');
    const purge = await npmRun('purge');
    const purged = purge.stderr.split('\n').filter((line) => line.includes('"summary"')).map((line) => JSON.parse(line).summary)[0];
    const count = (what: RegExp) => purged.removed.find((r: { what: string }) => what.test(r.what))?.count;
    assert.equal(count(/^base backups older than 30 days/), 1, JSON.stringify(purged));
    assert.ok(count(/^archived WAL segments/) >= 1);
    assert.equal(fs.existsSync(planted), false, 'the expired backup is gone');
    assert.equal(fs.existsSync(oldSegment), false, 'and the WAL only it needed');
    assert.equal(fs.readdirSync(path.join(backups, 'base')).length, 1, 'the newest backup stays');
    for (const service of BACKEND_SERVICES) assert.ok(purged.removed.some((r: { what: string }) => r.what.startsWith(`${service}: purged expired inbox rows`)), service);
    assert.equal(count(/access log records older than 1825 days/), 0, 'nothing of the access log is that old');
  });
});
