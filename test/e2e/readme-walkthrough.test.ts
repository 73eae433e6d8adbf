import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_PORTS, isPortFree } from '../../scripts/lib/processes.ts';

/**
 * The README's *Run it* as a newcomer follows it: `npm start`, then the command-line visit, the
 * safe retry, the attachments, the waiting room and another system's FHIR requests, each command exactly as written, one after the other in one
 * shell (a pause between commands, as a person types them: the saga is eventually consistent),
 * then Ctrl-C. The commands name localhost:8088, so the system runs on its default ports.
 */

const repository = path.join(import.meta.dirname, '..', '..');

/** The ```sh blocks of the README from the one after `heading` on, `count` of them. */
function shellBlocks(after: string, count: number): string[] {
  const readme = fs.readFileSync(path.join(repository, 'README.md'), 'utf8');
  const from = readme.indexOf(after);
  assert.ok(from >= 0, `the README has "${after}"`);
  const blocks = [...readme.slice(from).matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  assert.ok(blocks.length >= count);
  return blocks.slice(0, count);
}

/** A block's commands: a line ending in a backslash continues on the next; blank lines separate nothing. */
function commandsOf(block: string): string[] {
  return block
    .split(/(?<!\\)\n/)
    .filter((line) => line.trim() !== '');
}

async function portsInUse(): Promise<number[]> {
  const ports = Object.values(DEFAULT_PORTS);
  const free = await Promise.all(ports.map((port) => isPortFree(port)));
  return ports.filter((_, i) => !free[i]);
}

const busy = await portsInUse();

test("the README's command-line visit, safe retry and attachments, exactly as written, against npm start", { timeout: 240_000, skip: busy.length > 0 ? `ports ${busy.join(', ')} are in use` : false }, async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-walkthrough-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: path.join(dataDir, 'data') };
  // The embedded profile, as a newcomer's machine has it.
  delete env.KAFKA_BROKERS;
  delete env.DATABASE_URL;
  const system = spawn('npm', ['start'], { cwd: repository, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  system.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  system.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(system, 'exit');
  t.after(() => {
    if (system.exitCode === null && system.signalCode === null) process.kill(-system.pid!, 'SIGKILL');
  });
  const deadline = Date.now() + 150_000;
  while (!/ready in [0-9.]+ s: http:\/\/127\.0\.0\.1:8088/.test(output)) {
    if (system.exitCode !== null) assert.fail(`npm start exited with ${system.exitCode}:\n${output}`);
    if (Date.now() > deadline) assert.fail(`npm start was not ready within 150 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }

  // The attachments' block uploads report.pdf from the current directory.
  const work = path.join(dataDir, 'work');
  fs.mkdirSync(work);
  fs.writeFileSync(path.join(work, 'report.pdf'), '%PDF-1.7\n% a report\n%%EOF\n');
  const commands = shellBlocks('A visit from the command line.', 4).flatMap(commandsOf);
  const script = ['set -e', ...commands.flatMap((command) => [command, 'echo', 'sleep 1'])].join('\n');
  const run = spawnSync('bash', ['-c', script], { cwd: work, encoding: 'utf8', timeout: 120_000 });
  const printed = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `the commands ran to their end:\n${printed}`);

  assert.match(printed, /"patientId":"00000018","name":"김민지"/, 'the patient registered, number 00000018');
  assert.match(printed, /"items":\[\{"patientId":"00000018"/, 'found again by ㄱㅁㅈ');
  assert.match(printed, /"id":1,"patientId":"00000018","patientName":"김민지"/, 'the visit registered for the patient');
  assert.match(printed, /"receptionStatus":"CONFIRMED"/, 'the whole visit, confirmed');
  assert.match(printed, /"event":"ReceptionConfirmed"/, 'and its timeline');
  const retried = printed.match(/HTTP\/1\.1 201[\s\S]*?"patientId":"00000018"/g) ?? [];
  assert.ok(retried.length >= 1, `the keyed registration answered 201:\n${printed}`);
  assert.match(printed, /HTTP\/1\.1 201 Created[\s\S]*location: \/examinations\/1\/attachments\//i, 'the report attached');
  assert.equal(fs.readFileSync(path.join(work, 'copy-of-report.pdf'), 'utf8'), '%PDF-1.7\n% a report\n%%EOF\n', 'and downloaded as it was');
  // The waiting room: the third visit of the day in internal medicine, called to room 3.
  assert.match(printed, /"id":3,[^\n]*"queueNumber":3/, 'the third visit, number 3 of the day');
  assert.match(printed, /"callCount":1,"room":"3"/, 'called to room 3');
  assert.match(printed, /"calling":\[\{"queueNumber":3,"maskedName":"김\*지"/, 'the call screen shows number 3, the name masked');
  assert.match(printed, /"queueNumber":3,"maskedName":"김\*지","status":"CALLED"[^\n]*"room":"3"/, 'the patient\'s ticket says which room');
  assert.match(printed, /"stages":\[[^\n]*"stage":"RECEPTION_TO_CALL"/, 'and the waiting times count the wait');

  // Other systems: a client's token, the CapabilityStatement, the FHIR searches and a subscription, as written.
  const fhirScript = ['set -e', ...shellBlocks('**Other systems: FHIR R4, HL7 v2.**', 1).flatMap(commandsOf).flatMap((command) => [command, 'echo'])].join('\n');
  const fhir = spawnSync('bash', ['-c', fhirScript], { cwd: work, encoding: 'utf8', timeout: 60_000 });
  const fhirPrinted = `${fhir.stdout}\n${fhir.stderr}`;
  assert.equal(fhir.status, 0, `the FHIR commands ran to their end:\n${fhirPrinted}`);
  assert.match(fhirPrinted, /^Patient Encounter ServiceRequest Task DiagnosticReport Observation Subscription$/m, 'what the CapabilityStatement announces');
  assert.match(fhirPrinted, /"resourceType":"Bundle","type":"searchset","total":1,[^\n]*"resource":\{"resourceType":"Encounter","id":"1"[^\n]*"status":"finished"[^\n]*"resource":\{"resourceType":"Patient","id":"00000018"/, 'the finished visit, its patient included');
  assert.match(fhirPrinted, /"resourceType":"DiagnosticReport","id":"1"[^\n]*"status":"final"/, 'its examination\'s report');
  assert.match(fhirPrinted, /"resourceType":"Subscription","id":"[0-9a-f-]{36}"[^\n]*"status":"active"/, 'the subscription, active');

  // Ctrl-C (SIGINT to the terminal's process group: npm and the script behind it) stops every service cleanly.
  process.kill(-system.pid!, 'SIGINT');
  const [code, signal] = await exited;
  assert.ok(code === 0 || signal === 'SIGINT', `npm start stopped (code ${code}, signal ${signal})`);
  // The services' logs share the terminal: the script's last word is its own line.
  assert.match(output, /^stopped\.$/m, `every service stopped cleanly:\n${output.slice(-2000)}`);
});
