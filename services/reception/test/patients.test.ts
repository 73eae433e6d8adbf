import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deciderAssertions, T0, T1, T2 } from '@medical/platform/testing';
import { lookalikesOf, patientDecider, type Patient, type PatientCommand } from '../src/domain/patient.ts';
import { birthDateIn } from '../src/db/patients.ts';
import { loadRegistrySettings } from '../src/registry-settings.ts';

const register = (patientId: string, extra: Partial<Extract<PatientCommand, { type: 'RegisterPatient' }>> = {}): PatientCommand => ({
  type: 'RegisterPatient',
  patientId,
  name: '김민지',
  birthDate: '1987-04-12',
  sex: 'female',
  possibleDuplicates: [],
  now: T0,
  ...extra,
});

const { given, accepted, refused, fold } = deciderAssertions(patientDecider);

describe('the patient decider', () => {
  test('registers a patient, active, with the look-alikes it was registered beside', () => {
    const events = accepted(patientDecider.decide(register('00000026', { phone: '010-1234-5678', possibleDuplicates: ['00000018'] }), null));
    assert.deepEqual(fold(null, events), {
      patientId: '00000026',
      name: '김민지',
      birthDate: '1987-04-12',
      sex: 'female',
      phone: '010-1234-5678',
      possibleDuplicates: ['00000018'],
      status: 'ACTIVE',
      createdAt: T0,
      updatedAt: T0,
    });
    refused(patientDecider.decide(register('00000026'), given(register('00000026'))), 'conflict');
  });

  test('a merge makes the duplicate a pointer to the patient kept, who no longer lists it for review', () => {
    const kept = given(register('00000018'));
    const duplicate = given(register('00000026', { possibleDuplicates: ['00000018'] }));
    const merged = fold(duplicate, accepted(patientDecider.decide({ type: 'MergeInto', survivor: kept, now: T1 }, duplicate)));
    assert.equal(merged?.status, 'MERGED');
    assert.equal(merged?.mergedInto, '00000018');
    assert.deepEqual(merged?.possibleDuplicates, []);
    assert.equal(merged?.updatedAt, T1);

    const flagged = given(register('00000018', { possibleDuplicates: ['00000026', '00000034'] }));
    const reviewed = fold(flagged, accepted(patientDecider.decide({ type: 'AbsorbDuplicate', mergedPatientId: '00000026', now: T2 }, flagged)));
    assert.deepEqual(reviewed?.possibleDuplicates, ['00000034']);
    assert.deepEqual(accepted(patientDecider.decide({ type: 'AbsorbDuplicate', mergedPatientId: '00000026', now: T2 }, reviewed)), [], 'once');
  });

  test('carries over a patient id from before the registry, sex unknown, once', () => {
    const carried = fold(null, accepted(patientDecider.decide({ type: 'CarryOverPatient', patientId: 'P-1001', name: 'Kim Minji', now: T0 }, null)));
    assert.deepEqual(carried, { patientId: 'P-1001', name: 'Kim Minji', sex: 'unknown', possibleDuplicates: [], status: 'ACTIVE', createdAt: T0, updatedAt: T0 });
    refused(patientDecider.decide({ type: 'CarryOverPatient', patientId: 'P-1001', name: 'Kim Minji', now: T1 }, carried), 'conflict');
  });

  test('a correction replaces the fields sent, removes the phone for null, and is nothing when nothing changes', () => {
    const patient = given(register('00000018', { phone: '010-1234-5678' }));
    const corrected = fold(patient, accepted(patientDecider.decide({ type: 'CorrectPatient', changes: { name: '김민주', phone: null }, now: T1 }, patient)));
    assert.deepEqual([corrected?.name, corrected?.phone, corrected?.birthDate, corrected?.updatedAt], ['김민주', undefined, '1987-04-12', T1]);
    assert.ok(!('phone' in corrected!));
    assert.deepEqual(accepted(patientDecider.decide({ type: 'CorrectPatient', changes: { name: '김민주', sex: 'female', phone: null }, now: T2 }, corrected)), [], 'the same values again');
    const merged = fold(patient, accepted(patientDecider.decide({ type: 'MergeInto', survivor: given(register('00000026')), now: T1 }, patient)))!;
    refused(patientDecider.decide({ type: 'CorrectPatient', changes: { name: 'x' }, now: T2 }, merged), 'conflict');
  });

  test('refuses a merge into itself, of a patient merged already, or into a merged patient', () => {
    const kept = given(register('00000018'));
    refused(patientDecider.decide({ type: 'MergeInto', survivor: kept, now: T1 }, kept), 'invalid');
    const duplicate = given(register('00000026'));
    const merged = fold(duplicate, accepted(patientDecider.decide({ type: 'MergeInto', survivor: kept, now: T1 }, duplicate)))!;
    assert.match(refused(patientDecider.decide({ type: 'MergeInto', survivor: kept, now: T2 }, merged), 'conflict'), /already merged into 00000018/);
    const third = given(register('00000034'));
    assert.match(refused(patientDecider.decide({ type: 'MergeInto', survivor: merged, now: T2 }, third), 'conflict'), /merge into that patient/);
  });
});

describe('look-alikes', () => {
  const patient = (patientId: string, extra: Partial<Patient>): Patient => ({
    patientId,
    name: '김민지',
    birthDate: '1987-04-12',
    sex: 'female',
    status: 'ACTIVE',
    possibleDuplicates: [],
    createdAt: T0,
    updatedAt: T0,
    ...extra,
  });
  const registered = [
    patient('1', {}),
    patient('2', { name: '김 민지', birthDate: '1990-01-01', phone: '010-1111-2222' }),
    patient('3', { name: '이서연', birthDate: '1987-04-12', phone: '01099998888' }),
    patient('4', { name: '김민지', birthDate: '1955-05-05', phone: '010-9999-8888' }),
    patient('5', { status: 'MERGED', mergedInto: '1' }),
  ];
  const ids = (person: Parameters<typeof lookalikesOf>[0]) => lookalikesOf(person, registered).map((p) => p.patientId);

  test('the same name and birth date', () => assert.deepEqual(ids({ name: '김민지', birthDate: '1987-04-12' }), ['1']));
  test('the same phone and name, or phone and birth date; never a merged pointer', () => {
    assert.deepEqual(ids({ name: '김민지', birthDate: '2001-01-01', phone: '01011112222' }), ['2']);
    assert.deepEqual(ids({ name: '박지훈', birthDate: '1987-04-12', phone: '010 9999 8888' }), ['3']);
  });
  test('a shared name alone, a shared phone alone or a shared birth date alone is someone else', () => {
    assert.deepEqual(ids({ name: '김민지', birthDate: '2001-01-01' }), []);
    assert.deepEqual(ids({ name: '박지훈', birthDate: '2001-01-01', phone: '010-1111-2222' }), []);
    assert.deepEqual(ids({ name: '박지훈', birthDate: '1990-01-01' }), []);
  });
});

describe('a birth date as the desk types it', () => {
  test('with dashes, dots or slashes, or as eight digits', () => {
    for (const typed of ['1987-04-12', '1987.4.12', '1987/04/12', '19870412']) assert.equal(birthDateIn(typed), '1987-04-12', typed);
  });
  test('no date: impossible days, seven digits, anything else', () => {
    for (const typed of ['1987-02-30', '1987412', '00000018x', '김민지', '1987-13-01']) assert.equal(birthDateIn(typed), undefined, typed);
  });
});

describe('PATIENT_REGISTRY_CARRY_OVER', () => {
  test('off unless true; anything but true or false fails the start naming the variable', () => {
    assert.equal(loadRegistrySettings({}).carryOverUnregistered, false);
    assert.equal(loadRegistrySettings({ PATIENT_REGISTRY_CARRY_OVER: 'false' }).carryOverUnregistered, false);
    assert.equal(loadRegistrySettings({ PATIENT_REGISTRY_CARRY_OVER: 'true' }).carryOverUnregistered, true);
    assert.throws(() => loadRegistrySettings({ PATIENT_REGISTRY_CARRY_OVER: 'yes' }), /PATIENT_REGISTRY_CARRY_OVER must be true or false/);
  });
});
