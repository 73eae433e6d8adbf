import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCatalog } from '@medical/platform';
import { accessTo, departmentOf, departmentOfVisit, listedDepartments, scopeOf, type DepartmentList } from '../src/domain/departments.ts';
import { breakGlassReasonOf } from '../src/http/requester.ts';

/** The department rules (pure) and the Break-Glass header's reading. The routes: routes.test.ts. */

const list: DepartmentList = loadCatalog({});

describe('the department of a visit and of a diagnosis', () => {
  test('a code of the list is kept; free text the catalog names is its code; none or an unknown one is the default department', () => {
    assert.equal(departmentOfVisit('surgery', list), 'surgery');
    assert.equal(departmentOfVisit(' surgery ', list), 'surgery');
    for (const [named, code] of [['외과', 'surgery'], ['Orthopedics', 'orthopedics'], ['SURGERY', 'surgery'], ['소아청소년과', 'pediatrics']] as const) {
      assert.equal(departmentOfVisit(named, list), code, named);
    }
    for (const named of [undefined, '', '   ', 'neurosurgery', '피부과']) {
      assert.equal(departmentOfVisit(named, list), 'internal-medicine', String(named));
    }
  });

  test('a diagnosis without a department (registered before departments) is the default department\'s', () => {
    assert.equal(departmentOf({ department: 'surgery' }, 'internal-medicine'), 'surgery');
    assert.equal(departmentOf({}, 'internal-medicine'), 'internal-medicine');
  });
});

describe('who may open which diagnosis', () => {
  const internist = scopeOf('doctor', ['internal-medicine']);
  const nobody = scopeOf('doctor', []);

  test('admin is hospital-wide; a doctor is scoped to the token\'s departments, none to none', () => {
    assert.deepEqual(scopeOf('admin', []), { kind: 'hospital' });
    assert.deepEqual(internist, { kind: 'departments', departments: ['internal-medicine'] });
    // Fail closed: any other role, or none, is scoped like a doctor.
    assert.deepEqual(scopeOf(undefined, []), { kind: 'departments', departments: [] });
    assert.deepEqual(scopeOf('receptionist', ['surgery']), { kind: 'departments', departments: ['surgery'] });
  });

  test('within scope: allowed, and a reason given there is not breaking the glass', () => {
    assert.deepEqual(accessTo('internal-medicine', internist, undefined), { kind: 'within' });
    assert.deepEqual(accessTo('internal-medicine', internist, 'emergency'), { kind: 'within' });
    assert.deepEqual(accessTo('surgery', scopeOf('admin', []), 'emergency'), { kind: 'within' });
  });

  test('outside scope: refused without a reason, breaking the glass with one; a doctor without departments only so', () => {
    assert.deepEqual(accessTo('surgery', internist, undefined), { kind: 'refused' });
    assert.deepEqual(accessTo('surgery', internist, 'collapsed'), { kind: 'break-glass', reason: 'collapsed' });
    assert.deepEqual(accessTo('internal-medicine', nobody, undefined), { kind: 'refused' });
    assert.deepEqual(accessTo('internal-medicine', nobody, 'collapsed'), { kind: 'break-glass', reason: 'collapsed' });
  });

  test('a list shows every department to admin, the scope\'s to a doctor, with the diagnoses of no department when the default is among them', () => {
    assert.deepEqual(listedDepartments(scopeOf('admin', []), 'internal-medicine'), { kind: 'every' });
    assert.deepEqual(listedDepartments(internist, 'internal-medicine'), { kind: 'only', departments: ['internal-medicine'], withoutDepartment: true });
    assert.deepEqual(listedDepartments(scopeOf('doctor', ['surgery']), 'internal-medicine'), { kind: 'only', departments: ['surgery'], withoutDepartment: false });
    assert.deepEqual(listedDepartments(nobody, 'internal-medicine'), { kind: 'only', departments: [], withoutDepartment: false });
  });
});

describe('the Break-Glass header', () => {
  const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const badRequest = (value: string) => assert.throws(() => breakGlassReasonOf(value), (error: { status?: number; extensions?: { errors?: Array<{ field: string; in?: string }> } }) => {
    assert.equal(error.status, 400);
    assert.deepEqual(error.extensions?.errors?.map((e) => [e.field, e.in]), [['Break-Glass', 'header']]);
    return true;
  }, JSON.stringify(value));

  test('absent: no reason; ASCII text: itself, trimmed', () => {
    assert.equal(breakGlassReasonOf(undefined), undefined);
    assert.equal(breakGlassReasonOf('  Unconscious, ER bay 3  '), 'Unconscious, ER bay 3');
    assert.equal(breakGlassReasonOf('CPR 100% in progress'), 'CPR 100% in progress');
  });

  test('UTF-8 as sent (Node reads it as Latin-1), or percent-encoded as a browser sends it', () => {
    assert.equal(breakGlassReasonOf(latin1('응급실 의식 저하')), '응급실 의식 저하');
    assert.equal(breakGlassReasonOf(encodeURIComponent('응급실 의식 저하 (CPR 100%)')), '응급실 의식 저하 (CPR 100%)');
    assert.equal(breakGlassReasonOf('50%ZZ off'), '50%ZZ off');
  });

  test('exactly 500 characters pass, counted as characters, not bytes or UTF-16 units', () => {
    assert.equal(breakGlassReasonOf('x'.repeat(500)), 'x'.repeat(500));
    assert.equal(breakGlassReasonOf(encodeURIComponent('😀'.repeat(500))), '😀'.repeat(500));
    assert.equal(breakGlassReasonOf(latin1('가'.repeat(500))), '가'.repeat(500));
  });

  test('a 400 naming the header: empty, blank, too long, control characters, nothing visible, bytes that are not UTF-8', () => {
    for (const value of ['', '   ', 'x'.repeat(501), encodeURIComponent('😀'.repeat(501)), 'a\u0007b', encodeURIComponent('line\nbreak'), '%00', '\u00ff\u00fe', '%E2%80%8B']) {
      badRequest(value);
    }
  });
});
