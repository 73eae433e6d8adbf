import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIssuedPatientNumber, POSSIBLE_DUPLICATE_PROBLEM, type AccessLogEntry } from '@medical/contracts';
import {
  assertProblem,
  Client,
  client,
  running,
  describeEachProfile,
  eventually,
  listAll,
  ok,
  query,
  registerVisit,
  useTestSystem,
  visitWithPendingExamination,
  waitForDiagnosis,
  waitForExamination,
  waitForReception,
  waitForVisit,
  type Diagnosis,
  type Examination,
  type Page,
  type Patient,
  type Reception,
  type Visit,
} from './helpers.ts';

/**
 * The patient registry (issue 20) through the gateway, on both profiles: the desk registers a
 * patient once (the system issues the number), finds them again by number, name, initial
 * consonants, birth date or phone, is warned of a look-alike, and registers visits for them; a
 * second registration of one person is merged into the first, and every visit of it, with its
 * diagnosis, examinations and place on the board, becomes the kept patient's.
 */

/** A name no other test registers, so a search finds this file's patients only. */
const RUN = Date.now().toString(36).slice(-4);
const SURNAME = '탁';
const names = { minji: `${SURNAME}민지${RUN}`, seoyeon: `${SURNAME}서연${RUN}` };

async function register(body: Record<string, unknown>): Promise<Patient> {
  const reply = await client.post<Patient>('/patients', body);
  const patient = ok(reply, 201, `register ${JSON.stringify(body)}`);
  assert.equal(reply.headers.get('location'), `/patients/${patient.patientId}`);
  return patient;
}

async function search(parameters: Record<string, string | number | undefined>): Promise<string[]> {
  return ok(await client.get<Page<Patient>>(`/patients${query(parameters)}`)).items.map((patient) => patient.patientId);
}

describeEachProfile((profile) => {
  // Two reception replicas on the production profile: the desks of one hospital, one registry.
  useTestSystem('patients', profile, profile === 'production' ? { replicas: { reception: 2 } } : {});

  let minji: Patient;
  let seoyeon: Patient;

  test('registering: the system issues a checked number; nothing more than the desk needs is kept', async () => {
    minji = await register({ name: names.minji, birthDate: '1987-04-12', sex: 'female', phone: '010-2468-1357' });
    seoyeon = await register({ name: names.seoyeon, birthDate: '1991-11-30', sex: 'female' });
    for (const patient of [minji, seoyeon]) assert.ok(isIssuedPatientNumber(patient.patientId), `an issued number: ${patient.patientId}`);
    assert.notEqual(minji.patientId, seoyeon.patientId);
    assert.deepEqual(
      { ...minji, createdAt: undefined, updatedAt: undefined },
      { patientId: minji.patientId, name: names.minji, birthDate: '1987-04-12', sex: 'female', phone: '010-2468-1357', status: 'ACTIVE', possibleDuplicates: [], createdAt: undefined, updatedAt: undefined },
    );
    assert.deepEqual(ok(await client.get<Patient>(`/patients/${minji.patientId}`)), minji);
    assertProblem(await client.get('/patients/99999997'), 404);
    // The birth date is required, the sex one of four codes, the phone a phone: each refused by name.
    assertProblem(await client.post('/patients', { name: 'X', sex: 'female' }), 400, { fields: ['birthDate'] });
    assertProblem(await client.post('/patients', { name: 'X', birthDate: '1990-01-01', sex: 'F' }), 400, { fields: ['sex'] });
    assertProblem(await client.post('/patients', { name: 'X', birthDate: '1990-01-01', sex: 'male', phone: 'call me' }), 400, { fields: ['phone'] });
    assertProblem(await client.post('/patients', { name: 'X', birthDate: '1990-01-01', sex: 'male', residentNumber: '870412-2345678' }), 400, { fields: ['residentNumber'] });
  });

  test('searching: by number (whole or its first digits), name, initial consonants, birth date, a phone\'s last digits', async () => {
    assert.deepEqual(await search({ q: minji.patientId }), [minji.patientId]);
    assert.ok((await search({ q: minji.patientId.slice(0, 6), size: 100 })).includes(minji.patientId), 'the first digits');
    assert.deepEqual(await search({ q: names.minji }), [minji.patientId]);
    assert.deepEqual(await search({ q: `${SURNAME}민` , size: 100 }).then((found) => found.filter((id) => id === minji.patientId || id === seoyeon.patientId)), [minji.patientId]);
    // ㅌㅁㅈ: 탁민지's initials; the run's suffix keeps other runs' patients out of the answer.
    const initials = `ㅌㅁㅈ${RUN}`;
    assert.deepEqual(await search({ q: initials }), [minji.patientId]);
    assert.deepEqual(await search({ q: `ㅌㅅ` , size: 100 }).then((found) => found.filter((id) => id === minji.patientId || id === seoyeon.patientId)), [seoyeon.patientId]);
    assert.deepEqual(await search({ q: names.minji, birthDate: '1987-04-12' }), [minji.patientId]);
    assert.deepEqual(await search({ q: names.minji, birthDate: '1987-04-13' }), []);
    for (const typed of ['1991-11-30', '1991.11.30', '19911130']) {
      assert.ok((await search({ q: typed, size: 100 })).includes(seoyeon.patientId), `birth date typed ${typed}`);
    }
    assert.ok((await search({ q: '1357', size: 100 })).includes(minji.patientId), "the phone's last four digits");
    assertProblem(await client.get(`/patients${query({ q: 'x'.repeat(101) })}`), 400, { fields: ['q'] });
  });

  test('a look-alike is refused with the candidates; declared someone else, registered and flagged for review', async () => {
    const again = { name: ` ${names.minji.slice(0, 1)} ${names.minji.slice(1)}`, birthDate: '1987-04-12', sex: 'female' };
    const refused = await client.post('/patients', again);
    assertProblem(refused, 409);
    assert.equal(refused.body.type, POSSIBLE_DUPLICATE_PROBLEM);
    assert.deepEqual(refused.body.candidates.map((c: Patient) => c.patientId), [minji.patientId]);
    // The same phone and birth date, another spelling of the name: a look-alike too.
    assertProblem(await client.post('/patients', { name: 'Tak Minji', birthDate: '1987-04-12', sex: 'female', phone: '01024681357' }), 409);

    const twin = await register({ ...again, notADuplicate: true });
    assert.deepEqual(twin.possibleDuplicates, [minji.patientId]);
    assert.ok((await search({ possibleDuplicate: 'true', size: 100 })).includes(twin.patientId), 'listed for review');
    assert.ok(!(await search({ possibleDuplicate: 'true', size: 100 })).includes(minji.patientId));
  });

  test('the same person registered at the same moment at several desks (replicas): one registration, the others told of it', async () => {
    const person = { name: `${SURNAME}동시${RUN}`, birthDate: '1975-05-05', sex: 'female' };
    const desks = [client, ...running.system.replicasOf('reception').map((replica) => new Client(replica.url))];
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => desks[i % desks.length]!.post<Patient>('/patients', person)));
    const statuses = replies.map((reply) => reply.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409], JSON.stringify(replies.map((r) => r.body)));
    const registered = replies.find((reply) => reply.status === 201)!.body;
    for (const refused of replies.filter((reply) => reply.status === 409)) {
      assert.deepEqual((refused.body as unknown as { candidates: Patient[] }).candidates.map((c) => c.patientId), [registered.patientId]);
    }
  });

  test('a visit is registered for a patient of the registry, with its name and birth date; the number travels with it', async () => {
    const reception = ok(await client.post<Reception>('/receptions', { patientId: minji.patientId, department: 'internal-medicine' }), 201);
    assert.equal(reception.patientId, minji.patientId);
    assert.equal(reception.patientName, names.minji);
    assert.equal(reception.birthDate, '1987-04-12');
    const diagnosis = await waitForDiagnosis(client, reception.id);
    assert.equal(diagnosis.patientId, minji.patientId);
    assert.equal((await waitForVisit(client, reception.id, () => true)).patientId, minji.patientId);
  });

  test("a merge keeps every visit and its history: the duplicate's visits, diagnoses, examinations and board rows become the kept patient's", async () => {
    const kept = await register({ name: `${SURNAME}하늘${RUN}`, birthDate: '1979-02-03', sex: 'male', phone: '010-1111-0000' });
    const duplicate = await register({ name: `${SURNAME}하늘${RUN}`, birthDate: '1979-02-03', sex: 'male', notADuplicate: true });
    assert.deepEqual(duplicate.possibleDuplicates, [kept.patientId]);
    const keptVisit = await registerVisit(client, { patientId: kept.patientId });
    // The duplicate's visits: one finished, one in examination.
    const finished = await registerVisit(client, { patientId: duplicate.patientId, symptom: 'finished visit' });
    const finishedDiagnosis = await waitForDiagnosis(client, finished.id);
    ok(await client.post(`/diagnoses/${finishedDiagnosis.id}/complete`, { opinion: 'well' }));
    await waitForReception(client, finished.id, (r) => r.status === 'DIAGNOSIS_COMPLETED');
    ok(await client.post(`/receptions/${finished.id}/confirm`, {}));
    const open = await visitWithPendingExamination(client, 'CHEST_XRAY', { patientId: duplicate.patientId });
    await waitForVisit(client, open.reception.id, (v) => v.stage === 'IN_EXAMINATION');

    // The desk may not merge: joining two people's records is the medical records office's.
    assertProblem(await client.as('receptionist').post(`/patients/${kept.patientId}/merge`, { mergedPatientId: duplicate.patientId }), 403);
    const admin = client.as('admin');
    assertProblem(await admin.post(`/patients/${kept.patientId}/merge`, { mergedPatientId: kept.patientId }), 400, { fields: ['mergedPatientId'] });
    assertProblem(await admin.post(`/patients/${kept.patientId}/merge`, { mergedPatientId: 'P-nobody' }), 400, { fields: ['mergedPatientId'] });
    assertProblem(await admin.post('/patients/P-nobody/merge', { mergedPatientId: duplicate.patientId }), 404);
    const merged = ok(await admin.post<Patient>(`/patients/${kept.patientId}/merge`, { mergedPatientId: duplicate.patientId }));
    assert.equal(merged.patientId, kept.patientId);
    assert.deepEqual(merged.possibleDuplicates, [], 'reviewed');
    const pointer = ok(await client.get<Patient>(`/patients/${duplicate.patientId}`));
    assert.equal(pointer.status, 'MERGED');
    assert.equal(pointer.mergedInto, kept.patientId);
    assertProblem(await admin.post(`/patients/${kept.patientId}/merge`, { mergedPatientId: duplicate.patientId }), 409);
    // The old number still finds the record, which names the patient kept; a name search shows only the kept one.
    assert.deepEqual(await search({ q: duplicate.patientId }), [duplicate.patientId]);
    assert.deepEqual(await search({ q: `${SURNAME}하늘${RUN}` }), [kept.patientId]);

    // Every visit is the kept patient's, in every service and on the board; none was lost.
    const visits = await listAll<Reception>(client, '/receptions', { patientId: kept.patientId });
    assert.deepEqual(visits.map((r) => r.id).sort((a, b) => a - b), [keptVisit.id, finished.id, open.reception.id].sort((a, b) => a - b));
    assert.deepEqual(await listAll<Reception>(client, '/receptions', { patientId: duplicate.patientId }), []);
    const finishedNow = visits.find((r) => r.id === finished.id)!;
    assert.equal(finishedNow.status, 'CONFIRMED', 'a finished visit stays as it ended');
    for (const reception of visits) {
      await eventually(async () => {
        const diagnosis = ok(await client.get<Page<Diagnosis>>(`/diagnoses${query({ receptionId: reception.id })}`)).items[0]!;
        assert.equal(diagnosis.patientId, kept.patientId, `diagnosis of reception ${reception.id}`);
        const view = ok(await client.get<Visit>(`/patientManagements/${reception.id}`));
        assert.equal(view.patientId, kept.patientId, `the board's row of reception ${reception.id}`);
      });
    }
    const board = await listAll<Visit>(client, '/patientManagements', { patientId: kept.patientId });
    assert.equal(board.length, 3);
    const timeline = ok(await client.get<{ steps: Array<{ event: string; description: string }> }>(`/patientManagements/${open.reception.id}/timeline`));
    assert.ok(timeline.steps.some((step) => step.event === 'ReceptionPatientMerged' && step.description.includes(duplicate.patientId)), 'the merge is on the timeline');

    // The open visit goes on for the kept patient: its examination is performed, the doctor completes.
    const examination: Examination = await waitForExamination(client, open.diagnosis.id, open.examination.prescriptionId);
    ok(await client.post(`/examinations/${examination.id}/perform`, { result: 'clear' }));
    await waitForDiagnosis(client, open.reception.id, (d) => d.status === 'EXAMINATION_DONE');
    const prescribed = ok(await client.post<Diagnosis>(`/diagnoses/${open.diagnosis.id}/prescriptions`, { examinationType: 'CBC' }), 201);
    const cbc = prescribed.prescriptions.find((p) => p.examinationType === 'CBC')!;
    const cbcExamination = await waitForExamination(client, open.diagnosis.id, cbc.prescriptionId);
    assert.equal(cbcExamination.receptionId, open.reception.id);

    // A new visit under the old number is refused with the number to use instead.
    const refused = await client.post('/receptions', { patientId: duplicate.patientId });
    assertProblem(refused, 400, { fields: ['patientId'] });
    assert.match(JSON.stringify(refused.body), new RegExp(`merged into patient ${kept.patientId}`));
  });

  test('a correction: the registry and the next visits take it, the visits already registered keep what they were registered with', async () => {
    const patient = await register({ name: `${SURNAME}바름${RUN}`, birthDate: '1960-06-01', sex: 'unknown', phone: '010-5555-0000' });
    const earlier = await registerVisit(client, { patientId: patient.patientId });
    const corrected = ok(await client.patch<Patient>(`/patients/${patient.patientId}`, { name: `${SURNAME}바른${RUN}`, sex: 'male', phone: null }));
    assert.deepEqual([corrected.name, corrected.sex, corrected.phone, corrected.birthDate], [`${SURNAME}바른${RUN}`, 'male', undefined, '1960-06-01']);
    assert.deepEqual(await search({ q: `ㅌㅂㄹ${RUN}` }), [patient.patientId], 'found by the new initials');
    const later = await registerVisit(client, { patientId: patient.patientId });
    assert.equal(later.patientName, `${SURNAME}바른${RUN}`);
    assert.equal(ok(await client.get<Reception>(`/receptions/${earlier.id}`)).patientName, `${SURNAME}바름${RUN}`);
    assertProblem(await client.patch(`/patients/${patient.patientId}`, {}), 400);
    assertProblem(await client.patch(`/patients/${patient.patientId}`, { sex: 'F' }), 400, { fields: ['sex'] });
    assertProblem(await client.patch('/patients/99999997', { sex: 'male' }), 404);
  });

  test("the registry's reads are in the patient's access log", async () => {
    await search({ q: minji.patientId });
    const auditor = client.as('auditor');
    await eventually(async () => {
      const log = ok(await auditor.get<Page<AccessLogEntry>>(`/patients/${minji.patientId}/access-log${query({ size: 100 })}`));
      const routes = log.items.map((entry) => `${entry.method} ${entry.route}`);
      for (const route of ['POST /patients', 'GET /patients', 'GET /patients/:patientId']) assert.ok(routes.includes(route), `${route} in ${routes.join(', ')}`);
    });
  });
});
