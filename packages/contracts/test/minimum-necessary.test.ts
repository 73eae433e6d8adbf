import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { receptionSeenBy, roles, visitSeenBy, type ReceptionView, type Role, type VisitView } from '../src/index.ts';

const at = '2026-12-06T09:00:00.000Z';
const reception: ReceptionView = {
  id: 7,
  patientId: 'P-0007',
  patientName: '김민지',
  status: 'DIAGNOSIS_COMPLETED',
  receivedAt: at,
  diagnosisId: 3,
  diagnosisOutcome: 'COMPLETED',
  diagnosisOpinion: 'Viral bronchitis',
  diagnosisRejectReason: 'Refer to cardiology',
  createdAt: at,
  updatedAt: at,
};
const visit: VisitView = {
  receptionId: 7,
  patientId: 'P-0007',
  patientName: '김민지',
  status: 'EXAMINATIONS_DONE',
  stage: 'EXAMINATIONS_DONE',
  receptionStatus: 'RECEIVED',
  diagnosisId: 3,
  diagnosisStatus: 'EXAMINATION_DONE',
  examinations: [{ examinationId: 1, prescriptionId: '00000000-0000-4000-8000-000000000001', examinationType: 'X-RAY', status: 'PERFORMED', result: 'No infiltrates' }],
  createdAt: at,
  updatedAt: at,
};

/** Which roles, held alone, see the clinical texts. */
const clinicalAlone: Record<Role, boolean> = { receptionist: false, manager: false, auditor: false, doctor: true, examiner: true, admin: true, display: false, integration: false };

describe('minimum necessary, per role', () => {
  for (const role of roles) {
    test(`${role}: ${clinicalAlone[role] ? 'every clinical text' : 'the outcome and where things stand, no clinical text'}`, () => {
      const seenReception = receptionSeenBy([role], reception);
      const seenVisit = visitSeenBy([role], visit);
      if (clinicalAlone[role]) {
        assert.deepEqual(seenReception, reception);
        assert.deepEqual(seenVisit, visit);
        return;
      }
      assert.equal(seenReception.diagnosisOutcome, 'COMPLETED');
      assert.equal('diagnosisOpinion' in seenReception, false);
      assert.equal('diagnosisRejectReason' in seenReception, false);
      assert.deepEqual({ ...seenReception, diagnosisOpinion: reception.diagnosisOpinion, diagnosisRejectReason: reception.diagnosisRejectReason }, reception, 'nothing else is taken');
      assert.equal('result' in seenVisit.examinations[0]!, false);
      assert.equal(seenVisit.examinations[0]!.status, 'PERFORMED');
    });
  }

  test('a manager who is also a doctor sees the texts: every role the token grants counts', () => {
    assert.deepEqual(visitSeenBy(['manager', 'doctor'], visit), visit);
    assert.deepEqual(receptionSeenBy(['receptionist', 'doctor'], reception), reception);
  });
});
