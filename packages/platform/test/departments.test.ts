import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultHospitalDepartments } from '@medical/contracts';
import { ConfigError } from '../src/lib/env.ts';
import { loadDepartments } from '../src/reference/departments.ts';
import { tempDir } from './helpers.ts';

describe("the hospital's departments", () => {
  test("without HOSPITAL_DEPARTMENTS_FILE: the contracts' default list and its default department", () => {
    const catalog = loadDepartments({});
    assert.deepEqual(catalog.departments, defaultHospitalDepartments.departments);
    assert.equal(catalog.defaultDepartment, 'internal-medicine');
    assert.ok(catalog.has('surgery'));
    assert.ok(!catalog.has('dermatology'));
  });

  test("HOSPITAL_DEPARTMENTS_FILE: the hospital's own list", (t) => {
    const file = path.join(tempDir(t, 'departments-'), 'departments.json');
    const own = { departments: [{ code: 'dermatology', name: { ko: '피부과', en: 'Dermatology' } }, { code: 'ent', name: { ko: '이비인후과', en: 'Ear, nose and throat' } }], defaultDepartment: 'ent' };
    fs.writeFileSync(file, JSON.stringify(own));
    const catalog = loadDepartments({ HOSPITAL_DEPARTMENTS_FILE: file });
    assert.deepEqual(catalog.departments, own.departments);
    assert.equal(catalog.defaultDepartment, 'ent');
    assert.ok(catalog.has('dermatology') && !catalog.has('surgery'));
  });

  test('a bad file fails the start with a ConfigError naming the variable and the mistake', (t) => {
    const dir = tempDir(t, 'departments-bad-');
    const write = (name: string, content: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      return file;
    };
    const department = (code: string) => ({ code, name: { ko: '과', en: 'Department' } });
    const bad: Array<[string, RegExp]> = [
      [path.join(dir, 'missing.json'), /not a readable JSON file/],
      [write('not-json.json', '{ departments'), /not a readable JSON file/],
      [write('empty.json', JSON.stringify({ departments: [], defaultDepartment: 'x' })), /\/departments/],
      [write('bad-code.json', JSON.stringify({ departments: [department('Internal Medicine')], defaultDepartment: 'x' })), /\/departments\/0\/code/],
      [write('twice.json', JSON.stringify({ departments: [department('surgery'), department('surgery')], defaultDepartment: 'surgery' })), /surgery is listed twice/],
      [write('default.json', JSON.stringify({ departments: [department('surgery')], defaultDepartment: 'pediatrics' })), /defaultDepartment pediatrics is not one of its departments/],
      [write('extra.json', JSON.stringify({ departments: [department('surgery')], defaultDepartment: 'surgery', colour: 'blue' })), /HOSPITAL_DEPARTMENTS_FILE/],
    ];
    for (const [file, reason] of bad) {
      assert.throws(
        () => loadDepartments({ HOSPITAL_DEPARTMENTS_FILE: file }),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith('HOSPITAL_DEPARTMENTS_FILE') && reason.test(error.message),
        file,
      );
    }
  });
});
