import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accessActionOf, accessResourcesOf, matchPermission } from '../src/index.ts';

test("the ids a request named: by its route's kind of record, its parameters and its query's filters", () => {
  assert.deepEqual(accessResourcesOf('/receptions/:id', { id: '7' }, {}), { receptionId: 7 });
  assert.deepEqual(accessResourcesOf('/diagnoses/:id/complete', { id: '8' }, {}), { diagnosisId: 8 });
  assert.deepEqual(accessResourcesOf('/examinations/:id/attachments/:name', { id: 9, name: 'a.pdf' }, {}), { examinationId: 9 });
  assert.deepEqual(accessResourcesOf('/patientManagements/:receptionId/timeline', { receptionId: '3' }, {}), { receptionId: 3 });
  assert.deepEqual(accessResourcesOf('/patients/:patientId/access-log', { patientId: 'P-1' }, { page: '2' }), { patientId: 'P-1' });
  assert.deepEqual(accessResourcesOf('/diagnoses', {}, { receptionId: '4', patientId: 'P-2', status: 'REGISTERED' }), { receptionId: 4, patientId: 'P-2' });
});

test('a value that names no record names nothing: not an id, too large, blank, or holding a control character', () => {
  assert.deepEqual(accessResourcesOf('/receptions/:id', { id: 'abc' }, {}), {});
  assert.deepEqual(accessResourcesOf('/receptions/:id', { id: '0' }, {}), {});
  assert.deepEqual(accessResourcesOf('/receptions/:id', { id: '2147483648' }, {}), {});
  assert.deepEqual(accessResourcesOf('/receptions', {}, { patientId: '   ' }), {});
  assert.deepEqual(accessResourcesOf('/receptions', {}, { patientId: 'P\u0000-1' }), {});
  assert.deepEqual(accessResourcesOf('/receptions', {}, { patientId: 'x'.repeat(65) }), {});
});

test('the action: refused for 401 and 403, else a read for GET and HEAD, a command otherwise', () => {
  assert.equal(accessActionOf('GET', 200), 'read');
  assert.equal(accessActionOf('HEAD', 404), 'read');
  assert.equal(accessActionOf('POST', 201), 'command');
  assert.equal(accessActionOf('POST', 409), 'command');
  assert.equal(accessActionOf('GET', 401), 'refused');
  assert.equal(accessActionOf('POST', 403), 'refused');
});

test("the permission table's entry of a concrete path, with its route's parameters", () => {
  assert.deepEqual(matchPermission('GET', '/patients/P%2D1/access-log?page=1'), {
    permission: { method: 'GET', path: '/patients/:patientId/access-log', roles: ['auditor', 'admin'] },
    params: { patientId: 'P-1' },
  });
  assert.deepEqual(matchPermission('POST', '/diagnoses/5/complete')?.params, { id: '5' });
  assert.equal(matchPermission('GET', '/nowhere'), undefined);
});
