import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { systemActor, type Actor } from '@medical/contracts';
import { clearTimelines, loadTimeline, recordTimelineStep } from '../src/db/timeline.ts';
import { timelineStep, type TimelineEvent } from '../src/domain/timeline.ts';
import { engines as enginesOf } from './engines.ts';

/** The timeline's steps (pure) and their table on both engines (PostgreSQL when DATABASE_URL is set). */
const receptionist: Actor = { subject: 'u-7', name: 'Park Jiwoo', role: 'receptionist' };

const event = (type: string, data: Record<string, unknown>, time: string, source = '/reception'): TimelineEvent => ({
  id: randomUUID(),
  type,
  time,
  source,
  data: { receptionId: 1, ...data },
});

describe('timeline steps', () => {
  test("a step says what happened, which service did it, the stage reached and the event's actor", () => {
    const step = timelineStep(event('ReceptionCompleted', { patientId: 'P-1', patientName: 'Kim', actor: receptionist }, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED');
    assert.deepEqual({ ...step, eventId: undefined }, {
      eventId: undefined,
      receptionId: 1,
      event: 'ReceptionCompleted',
      at: '2025-03-01T09:00:00.000Z',
      service: 'reception',
      description: 'Registered at the reception desk',
      stage: 'RECEIVED',
      actor: receptionist,
    });
  });

  test('a reaction keeps the system actor; an event written before events carried actors has none', () => {
    const compensation = timelineStep(
      event('ExaminationCancelled', { examinationId: 4, prescriptionId: randomUUID(), diagnosisId: 2, reason: 'Diagnosis rejected: x', actor: systemActor('examination') }, '2025-03-01T09:00:00.000Z', '/examination'),
      1,
      'DIAGNOSIS_REJECTED',
    );
    assert.deepEqual(compensation.actor, systemActor('examination'));
    assert.equal(compensation.description, 'Examination 4 cancelled');
    const old = timelineStep(event('ReceptionConfirmed', { outcome: 'COMPLETED' }, '2025-03-01T09:00:00.000Z'), 1, 'CONFIRMED');
    assert.equal('actor' in old, false);
  });

  test('a break-glass access is a step saying the record was opened in an emergency, by whom, without the reason', () => {
    const surgeon: Actor = { subject: 'dev:doctor-surgery', name: 'Demo Surgeon', role: 'doctor' };
    const step = timelineStep(
      event('BreakGlassAccessed', { diagnosisId: 2, reason: 'collapsed in the waiting room', accessedAt: '2025-03-01T09:05:00.000Z', actor: surgeon }, '2025-03-01T09:05:00.000Z', '/diagnosis'),
      1,
      'WAITING_FOR_DOCTOR',
    );
    assert.deepEqual({ ...step, eventId: undefined }, {
      eventId: undefined,
      receptionId: 1,
      event: 'BreakGlassAccessed',
      at: '2025-03-01T09:05:00.000Z',
      service: 'diagnosis',
      description: 'Diagnosis 2 opened in an emergency by someone outside its department (break-glass)',
      stage: 'WAITING_FOR_DOCTOR',
      actor: surgeon,
    });
    assert.doesNotMatch(JSON.stringify(step), /collapsed/);
  });

  test("a merge of the visit's patient is a step naming the patient kept and the previous one by id, not by name", () => {
    const step = timelineStep(
      event(
        'ReceptionPatientMerged',
        { patientId: 'P-7', patientName: 'Kim Min-ji', birthDate: '1990-05-01', previousPatientId: 'P-3', mergedAt: '2025-03-01T10:00:00.000Z', actor: receptionist },
        '2025-03-01T10:00:00.000Z',
      ),
      1,
      'IN_EXAMINATION',
    );
    assert.deepEqual({ ...step, eventId: undefined }, {
      eventId: undefined,
      receptionId: 1,
      event: 'ReceptionPatientMerged',
      at: '2025-03-01T10:00:00.000Z',
      service: 'reception',
      description: 'Patient records merged: now patient P-7 (was P-3)',
      stage: 'IN_EXAMINATION',
      actor: receptionist,
    });
    assert.doesNotMatch(step.description, /Kim|1990/);
  });

  test('descriptions carry no clinical content', () => {
    const performed = timelineStep(
      event('ExaminationPerformed', { examinationId: 4, prescriptionId: randomUUID(), diagnosisId: 2, result: 'nodule in the left lung', performedAt: '2025-03-01T09:00:00.000Z' }, '2025-03-01T09:00:00.000Z', '/examination'),
      1,
      'EXAMINATIONS_DONE',
    );
    const completed = timelineStep(event('DiagnosisCompleted', { diagnosisId: 2, opinion: 'pneumonia' }, '2025-03-01T09:00:00.000Z', '/diagnosis'), 1, 'DIAGNOSIS_COMPLETED');
    assert.ok(!JSON.stringify([performed, completed]).match(/nodule|pneumonia/));
    assert.equal(timelineStep(event('SomethingNew', {}, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED').description, 'SomethingNew');
  });
});

const engines = enginesOf('pmtimeline');

for (const engine of engines) {
  test(`the timeline table on ${engine.name}: time order, one row per event, cleared for a rebuild`, { skip: engine.skip }, async (t) => {
    const database = await engine.open(t);
    const same = '2025-03-01T09:00:01.000Z';
    const steps = [
      timelineStep(event('ReceptionCompleted', { patientId: 'P', patientName: 'Kim', actor: receptionist }, '2025-03-01T09:00:00.000Z'), 1, 'RECEIVED'),
      // Two steps of the same instant keep the order they were applied in.
      timelineStep(event('DiagnosisRegistered', { diagnosisId: 2, patientId: 'P', patientName: 'Kim', actor: systemActor('diagnosis') }, same, '/diagnosis'), 1, 'WAITING_FOR_DOCTOR'),
      timelineStep(event('ReceptionCancelled', { reason: 'left', actor: receptionist }, same), 1, 'CANCELLED'),
    ];
    const otherVisit = timelineStep({ ...event('ReceptionCompleted', { patientId: 'Q', patientName: 'Lee' }, '2025-03-01T08:00:00.000Z'), data: { receptionId: 2, patientId: 'Q', patientName: 'Lee' } }, 2, 'RECEIVED');
    for (const step of [steps[1]!, otherVisit, steps[2]!]) await database.transaction((trx) => recordTimelineStep(trx, step));
    await database.transaction((trx) => recordTimelineStep(trx, steps[0]!));
    await database.transaction((trx) => recordTimelineStep(trx, steps[2]!)); // the same event again: kept once
    assert.deepEqual(await loadTimeline(database.db, 1), steps);
    assert.deepEqual(await loadTimeline(database.db, 2), [otherVisit]);
    await database.transaction((trx) => clearTimelines(trx));
    assert.deepEqual(await loadTimeline(database.db, 1), []);
  });
}
