import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { loadConfig, openTransport, type TransportMessage } from '@medical/platform';
import { deadLetterJson } from '@medical/platform/operations';
import pino from 'pino';
import { readEventRecords } from './support/event-records.ts';
import {
  complete,
  confirm,
  describeEachProfile,
  eventually,
  getReception,
  getVisit,
  ok,
  patience,
  perform,
  registerVisit,
  useTestSystem,
  visitWithPendingExamination,
  waitForDiagnosis,
  waitForQuiescence,
  waitForReception,
  waitForVisit,
  type Page,
  type Reception,
  type TestSystem,
} from './helpers.ts';

/**
 * Poison events (issue "Reliability"): an event that fails schema validation, one whose id holds
 * a NUL, and one whose handler throws. Each is retried with backoff up to the retry budget, then
 * dead-lettered with its reason by every service that gave up on it; the partition keeps
 * flowing; `medical_events_dead_lettered_total` counts the letters; and `npm run dead-letters`
 * lists them and replays one after its cause is fixed, which applies the event exactly once, in
 * the services that had given up on it only. An event of a type outside the contract (a newer
 * producer's) is no poison: it is skipped and counted, never dead-lettered.
 *
 * The poisons, and who gives up on each (a service skips the types it does not consume):
 * - invalid: a ReceptionCompleted without patientName. Consumed by diagnosis, patient-management
 *   and interop: all three dead-letter it ("invalid ReceptionCompleted data").
 * - NUL in the id: a DiagnosisCancelled whose ce_id ends in U+0000, which PostgreSQL cannot
 *   store as text. Consumed by patient-management and interop, which dead-letter it ("invalid
 *   CloudEvents envelope: /id"), recording it by its position in the log.
 * - unknown type: ReceptionTeleported. Only patient-management, which consumes every event,
 *   reads it, and skips it (medical_events_skipped_total{reason="unknown-type"}); the services
 *   that consume a list of types skip it as not theirs.
 * - throwing: a DiagnosisCompleted for a reception that does not exist yet. The reception service,
 *   patient-management and interop throw ("for unknown reception", "has not been received") on
 *   every attempt. It is the one replayed: a replay re-sends the same bytes, so its fix must be in the
 *   system's state, here the reception it refers to, registered afterwards (as when a lost
 *   record is restored). The invalid one could only be fixed by changing the contract.
 */

const RETRY_BUDGET = 2;
const root = path.join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const silent = pino({ level: 'silent' });

let running: TestSystem;

/** What `list --json` prints for one letter. */
type ListedLetter = ReturnType<typeof deadLetterJson>;

/** Runs the command with the environment the services got. */
/** `npm run dead-letters -- <args>`, exactly as the README says; npm's banners (the Node preflight's and the script's) left out of stdout. */
async function deadLetters(...args: string[]) {
  const result = await run('npm', ['run', 'dead-letters', '--', ...args], { cwd: root, env: { ...process.env, ...running.env }, timeout: patience(60_000) });
  return { ...result, stdout: result.stdout.replace(/^(\n|> .*\n)+/, '') };
}

async function listed(): Promise<ListedLetter[]> {
  const { stdout } = await deadLetters('list', '--json');
  return JSON.parse(stdout) as ListedLetter[];
}

/** The total of a Prometheus counter on one service, over the label sets that have `labels`. */
async function counter(service: keyof TestSystem['system']['services'], name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${running.system.services[service].url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!wanted.every((w) => line.includes(w))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** A message as a foreign or broken producer would put it on the event topic. */
function poison(type: string, data: unknown, key: number, source: string): TransportMessage & { headers: { ce_id: string } } {
  const id = randomUUID();
  return {
    id,
    topic: loadConfig('e2e-poison', 0, { ...running.env, LOG_LEVEL: 'silent' }).topic,
    key: String(key),
    headers: {
      ce_specversion: '1.0',
      ce_id: id,
      ce_type: type,
      ce_source: source,
      ce_time: new Date().toISOString(),
      ce_subject: String(key),
      'content-type': 'application/json',
    },
    value: JSON.stringify(data),
  };
}

async function publish(messages: TransportMessage[]): Promise<void> {
  const transport = await openTransport(loadConfig('e2e-poison', 0, { ...running.env, LOG_LEVEL: 'silent' }), silent);
  try {
    await transport.publish(messages);
  } finally {
    await transport.close();
  }
}

describeEachProfile((profile) => {
  useTestSystem(
    'dead-letters',
    profile,
    (system) => {
      running = system;
    },
    { env: { EVENT_RETRY_BUDGET: String(RETRY_BUDGET), EVENT_RETRY_BASE_DELAY_MS: '5' } },
  );

  // The visit driven after the poisons (A) and the reception the throwing poison refers to (B),
  // registered as the fix. A fresh system numbers its receptions from 1.
  let visitId: number;
  let missingId: number;
  let invalid: ReturnType<typeof poison>;
  let nulId: ReturnType<typeof poison>;
  let unknownType: ReturnType<typeof poison>;
  let throwing: ReturnType<typeof poison>;
  const OPINION = 'outcome recorded before its reception existed';

  test('poison events are retried, dead-lettered with their reason, and the partition keeps flowing', async () => {
    const { client } = running;
    const { total } = ok(await running.client.get<Page<Reception>>('/receptions?size=1'));
    visitId = total + 1;
    missingId = total + 2;

    // The first three share the key, hence the partition, of the visit driven after them.
    invalid = poison('ReceptionCompleted', { receptionId: visitId, patientId: 'P-POISON', receivedAt: new Date().toISOString() }, visitId, '/reception');
    nulId = poison('DiagnosisCancelled', { diagnosisId: 9998, receptionId: visitId, reason: 'an id PostgreSQL cannot store' }, visitId, '/diagnosis');
    nulId.headers.ce_id = `${nulId.headers.ce_id}\u0000`;
    unknownType = poison('ReceptionTeleported', { receptionId: visitId, to: 'the moon' }, visitId, '/reception');
    throwing = poison('DiagnosisCompleted', { diagnosisId: 9999, receptionId: missingId, opinion: OPINION }, missingId, '/diagnosis');
    await publish([invalid, nulId, unknownType, throwing]);

    // A normal visit after them completes: nothing waits behind a poison for longer than its budget.
    const { reception, diagnosis, examination } = await visitWithPendingExamination(client, 'CHEST_XRAY', { patientName: 'After the poison' });
    assert.equal(reception.id, visitId, 'a fresh system numbers receptions from 1');
    await perform(client, examination.id, 'clear');
    await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE');
    await complete(client, diagnosis.id, 'healthy');
    await waitForReception(client, reception.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    await confirm(client, reception.id);
    await waitForVisit(client, reception.id, (v) => v.receptionStatus === 'CONFIRMED' && v.diagnosisStatus === 'COMPLETED');
    await waitForQuiescence(running);

    const letters = await eventually(
      async () => {
        const found = await running.events.deadLetters();
        assert.equal(found.length, 8, `eight dead letters: ${JSON.stringify(found)}`);
        return found;
      },
      { intervalMs: running.profile === 'production' ? 1_000 : 50, message: 'the dead letters on the dead-letter topic' },
    );
    const byTypeAndGroup = (type: string, group: string) => letters.filter((l) => l.type === type && l.group === group);
    for (const group of ['diagnosis', 'patient-management', 'interop']) {
      const [letter, ...more] = byTypeAndGroup('ReceptionCompleted', group);
      assert.deepEqual(more, []);
      assert.match(letter?.reason ?? '', /invalid ReceptionCompleted data/, `${group}'s reason`);
      assert.match(letter?.reason ?? '', /patientName/, `${group}'s reason names the field`);
    }
    for (const group of ['patient-management', 'interop']) {
      assert.match(byTypeAndGroup('DiagnosisCancelled', group)[0]?.reason ?? '', /invalid CloudEvents envelope: \/id/, `${group}'s reason`);
    }
    assert.deepEqual(byTypeAndGroup('ReceptionTeleported', 'patient-management'), [], 'an unknown type is skipped, not dead-lettered');
    assert.match(byTypeAndGroup('DiagnosisCompleted', 'reception')[0]?.reason ?? '', new RegExp(`DiagnosisCompleted for unknown reception ${missingId}`));
    assert.match(byTypeAndGroup('DiagnosisCompleted', 'patient-management')[0]?.reason ?? '', new RegExp(`visit ${missingId} that has not been received`));
    assert.match(byTypeAndGroup('DiagnosisCompleted', 'interop')[0]?.reason ?? '', new RegExp(`visit ${missingId} that has not been received`));
    assert.equal(letters.filter((l) => l.group === 'examination').length, 0, 'examination consumes none of these types');

    // Each was tried once and retried RETRY_BUDGET times before it was given up.
    const attempts = RETRY_BUDGET + 1;
    assert.equal(await counter('patient-management', 'medical_events_failed_total', { type: 'DiagnosisCancelled', reason: 'invalid' }), attempts);
    // The unknown type: skipped at once, counted, never retried.
    assert.equal(await counter('patient-management', 'medical_events_skipped_total', { type: 'ReceptionTeleported', reason: 'unknown-type' }), 1);
    assert.equal(await counter('patient-management', 'medical_events_failed_total', { type: 'ReceptionTeleported' }), 0);
    assert.equal(await counter('patient-management', 'medical_events_failed_total', { type: 'ReceptionCompleted', reason: 'invalid' }), attempts);
    assert.equal(await counter('diagnosis', 'medical_events_failed_total', { type: 'ReceptionCompleted', reason: 'invalid' }), attempts);
    assert.equal(await counter('reception', 'medical_events_failed_total', { type: 'DiagnosisCompleted', reason: 'handler' }), attempts);
    assert.equal(await counter('patient-management', 'medical_events_failed_total', { type: 'DiagnosisCompleted', reason: 'handler' }), attempts);
  });

  test('medical_events_dead_lettered_total counts the dead letters of each service', async () => {
    const name = 'medical_events_dead_lettered_total';
    assert.equal(await counter('patient-management', name), 3);
    assert.equal(await counter('patient-management', name, { type: 'DiagnosisCancelled' }), 1);
    assert.equal(await counter('patient-management', name, { type: 'ReceptionTeleported' }), 0);
    assert.equal(await counter('patient-management', name, { type: 'ReceptionCompleted' }), 1);
    assert.equal(await counter('patient-management', name, { type: 'DiagnosisCompleted' }), 1);
    assert.equal(await counter('diagnosis', name, { type: 'ReceptionCompleted' }), 1);
    assert.equal(await counter('reception', name, { type: 'DiagnosisCompleted' }), 1);
    assert.equal(await counter('examination', name), 0);
    assert.equal(await counter('interop', name), 3);
  });

  test('npm run dead-letters -- list names each letter: id, event, group, reason, time and origin', async () => {
    const letters = await listed();
    assert.equal(letters.length, 8);
    assert.equal(new Set(letters.map((l) => l.id)).size, 8, 'every letter has an id of its own');
    const topic = loadConfig('e2e', 0, { ...running.env, LOG_LEVEL: 'silent' }).topic;
    for (const letter of letters) {
      assert.match(letter.id, /^[0-9a-f-]{36}$/, 'the id is the letter’s dlq_id');
      assert.equal(letter.original.topic, topic);
      assert.match(letter.original.offset, /^\d+$/);
      assert.ok(!Number.isNaN(Date.parse(letter.failedAt)), `failedAt ${letter.failedAt}`);
      assert.equal(letter.replayOf, undefined);
    }
    const ofEvent = (id: string) => letters.filter((l) => l.eventId === id).map((l) => `${l.eventType}/${l.group}`).sort();
    assert.deepEqual(ofEvent(invalid.headers.ce_id), ['ReceptionCompleted/diagnosis', 'ReceptionCompleted/interop', 'ReceptionCompleted/patient-management']);
    assert.deepEqual(ofEvent(nulId.headers.ce_id), ['DiagnosisCancelled/interop', 'DiagnosisCancelled/patient-management']);
    assert.deepEqual(ofEvent(unknownType.headers.ce_id), []);
    assert.deepEqual(ofEvent(throwing.headers.ce_id), ['DiagnosisCompleted/interop', 'DiagnosisCompleted/patient-management', 'DiagnosisCompleted/reception']);
    const withNul = letters.find((l) => l.eventId === nulId.headers.ce_id)!;
    assert.match(withNul.reason, /invalid CloudEvents envelope: \/id/);
    assert.equal(withNul.key, String(visitId));
    assert.equal(withNul.value, nulId.value, 'the letter keeps the original bytes');
    // On one partition (embedded) or per key (Kafka), the poisons came before the visit's events.
    const byReception = letters.find((l) => l.eventId === throwing.headers.ce_id && l.group === 'reception')!;
    assert.match(byReception.reason, new RegExp(`unknown reception ${missingId}`));

    const { stdout } = await deadLetters('list');
    assert.match(stdout, /^8 dead letters on /);
    for (const letter of letters) assert.ok(stdout.includes(letter.id), `the table lists ${letter.id}`);
    assert.match(stdout, /invalid CloudEvents envelope: \/id/);
    assert.match(stdout, /group {5}reception gave up at /);
  });

  test('replay after the fix: the event is applied once, by the services that had given up on it', async () => {
    const { client } = running;
    const letters = await listed();
    const letter = letters.find((l) => l.eventId === throwing.headers.ce_id && l.group === 'reception')!;

    // Replayed before the fix, it fails again: a new letter names the one replayed.
    await deadLetters('replay', letter.id);
    const again = await eventually(
      async () => {
        const now = await listed();
        const found = now.filter((l) => l.replayOf === letter.id);
        assert.deepEqual(found.map((l) => l.group).sort(), ['interop', 'patient-management', 'reception']);
        return found;
      },
      { intervalMs: running.profile === 'production' ? 1_000 : 50, message: 'the failed replay dead-lettered again' },
    );
    assert.ok(again.every((l) => l.eventId === throwing.headers.ce_id), 'a replay keeps the event id');

    // The fix: the reception the outcome refers to exists now.
    const restored = await registerVisit(client, { patientName: 'Restored reception' });
    assert.equal(restored.id, missingId, 'the reception the poison referred to');
    await waitForDiagnosis(client, missingId);
    await waitForVisit(client, missingId, (v) => v.diagnosisStatus === 'REGISTERED');
    await waitForQuiescence(running);
    const consumed = async () => ({
      reception: await counter('reception', 'medical_events_consumed_total', { type: 'DiagnosisCompleted' }),
      patientManagement: await counter('patient-management', 'medical_events_consumed_total', { type: 'DiagnosisCompleted' }),
      interop: await counter('interop', 'medical_events_consumed_total', { type: 'DiagnosisCompleted' }),
      diagnosis: await counter('diagnosis', 'medical_events_consumed_total'),
      examination: await counter('examination', 'medical_events_consumed_total'),
    });
    const before = await consumed();

    const { stdout } = await deadLetters('replay', letter.id);
    assert.match(stdout, new RegExp(`replayed dead letter ${letter.id}: DiagnosisCompleted ${throwing.headers.ce_id}`));
    assert.deepEqual(/try it again: ([^;]+);/.exec(stdout)?.[1]?.split(', ').sort(), ['interop', 'patient-management', 'reception']);
    const reception = await waitForReception(client.as('admin'), missingId, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    assert.equal(reception.diagnosisOpinion, OPINION);
    assert.equal(reception.diagnosisId, 9999);
    await waitForVisit(client, missingId, (v) => v.diagnosisStatus === 'COMPLETED' && v.receptionStatus === 'DIAGNOSIS_COMPLETED');
    await waitForQuiescence(running);
    const after = await consumed();
    assert.deepEqual(after, { ...before, reception: before.reception + 1, patientManagement: before.patientManagement + 1, interop: before.interop + 1 }, 'applied once, where it had been dead-lettered');

    // Replaying the same letter again changes nothing: every service has it as applied now.
    await deadLetters('replay', letter.id);
    await waitForQuiescence(running);
    assert.deepEqual(await consumed(), after, 'a second replay is a duplicate everywhere');
    assert.deepEqual(await getReception(client.as('admin'), missingId), reception);
    assert.equal((await getVisit(client, missingId)).diagnosisStatus, 'COMPLETED');
    assert.equal((await listed()).length, 11, 'the letters of the failed replay, and none since the fix');
    assert.equal(await counter('reception', 'medical_events_dead_lettered_total'), 2);
  });

  test('replay-visit: every dead-lettered event of one visit re-published once, in the order they stood in the log', async () => {
    const { stdout, stderr } = await deadLetters('replay-visit', String(visitId));
    const lines = stdout.trim().split('\n');
    assert.equal(lines[0], `replayed 2 dead-lettered events of visit ${visitId}, in log order:`);
    assert.match(lines[1]!, new RegExp(`^  ReceptionCompleted ${invalid.headers.ce_id} .*for `));
    assert.deepEqual(/ for (.+)$/.exec(lines[1]!)?.[1]?.split(', ').sort(), ['diagnosis', 'interop', 'patient-management']);
    assert.match(lines[2]!, /^ {2}DiagnosisCancelled /);
    assert.match(stderr, /"step":"replaying the dead-lettered events of visit \d+ in log order"/, 'progress as JSON lines');
    // On the log, the replays follow each other in the events' own order.
    const replays = await eventually(async () => {
      const records = (await readEventRecords(running.env)).filter((r) => r.key === String(visitId));
      const last = (id: string) => records.filter((r) => r.id === id).at(-1)!;
      const [first, second] = [last(invalid.headers.ce_id), last(nulId.headers.ce_id)];
      assert.ok(first && second && records.filter((r) => r.id === invalid.headers.ce_id).length === 2, 'both replays are on the log');
      return { first, second };
    });
    assert.ok(replays.first.offset < replays.second.offset, 'the earlier event is replayed first');
    // Still poison: each fails again, and each group's new letter names the replayed one.
    await eventually(async () => assert.equal((await listed()).filter((l) => l.key === String(visitId) && l.replayOf).length, 5), { intervalMs: running.profile === 'production' ? 1_000 : 50 });
    await assert.rejects(deadLetters('replay-visit', 'not-a-visit'), (error: { code?: number }) => error.code === 2);
  });

  test('replaying an id that is not a dead letter exits 1 with the reason', async () => {
    await assert.rejects(deadLetters('replay', '00000000-0000-4000-8000-000000000000'), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr ?? '', /no dead letter with id "00000000-0000-4000-8000-000000000000"/);
      return true;
    });
    await assert.rejects(deadLetters('replay'), (error: { code?: number }) => error.code === 2);
  });
});
