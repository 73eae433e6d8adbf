import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultHospitalCatalog, visitStages, type VisitStage } from '@medical/contracts';
import {
  capabilityStatementOf,
  encounterOf,
  operationOutcomeOf,
  patientOf,
  resultOf,
  searchsetOf,
  serviceRequestOf,
  taskOf,
  type EncounterRecord,
  type PatientRecord,
  type Resource,
  type ServiceRequestRecord,
  type TaskRecord,
} from '../src/fhir/index.ts';
import { searchableTypes, searchIncludes, searchParameters } from '../src/fhir/search.ts';
import { validateR4 } from './r4-validator.ts';

const catalog = defaultHospitalCatalog;
const at = (minute: number) => `2026-12-07T00:${String(minute).padStart(2, '0')}:00.000Z`;
const doctor = { subject: 'doctor-1', name: '이의사' };
const P1 = '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5';
const P2 = '7a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

// ---- the records of three visits, as the projection will keep them ----
const patient: PatientRecord = { patientId: '00000018', name: '김민지', birthDate: '1990-04-01', sex: 'female', updatedAt: at(0) };

const finished = {
  encounter: {
    receptionId: 7, patientId: '00000018', stage: 'CONFIRMED', department: 'internal-medicine', queueNumber: 3, queueDay: '2026-12-07',
    receivedAt: at(0), calledAt: at(5), endedAt: at(40), doctor, updatedAt: at(45),
  } satisfies EncounterRecord,
  request: {
    prescriptionId: P1, receptionId: 7, patientId: '00000018', examinationType: 'CHEST_XRAY', instructions: '금속류 제거',
    status: 'PERFORMED', prescribedAt: at(10), doctor, updatedAt: at(30),
  } satisfies ServiceRequestRecord,
  task: {
    examinationId: 101, prescriptionId: P1, receptionId: 7, patientId: '00000018', examinationType: 'CHEST_XRAY', status: 'PERFORMED',
    department: 'radiology', queueState: 'CALLED', requestedAt: at(11), result: 'No active lung lesion', performedAt: at(30),
    attachments: [{ name: `${'a'.repeat(32)}.pdf`, filename: 'chest-report.pdf', contentType: 'application/pdf', size: 2048, sha256: 'b'.repeat(64), uploadedAt: at(31) }],
    updatedAt: at(31),
  } satisfies TaskRecord,
};

const rejected = {
  encounter: { receptionId: 8, patientId: '00000018', stage: 'DIAGNOSIS_REJECTED', department: 'cardiology', receivedAt: at(1), calledAt: at(6), endedAt: at(20), doctor, updatedAt: at(20) } satisfies EncounterRecord,
  request: { prescriptionId: P2, receptionId: 8, patientId: '00000018', examinationType: 'ABDOMEN_US', status: 'CANCELLED', prescribedAt: at(7), doctor, updatedAt: at(20) } satisfies ServiceRequestRecord,
  task: {
    examinationId: 102, prescriptionId: P2, receptionId: 8, patientId: '00000018', examinationType: 'ABDOMEN_US', status: 'CANCELLED',
    department: 'radiology', requestedAt: at(8), cancelReason: 'Diagnosis rejected', attachments: [], updatedAt: at(20),
  } satisfies TaskRecord,
};

const cancelled = {
  encounter: { receptionId: 9, patientId: '00000018', stage: 'CANCELLED', department: 'internal-medicine', queueNumber: 4, queueDay: '2026-12-07', receivedAt: at(2), endedAt: at(4), updatedAt: at(4) } satisfies EncounterRecord,
};

function assertValid(resource: Resource): string[] {
  const { errors, checkedBindings } = validateR4(resource);
  assert.deepEqual(errors, [], `${resource.resourceType}/${resource.id} is not valid R4`);
  return checkedBindings;
}

describe('every resource of a finished, a rejected and a cancelled visit validates against R4', () => {
  test('Patient, Encounter, ServiceRequest, Task, DiagnosticReport and Observation', () => {
    const resources: Resource[] = [
      patientOf(patient),
      patientOf({ ...patient, patientId: 'P-1001', mergedInto: '00000018', sex: undefined }),
      ...[finished, rejected, cancelled].map((visit) => encounterOf(visit.encounter, catalog)),
      ...[finished, rejected].flatMap((visit) => [serviceRequestOf(visit.request, catalog), taskOf(visit.task, catalog)]),
    ];
    const result = resultOf(finished.task, catalog);
    assert.ok(result);
    resources.push(result.report, result.observation);
    const checked = resources.flatMap(assertValid);
    // The required codes were checked against their value sets, not skipped.
    for (const path of ['Patient.gender', 'Encounter.status', 'ServiceRequest.status', 'ServiceRequest.intent', 'Task.status', 'Task.intent', 'DiagnosticReport.status', 'Observation.status']) {
      assert.ok(checked.includes(path), `${path} was checked`);
    }
  });

  test('a searchset Bundle, an OperationOutcome and the CapabilityStatement', () => {
    const bundle = searchsetOf({
      base: 'https://hospital.example/fhir/R4',
      self: 'https://hospital.example/fhir/R4/Encounter?patient=00000018&_count=2',
      next: 'https://hospital.example/fhir/R4/Encounter?patient=00000018&_count=2&_page=1',
      total: 3,
      matches: [encounterOf(finished.encounter, catalog), encounterOf(rejected.encounter, catalog)],
      includes: [patientOf(patient)],
    });
    assert.ok(assertValid(bundle).includes('Bundle.type'));
    assertValid(operationOutcomeOf('not-found', 'Encounter/99 is not known'));
    assertValid(capabilityStatementOf({ baseUrl: 'https://hospital.example/fhir/R4', date: '2026-12-07' }));
  });

  test('the CapabilityStatement announces exactly the searches the server takes: each type\'s parameters, its _include and the paging', () => {
    const statement = capabilityStatementOf({ baseUrl: 'https://hospital.example/fhir/R4', date: '2026-12-07' });
    const announced = Object.fromEntries(statement.rest[0]!.resource.filter((r) => r.searchParam).map((r) => [r.type, { params: r.searchParam!.map((p) => p.name), include: r.searchInclude }]));
    assert.deepEqual(
      announced,
      Object.fromEntries(searchableTypes.map((type) => [type, { params: [...Object.keys(searchParameters[type]), '_count', '_page'], include: [searchIncludes[type]] }])),
    );
  });

  test('a broken resource fails, so the check can fail', () => {
    const encounter = encounterOf(finished.encounter, catalog);
    const errorsOf = (resource: object) => validateR4(resource as Resource).errors;
    assert.match(errorsOf({ ...encounter, status: 'done' }).join(), /Encounter\.status: "done" is not in http:\/\/hl7\.org\/fhir\/ValueSet\/encounter-status/);
    const { status: _status, ...withoutStatus } = encounter;
    assert.match(errorsOf(withoutStatus).join(), /Encounter\.status: Missing required property/);
    assert.match(errorsOf({ ...encounter, queueNumber: 3 }).join(), /Encounter\.queueNumber: Invalid additional property/);
    assert.match(errorsOf({ ...encounter, period: { start: 'yesterday' } }).join(), /Encounter\.period\.start: Invalid dateTime/);
    const report = resultOf(finished.task, catalog)!.report;
    assert.match(errorsOf({ ...report, presentedForm: [{ size: -1 }] }).join(), /presentedForm\[0\]\.size/);
    assert.match(errorsOf({ ...report, issued: '2026-12-07' }).join(), /DiagnosticReport\.issued: Invalid instant/);
  });
});

describe('Encounter', () => {
  const expected: Record<VisitStage, string> = {
    RECEIVED: 'arrived',
    WAITING_FOR_DOCTOR: 'arrived',
    IN_EXAMINATION: 'in-progress',
    EXAMINATIONS_DONE: 'in-progress',
    DIAGNOSIS_COMPLETED: 'finished',
    DIAGNOSIS_REJECTED: 'finished',
    CONFIRMED: 'finished',
    CANCELLED: 'cancelled',
  };
  const open: EncounterRecord = { receptionId: 7, patientId: '00000018', stage: 'RECEIVED', receivedAt: at(0), endedAt: at(40), updatedAt: at(0) };

  test('its status follows the stage, for every stage', () => {
    for (const stage of visitStages) {
      const encounter = encounterOf({ ...open, stage }, catalog);
      assert.equal(encounter.status, expected[stage], stage);
      assertValid(encounter);
      // The period ends only once the visit ended.
      assert.equal(encounter.period?.end, ['finished', 'cancelled'].includes(expected[stage]) ? at(40) : undefined, stage);
    }
  });

  test('waiting for the doctor is in-progress once the doctor called the patient in', () => {
    assert.equal(encounterOf({ ...open, stage: 'WAITING_FOR_DOCTOR', calledAt: at(5) }, catalog).status, 'in-progress');
    // A call before the stage reached the doctor changes nothing else.
    assert.equal(encounterOf({ ...open, stage: 'RECEIVED', calledAt: at(5) }, catalog).status, 'arrived');
  });

  test('class, subject, department, queue number, participant and period', () => {
    const encounter = encounterOf(finished.encounter, catalog);
    assert.equal(encounter.id, '7');
    assert.deepEqual(encounter.class, { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' });
    assert.deepEqual(encounter.subject, { reference: 'Patient/00000018' });
    assert.deepEqual(encounter.serviceType, { coding: [{ system: 'urn:medical:department', code: 'internal-medicine', display: '내과' }], text: '내과' });
    assert.deepEqual(encounter.identifier, [{ system: 'urn:medical:queue-number', value: '2026-12-07/internal-medicine/3' }]);
    assert.equal(encounter.participant?.[0]?.individual?.display, '이의사');
    assert.deepEqual(encounter.period, { start: at(0), end: at(40) });
  });

  test('without a queue number, a doctor or a department code, those are left out or shown as text', () => {
    const encounter = encounterOf({ ...open, department: 'X-RAY room' }, catalog);
    assert.equal(encounter.identifier, undefined);
    assert.equal(encounter.participant, undefined);
    assert.deepEqual(encounter.serviceType, { text: 'X-RAY room' });
    assert.deepEqual(encounter.period, { start: at(0) });
    assertValid(encounter);
  });
});

describe('ServiceRequest', () => {
  test('status from the prescription, intent order, the references and the note', () => {
    const statuses = { REQUESTED: 'active', PERFORMED: 'completed', CANCELLED: 'revoked' } as const;
    for (const [status, fhir] of Object.entries(statuses)) {
      assert.equal(serviceRequestOf({ ...finished.request, status: status as keyof typeof statuses }, catalog).status, fhir);
    }
    const request = serviceRequestOf(finished.request, catalog);
    assert.equal(request.id, P1);
    assert.equal(request.intent, 'order');
    assert.deepEqual(request.subject, { reference: 'Patient/00000018' });
    assert.deepEqual(request.encounter, { reference: 'Encounter/7' });
    assert.equal(request.authoredOn, at(10));
    assert.deepEqual(request.requester, { type: 'Practitioner', display: '이의사' });
    assert.deepEqual(request.note, [{ text: '금속류 제거' }]);
  });

  test('the LOINC coding where the catalog has one, none where it has not, the text alone off the catalog', () => {
    assert.deepEqual(serviceRequestOf(finished.request, catalog).code, {
      coding: [
        { system: 'urn:medical:examination', code: 'CHEST_XRAY', display: '흉부 X선 (2방향)' },
        { system: 'http://loinc.org', code: '36643-5' },
      ],
      text: '흉부 X선 (2방향)',
    });
    const ultrasound = serviceRequestOf(rejected.request, catalog).code;
    assert.deepEqual(ultrasound?.coding?.map((c) => c.system), ['urn:medical:examination']);
    const freeText = serviceRequestOf({ ...finished.request, examinationType: 'X-RAY' }, catalog);
    assert.deepEqual(freeText.code, { text: 'X-RAY' });
    assertValid(freeText);
  });
});

describe('Task', () => {
  test('requested, in-progress once called, completed, cancelled', () => {
    const requested: TaskRecord = { ...finished.task, status: 'REQUESTED', queueState: undefined, result: undefined, performedAt: undefined, attachments: [] };
    assert.equal(taskOf(requested, catalog).status, 'requested');
    assert.equal(taskOf({ ...requested, queueState: 'WAITING' }, catalog).status, 'requested');
    assert.equal(taskOf({ ...requested, queueState: 'CALLED' }, catalog).status, 'in-progress');
    assert.equal(taskOf({ ...requested, queueState: 'NO_SHOW' }, catalog).status, 'requested');
    assert.equal(taskOf(finished.task, catalog).status, 'completed');
    assert.equal(taskOf(rejected.task, catalog).status, 'cancelled');
    const noShow = taskOf({ ...requested, queueState: 'NO_SHOW' }, catalog);
    assert.equal(noShow.businessStatus?.coding?.[0]?.code, 'NO_SHOW');
    assertValid(noShow);
    // Done, the queue is no longer its business.
    assert.equal(taskOf(finished.task, catalog).businessStatus, undefined);
  });

  test('focus, for, encounter, owner and times', () => {
    const task = taskOf(finished.task, catalog);
    assert.equal(task.id, '101');
    assert.equal(task.intent, 'order');
    assert.deepEqual(task.focus, { reference: `ServiceRequest/${P1}` });
    assert.deepEqual(task.for, { reference: 'Patient/00000018' });
    assert.deepEqual(task.encounter, { reference: 'Encounter/7' });
    assert.deepEqual(task.owner, { type: 'Organization', display: '영상의학과' });
    assert.equal(task.authoredOn, at(11));
    assert.equal(task.lastModified, at(31));
    assert.deepEqual(taskOf(rejected.task, catalog).statusReason, { text: 'Diagnosis rejected' });
  });
});

describe('DiagnosticReport and Observation', () => {
  test('the result of a performed examination, its attachment as a presented form', () => {
    const result = resultOf(finished.task, catalog);
    assert.ok(result);
    const { report, observation } = result;
    assert.equal(report.id, '101');
    assert.equal(observation.id, '101');
    assert.equal(report.status, 'final');
    assert.equal(observation.status, 'final');
    assert.deepEqual(report.code, serviceRequestOf(finished.request, catalog).code);
    assert.deepEqual(report.basedOn, [{ reference: `ServiceRequest/${P1}` }]);
    assert.deepEqual(report.encounter, { reference: 'Encounter/7' });
    assert.deepEqual(report.result, [{ reference: 'Observation/101' }]);
    assert.equal(report.conclusion, 'No active lung lesion');
    assert.equal(observation.valueString, 'No active lung lesion');
    assert.equal(report.effectiveDateTime, at(30));
    assert.equal(report.issued, at(30));
    assert.deepEqual(report.presentedForm, [
      { contentType: 'application/pdf', url: `/examinations/101/attachments/${'a'.repeat(32)}.pdf`, size: 2048, title: 'chest-report.pdf', creation: at(31) },
    ]);
    // R4's hash is SHA-1; the SHA-256 the service keeps is not put there.
    assert.equal('hash' in report.presentedForm![0]!, false);
  });

  test('none for an examination not performed; no presented form without attachments', () => {
    assert.equal(resultOf(rejected.task, catalog), undefined);
    assert.equal(resultOf({ ...finished.task, status: 'REQUESTED', result: undefined, performedAt: undefined }, catalog), undefined);
    assert.equal(resultOf({ ...finished.task, attachments: [] }, catalog)?.report.presentedForm, undefined);
  });
});

describe('Patient', () => {
  test('the patient number, the name as text, sex as gender', () => {
    const resource = patientOf(patient);
    assert.equal(resource.id, '00000018');
    assert.deepEqual(resource.identifier, [{ system: 'urn:medical:patient-number', value: '00000018' }]);
    assert.deepEqual(resource.name, [{ text: '김민지' }]);
    assert.equal(resource.gender, 'female');
    assert.equal(resource.birthDate, '1990-04-01');
    assert.equal(resource.active, true);
    assert.equal(patientOf({ ...patient, sex: undefined }).gender, undefined);
  });

  test('a merged duplicate is inactive and points to the patient kept', () => {
    const merged = patientOf({ ...patient, patientId: 'P-1001', mergedInto: '00000018' });
    assert.equal(merged.active, false);
    assert.deepEqual(merged.link, [{ other: { reference: 'Patient/00000018' }, type: 'replaced-by' }]);
  });
});

describe('searchset Bundle, OperationOutcome, CapabilityStatement', () => {
  test('matches then includes, each with its absolute fullUrl; self and next links', () => {
    const bundle = searchsetOf({
      base: 'https://hospital.example/fhir/R4/',
      self: 'https://hospital.example/fhir/R4/ServiceRequest?encounter=7',
      next: 'https://hospital.example/fhir/R4/ServiceRequest?encounter=7&_page=1',
      total: 2,
      matches: [serviceRequestOf(finished.request, catalog)],
      includes: [encounterOf(finished.encounter, catalog)],
    });
    assert.equal(bundle.type, 'searchset');
    assert.equal(bundle.total, 2);
    assert.deepEqual(bundle.link?.map((l) => l.relation), ['self', 'next']);
    assert.deepEqual(bundle.entry?.map((e) => [e.fullUrl, e.search?.mode]), [
      [`https://hospital.example/fhir/R4/ServiceRequest/${P1}`, 'match'],
      ['https://hospital.example/fhir/R4/Encounter/7', 'include'],
    ]);
  });

  test('the last page has no next link; an empty search has no entries', () => {
    const empty = searchsetOf({ base: 'https://h/fhir/R4', self: 'https://h/fhir/R4/Task?status=completed', total: 0, matches: [] });
    assert.deepEqual(empty.link, [{ relation: 'self', url: 'https://h/fhir/R4/Task?status=completed' }]);
    assert.equal(empty.entry, undefined);
    assertValid(empty);
  });

  test('an OperationOutcome names the issue type and what was wrong', () => {
    assert.deepEqual(operationOutcomeOf('invalid', '_count must be 1 to 100', '_count'), {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: '_count must be 1 to 100', expression: ['_count'] }],
    });
    assertValid(operationOutcomeOf('forbidden', 'system/Task.read is not granted'));
  });

  test('the CapabilityStatement: R4, JSON, read and search of each resource, Subscription create, read, search and delete', () => {
    const statement = capabilityStatementOf({ baseUrl: 'https://h/fhir/R4', date: '2026-12-07' });
    assert.equal(statement.fhirVersion, '4.0.1');
    assert.deepEqual(statement.format, ['json']);
    const byType = new Map(statement.rest[0]!.resource.map((r) => [r.type, r]));
    const params = (type: string) => byType.get(type)?.searchParam?.map((p) => p.name);
    assert.deepEqual(params('Encounter'), ['patient', 'status', 'date', '_count', '_page']);
    assert.ok(params('ServiceRequest')?.includes('encounter'));
    assert.deepEqual(params('Task')?.filter((p) => !p.startsWith('_')), ['status', 'focus', 'encounter']);
    assert.ok(params('DiagnosticReport')?.includes('encounter'));
    for (const type of ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation']) {
      assert.ok(byType.get(type)?.interaction.some((i) => i.code === 'read'), `${type} read`);
    }
    for (const type of ['Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport']) {
      assert.ok(byType.get(type)?.interaction.some((i) => i.code === 'search-type'), `${type} search`);
    }
    assert.deepEqual(byType.get('Subscription')?.interaction.map((i) => i.code), ['create', 'read', 'search-type', 'delete']);
  });
});
