import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { patientNumberOf, TICKET_TOKEN_PATTERN, type Actor } from '@medical/contracts';
import { startService, type RunningService } from '@medical/platform';
import { databaseEngines, serviceEngines, startDevIssuer, type DevIssuer } from '../../../packages/platform/test/helpers.ts';
import type { Context } from '../src/app/aggregates.ts';
import { registerReception } from '../src/app/commands.ts';
import { newTicket, ticketDigestOf } from '../src/app/tickets.ts';
import { migrations } from '../src/db/migrations.ts';
import { savePatient } from '../src/db/patients.ts';
import { nextQueueNumber } from '../src/db/queue-counters.ts';
import { loadReception } from '../src/db/repository.ts';
import type { ReceptionDatabase } from '../src/db/schema.ts';
import { receptionService } from '../src/service.ts';

/**
 * Queue numbers (issue 21): per department per hospital day (Asia/Seoul here), from 1, never
 * given twice on a day, whichever replica registers the visit; and the ticket each visit gets,
 * whose token stays in the reception service while its digest travels on ReceptionCompleted.
 * On SQLite, and on PostgreSQL when DATABASE_URL is set.
 */

describe('a ticket', () => {
  test('a token of 128 random bits as 22 characters of base64url, and its SHA-256 in hex', () => {
    const tickets = Array.from({ length: 50 }, newTicket);
    for (const { ticket, ticketDigest } of tickets) {
      assert.match(ticket, new RegExp(TICKET_TOKEN_PATTERN));
      assert.equal(Buffer.from(ticket, 'base64url').length, 16);
      assert.equal(ticketDigest, ticketDigestOf(ticket));
    }
    assert.equal(new Set(tickets.map((t) => t.ticket)).size, tickets.length, 'never the same token twice');
    // sha256 of the text `q7Jx2mB0c-Zr9_kVw1aP3g`, as `printf %s … | sha256sum` gives it.
    assert.equal(ticketDigestOf('q7Jx2mB0c-Zr9_kVw1aP3g'), 'fe96ac8a7ec832230ee7e3847048f9c22791c0a165c2f21eaedf925c688e06e8');
  });
});

for (const engine of databaseEngines<ReceptionDatabase>('queue-counters', { name: 'reception', migrations, idSequences: ['receptions', 'patients'] })) {
  describe(`the queue counters (${engine.name})`, { skip: engine.skip }, () => {
    test('1, 2, 3 in a department on a day; 1 again in another department and on the next day; a number rolled back is given again', async (t) => {
      const database = await engine.open(t);
      const next = (department: string, day: string) => database.transaction((trx) => nextQueueNumber(trx, department, day));
      const numbers = [];
      for (let i = 0; i < 3; i++) numbers.push(await next('internal-medicine', '2026-12-07'));
      assert.deepEqual(numbers, [1, 2, 3]);
      assert.equal(await next('surgery', '2026-12-07'), 1);
      assert.equal(await next('internal-medicine', '2026-12-08'), 1);
      assert.equal(await next('internal-medicine', '2026-12-07'), 4, 'the other department and day left this one alone');

      const rolledBack = new Error('the registration failed after drawing its number');
      await assert.rejects(
        database.transaction(async (trx) => {
          assert.equal(await nextQueueNumber(trx, 'internal-medicine', '2026-12-07'), 5);
          throw rolledBack;
        }),
        rolledBack,
      );
      assert.equal(await next('internal-medicine', '2026-12-07'), 5, 'no gap: the number went back with its registration');
    });
  });
}

const desk: Actor = { subject: 'desk-1', name: 'Desk 1', role: 'receptionist' };
const settings = { carryOverUnregistered: false };
let serial = 100;

/** A patient of the registry, saved as a registration would have left them. */
async function seedPatient(context: Context): Promise<string> {
  const patientId = patientNumberOf(serial++);
  const at = '2026-12-01T00:00:00.000Z';
  await savePatient(context.database.db, { patientId, name: '김민지', birthDate: '1987-04-12', sex: 'female', status: 'ACTIVE', possibleDuplicates: [], createdAt: at, updatedAt: at });
  return patientId;
}

/** The context with every event handed to the outbox recorded: what leaves the service. */
function recording(context: Context): { context: Context; emitted: Array<{ type: string; data: unknown }> } {
  const emitted: Array<{ type: string; data: unknown }> = [];
  const execute: Context['execute'] = (work) =>
    context.execute((trx, emit) =>
      work(trx, (events, subject) => {
        emitted.push(...events);
        return emit(events, subject);
      }),
    );
  return { context: { ...context, execute }, emitted };
}

const clockAt = (instant: string) => () => instant;

for (const engine of serviceEngines('recqueue')) {
  describe(`the queue numbers of registrations (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let dataDir: string;
    let env: Record<string, string>;
    /** On PostgreSQL two replicas of the service on one schema; on SQLite one, its file being the process's own. */
    const replicas: RunningService[] = [];
    const contextOf = (replica: RunningService) => replica.context as unknown as Context;

    before(async () => {
      issuer = await startDevIssuer();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reception-queue-'));
      env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', HOSPITAL_TIME_ZONE: 'Asia/Seoul', ...engine.env(), ...issuer.env };
      replicas.push(await startService(receptionService, env));
      if (engine.name === 'PostgreSQL') replicas.push(await startService(receptionService, env));
    });
    after(async () => {
      for (const replica of replicas) await replica.stop();
      await issuer?.close();
      await engine.drop(env);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test('23:59:59 and 00:00:00 in Seoul are two hospital days, each numbered from 1', async () => {
      const context = contextOf(replicas[0]!);
      const register = async (instant: string) =>
        registerReception(context, { actor: desk }, { patientId: await seedPatient(context), department: 'surgery' }, settings, clockAt(instant));
      const late = await register('2026-12-07T14:59:59.000Z');
      const later = await register('2026-12-07T14:59:59.999Z');
      const midnight = await register('2026-12-07T15:00:00.000Z');
      const next = await register('2026-12-07T15:00:01.000Z');
      assert.deepEqual(
        [late, later, midnight, next].map((r) => [r.queueDay, r.queueNumber]),
        [
          ['2026-12-07', 1],
          ['2026-12-07', 2],
          ['2026-12-08', 1],
          ['2026-12-08', 2],
        ],
      );
    });

    test("the reception keeps its number, day and ticket; ReceptionCompleted carries the number, the day and the ticket's digest, never the token", async () => {
      const { context, emitted } = recording(contextOf(replicas[0]!));
      const reception = await registerReception(context, { actor: desk }, { patientId: await seedPatient(context), department: 'orthopedics', symptom: 'knee' }, settings, clockAt('2026-12-09T01:00:00.000Z'));
      assert.equal(reception.department, 'orthopedics');
      assert.equal(reception.queueNumber, 1);
      assert.equal(reception.queueDay, '2026-12-09');
      assert.match(reception.ticket ?? '', new RegExp(TICKET_TOKEN_PATTERN));
      assert.deepEqual(await loadReception(context.database.db, reception.id), reception, 'as saved');

      const [completed, ...others] = emitted;
      assert.deepEqual(others, []);
      assert.equal(completed?.type, 'ReceptionCompleted');
      const data = completed?.data as Record<string, unknown>;
      assert.deepEqual([data.queueNumber, data.queueDay, data.ticketDigest], [1, '2026-12-09', ticketDigestOf(reception.ticket!)]);
      assert.ok(!JSON.stringify(completed).includes(reception.ticket!), 'the token does not leave the service');
    });

    test("a registration without a department is in the catalog's default one; the answer shows the number, the day and the ticket", async () => {
      const context = contextOf(replicas[0]!);
      const headers = { ...(await issuer.authorization('receptionist')), 'content-type': 'application/json' };
      const post = async () => {
        const response = await fetch(`${replicas[0]!.url}/receptions`, { method: 'POST', headers, body: JSON.stringify({ patientId: await seedPatient(context) }) });
        assert.equal(response.status, 201);
        return (await response.json()) as Record<string, unknown>;
      };
      const first = await post();
      const second = await post();
      assert.equal(first.department, 'internal-medicine');
      assert.equal(first.queueNumber, 1);
      assert.equal(second.queueNumber, second.queueDay === first.queueDay ? 2 : 1);
      assert.match(String(first.queueDay), /^\d{4}-\d{2}-\d{2}$/);
      assert.match(String(first.ticket), new RegExp(TICKET_TOKEN_PATTERN));
      assert.notEqual(first.ticket, second.ticket);

      const read = await fetch(`${replicas[0]!.url}/receptions/${first.id}`, { headers });
      const shown = (await read.json()) as Record<string, unknown>;
      assert.deepEqual([shown.department, shown.queueNumber, shown.queueDay, shown.ticket], [first.department, first.queueNumber, first.queueDay, first.ticket]);

      const unknown = await fetch(`${replicas[0]!.url}/receptions`, { method: 'POST', headers, body: JSON.stringify({ patientId: await seedPatient(context), department: 'dermatology' }) });
      assert.equal(unknown.status, 400, 'a department the hospital does not have');
      assert.deepEqual(((await unknown.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field), ['department']);
      assert.equal(await context.database.db.selectFrom('queue_counters').select('department').where('department', '=', 'dermatology').executeTakeFirst(), undefined, 'and no number drawn');
    });

    test('20 registrations at once in one department, spread over the replicas, get 1 to 20', async () => {
      const patients = [];
      for (let i = 0; i < 20; i++) patients.push(await seedPatient(contextOf(replicas[0]!)));
      const registered = await Promise.all(
        patients.map((patientId, i) =>
          registerReception(contextOf(replicas[i % replicas.length]!), { actor: desk }, { patientId, department: 'cardiology' }, settings, clockAt('2026-12-10T02:00:00.000Z')),
        ),
      );
      assert.deepEqual(
        registered.map((r) => r.queueNumber).sort((a, b) => a! - b!),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
      assert.ok(registered.every((r) => r.queueDay === '2026-12-10'));
    });
  });
}
