import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import {
  Client,
  assertProblem,
  client,
  describeEachProfile,
  diagnosesOf,
  eventually,
  expectStatus,
  listAll,
  ok,
  running,
  registerPatient,
  useTestSystem,
  waitForDiagnosis,
  waitForQuiescence,
  type HttpReply,
  type Reception,
} from './helpers.ts';

/**
 * Safe retries (README, "HTTP API"): a POST sent again with the same Idempotency-Key gets the
 * first answer, marked Idempotent-Replayed, and the command runs once: through the gateway, after
 * the service restarts, and (production profile) across two replicas of reception sharing its
 * database, with the same key sent to both at once.
 */

const keyed = (key: string) => ({ headers: { 'idempotency-key': key } });

/** A registration for a patient of the registry of its own, so each test lists only its own receptions. */
async function newReception() {
  return { patientId: await registerPatient(client, { name: 'Retry Patient' }), symptom: 'cough' };
}

describeEachProfile((profile) => {
  useTestSystem('idempotency', profile, profile === 'production' ? { replicas: { reception: 2 } } : {});

  test('POST /receptions twice with one key: one reception, the same answer, the second marked replayed', async () => {
    const body = await newReception();
    const key = randomUUID();
    const first = await client.post<Reception>('/receptions', body, keyed(key));
    const reception = ok(first, 201, 'first request');
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await client.post<Reception>('/receptions', body, keyed(key));
    expectStatus(second, 201, 'the retry');
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.text, first.text, 'the very same body');
    assert.equal(second.headers.get('location'), `/receptions/${reception.id}`);

    const receptions = await listAll<Reception>(client, '/receptions', { patientId: body.patientId });
    assert.deepEqual(receptions.map((r) => r.id), [reception.id], 'one reception');
    // One command, so one ReceptionCompleted: the doctor gets one diagnosis.
    await waitForDiagnosis(client, reception.id);
    await waitForQuiescence(running);
    assert.equal((await diagnosesOf(client, reception.id)).length, 1);
  });

  test('a retried cancel answers the first 200, not a 409; a refused confirm replays its 409', async () => {
    const reception = ok(await client.post<Reception>('/receptions', await newReception()), 201);
    const cancelKey = randomUUID();
    const cancelled = await client.post<Reception>(`/receptions/${reception.id}/cancel`, { reason: 'left' }, keyed(cancelKey));
    assert.equal(ok(cancelled).status, 'CANCELLED');
    const again = await client.post<Reception>(`/receptions/${reception.id}/cancel`, { reason: 'left' }, keyed(cancelKey));
    expectStatus(again, 200, 'the retried cancel');
    assert.equal(again.text, cancelled.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    // Without a key the same request is a new command, which the state machine refuses.
    assertProblem(await client.post(`/receptions/${reception.id}/cancel`, { reason: 'left' }), 409);

    const confirmKey = randomUUID();
    const refused = await client.post(`/receptions/${reception.id}/confirm`, undefined, keyed(confirmKey));
    assertProblem(refused, 409);
    const refusedAgain = await client.post(`/receptions/${reception.id}/confirm`, undefined, keyed(confirmKey));
    assertProblem(refusedAgain, 409);
    assert.equal(refusedAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(refusedAgain.text, refused.text);
  });

  test('the same key with another body is a 422, an invalid key a 400, both problem+json', async () => {
    const key = randomUUID();
    const body = await newReception();
    expectStatus(await client.post('/receptions', body, keyed(key)), 201);
    const reused = await client.post('/receptions', { ...body, symptom: 'fever' }, keyed(key));
    assertProblem(reused, 422);
    assert.match(reused.body.detail, /different body/);
    assertProblem(await client.post('/receptions/1/cancel', {}, keyed(key)), 422);
    assertProblem(await client.post('/receptions', await newReception(), keyed('x'.repeat(256))), 400);
    assertProblem(await client.post('/receptions', await newReception(), keyed('two words')), 400);
    assert.equal((await listAll<Reception>(client, '/receptions', { patientId: body.patientId })).length, 1);
  });

  test('after reception restarts, the same key still answers the original', async () => {
    const body = await newReception();
    const key = randomUUID();
    const first = await client.post<Reception>('/receptions', body, keyed(key));
    const reception = ok(first, 201);
    await running.system.restart('reception');
    // The gateway may answer 503 until it sees reception ready again: the very case a key is for.
    const replayed = await eventually(async () => {
      const reply = await client.post<Reception>('/receptions', body, keyed(key));
      expectStatus(reply, 201, 'the retry after the restart');
      return reply;
    });
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.equal(replayed.text, first.text);
    assert.deepEqual((await listAll<Reception>(client, '/receptions', { patientId: body.patientId })).map((r) => r.id), [reception.id]);
  });

  test(`concurrent POSTs with one key${profile === 'production' ? ', on both replicas of reception,' : ''} create one reception`, async () => {
    const targets = [client, ...running.system.replicasOf('reception').map((replica) => new Client(replica.url))];
    if (profile === 'production') assert.equal(running.system.replicasOf('reception').length, 2, 'two reception replicas');
    for (let round = 0; round < 3; round++) {
      const body = await newReception();
      const key = randomUUID();
      const replies: HttpReply<Reception>[] = await Promise.all(
        Array.from({ length: 8 }, (_, i) => targets[i % targets.length]!.post<Reception>('/receptions', body, keyed(key))),
      );
      for (const reply of replies) expectStatus(reply, 201, `round ${round}`);
      assert.equal(new Set(replies.map((r) => r.text)).size, 1, 'every request answered with the one reception');
      assert.equal(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, replies.length - 1);
      const receptions = await listAll<Reception>(client, '/receptions', { patientId: body.patientId });
      assert.equal(receptions.length, 1, `round ${round}: one reception, got ${JSON.stringify(receptions.map((r) => r.id))}`);
    }
  });
});
