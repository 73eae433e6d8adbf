import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstIdAfterRestore, highestIdsIn } from '../src/restore/id-blocks.ts';
import { eventsAhead, findLostEvents, producerOf, type ConsumerPlace } from '../src/restore/lost-events.ts';
import type { StoredMessage } from '../src/inbox/stored-message.ts';

/** The pure halves of the reconciliation after a restore (the whole is test/e2e/backup-restore.test.ts). */

describe('ids after a restore: a fresh block past every id known, by at least the gap', () => {
  test('the next id is a round block past the highest known plus the gap', () => {
    assert.equal(firstIdAfterRestore(0), 100_001);
    assert.equal(firstIdAfterRestore(57), 200_001);
    assert.equal(firstIdAfterRestore(99_999), 200_001);
    assert.equal(firstIdAfterRestore(100_000), 200_001);
    assert.equal(firstIdAfterRestore(100_001), 300_001);
    assert.equal(firstIdAfterRestore(57, 1000), 2001);
  });

  test('the margin above the highest known id is never less than the gap', () => {
    for (const gap of [1, 7, 1000, 100_000]) {
      for (let highest = 0; highest < 3 * gap + 5; highest += Math.max(1, Math.floor(gap / 13))) {
        const next = firstIdAfterRestore(highest, gap);
        assert.ok(next - 1 - highest >= gap, `gap ${gap}, highest ${highest}: next ${next}`);
        assert.equal((next - 1) % gap, 0, 'a round block');
      }
    }
  });

  test('refuses what is not an id or a gap', () => {
    assert.throws(() => firstIdAfterRestore(-1), RangeError);
    assert.throws(() => firstIdAfterRestore(1.5), RangeError);
    assert.throws(() => firstIdAfterRestore(1, 0), RangeError);
  });

  test('the highest ids the events carry, whatever else the log holds', () => {
    const values = ['{"receptionId":4,"diagnosisId":2}', 'not json', 'null', '{"receptionId":"9"}', '{"receptionId":7,"examinationId":3}', '[1,2]'];
    assert.deepEqual(Object.fromEntries(highestIdsIn(values, ['receptionId', 'diagnosisId', 'examinationId'])), { receptionId: 7, diagnosisId: 2, examinationId: 3 });
  });

  test('the highest patient serial the events carry: of the issued numbers, not of ids carried over from before the registry', () => {
    const values = ['{"patientId":"00000026"}', '{"patientId":"P-1001"}', '{"patientId":"00000018"}', '{"patientId":"99999990"}'];
    // 99999990 fails its check digit: no number the registry issued.
    assert.deepEqual(Object.fromEntries(highestIdsIn(values, ['patientId'])), { patientId: 2 });
  });
});

describe('which events a restore lost: those their producer\'s restored audit trail does not name', () => {
  let offset = 0;
  const message = (id: string, type: string, source: string, partition = 0): StoredMessage => ({
    partition,
    offset: String(offset++),
    key: '1',
    value: '{}',
    headers: { ce_id: id, ce_type: type, ce_source: source, ce_time: '2026-12-06T09:00:00Z' },
  });
  const log = [
    message('a', 'ReceptionCompleted', '/reception'), // 0: consumed by all, before the target
    message('b', 'DiagnosisRegistered', '/diagnosis'), // 1: kept, patient-management had not read it
    message('c', 'ReceptionCompleted', '/reception'), // 2: lost
    message('d', 'DiagnosisRegistered', '/diagnosis'), // 3: lost
    message('c', 'ReceptionCompleted', '/reception'), // 4: a second copy of a lost event
    message('e', 'Something', '/elsewhere'), // 5: no producer of ours: left to the consumers
  ];
  const committed: Record<string, Set<string>> = { reception: new Set(['a']), diagnosis: new Set(['b']) };
  const consumers: ConsumerPlace[] = [
    { service: 'diagnosis', handles: ['ReceptionCompleted'], positions: new Map([[0, 1n]]) },
    { service: 'patient-management', handles: 'all', positions: new Map([[0, 1n]]) },
    { service: 'reception', handles: ['DiagnosisCompleted'], positions: new Map([[0, 2n]]) },
  ];

  test('the producer is the CloudEvents source', () => {
    assert.equal(producerOf(log[0]!), 'reception');
    assert.equal(producerOf({ ...log[0]!, headers: {} }), undefined);
  });

  test('only events at or after some consumer\'s position are in question', () => {
    assert.deepEqual(eventsAhead(log, consumers).map((m) => m.offset), ['1', '2', '3', '4', '5']);
  });

  test('lost once each; set aside for each consumer that handles them and has not read them; the rest applied again', () => {
    const found = findLostEvents(log, consumers, (producer) => committed[producer]);
    assert.deepEqual(found.lost.map((m) => m.headers.ce_id), ['c', 'd']);
    assert.equal(found.keptAhead, 1);
    assert.deepEqual(found.setAside.get('diagnosis')?.map((m) => m.offset), ['2'], 'c once: its inbox row covers the second copy too');
    assert.deepEqual(found.setAside.get('patient-management')?.map((m) => m.headers.ce_id), ['c', 'd']);
    assert.equal(found.setAside.has('reception'), false, 'reception handles neither');
  });

  test('an event its producer names is never set aside, however late it sits in the log', () => {
    const found = findLostEvents(log, consumers, (producer) => ({ reception: new Set(['a', 'c']), diagnosis: new Set(['b', 'd']) })[producer]);
    assert.deepEqual(found.lost, []);
    assert.equal(found.setAside.size, 0);
  });

  test('a producer not restored here decides nothing', () => {
    const found = findLostEvents(log, consumers, () => undefined);
    assert.deepEqual(found.lost, []);
  });
});
