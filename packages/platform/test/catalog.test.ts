import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { defaultExaminations, defaultHospitalCatalog, defaultHospitalDepartments } from '@medical/contracts';
import { ConfigError } from '../src/lib/env.ts';
import pino from 'pino';
import { Registry } from 'prom-client';
import { loadCatalog, loadCatalog as loadDepartments } from '../src/reference/catalog.ts';
import { watchCatalog } from '../src/reference/catalog-watch.ts';
import { departmentInCatalog, examinationInCatalog } from '../src/reference/catalog-checks.ts';
import { HttpProblem } from '../src/http/problem.ts';
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

describe("the hospital's examinations, and the catalog's changes", () => {
  const write = (dir: string, name: string, content: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const ecg = defaultExaminations.find((e) => e.code === 'ECG')!;

  test('the default examinations; a file without examinations gets them, keeping only the departments it has', (t) => {
    const catalog = loadCatalog({});
    assert.deepEqual(catalog.examinations, defaultExaminations);
    assert.equal(catalog.examination('CHEST_XRAY')?.loinc, '36643-5');
    const file = write(tempDir(t, 'catalog-'), 'departments.json', { departments: [{ code: 'ent', name: { ko: '이비인후과', en: 'ENT' } }], defaultDepartment: 'ent' });
    const own = loadCatalog({ HOSPITAL_CATALOG_FILE: file });
    assert.equal(own.examinations.length, defaultExaminations.length);
    assert.equal(own.examination('ECG')?.department, undefined, 'cardiology is not one of its departments');
  });

  test('old free text is read as the code it meant: by code, name in either language, or alias, whatever the case and spacing', () => {
    const catalog = loadCatalog({});
    for (const text of ['X-ray', 'x ray', 'CXR', '흉부 X선', 'Chest X-ray, 2 views', 'chest_xray']) assert.equal(catalog.examinationCodeOf(text), 'CHEST_XRAY', text);
    assert.equal(catalog.examinationCodeOf('Holter'), undefined);
    assert.equal(catalog.departmentCodeOf('내과'), 'internal-medicine');
    assert.equal(catalog.departmentCodeOf('Internal medicine'), 'internal-medicine');
  });

  test('refusals name the field, list the codes, and tell an old free text its code', () => {
    const catalog = loadCatalog({});
    assert.equal(departmentInCatalog(catalog, undefined), 'internal-medicine');
    assert.equal(examinationInCatalog(catalog, 'CBC'), 'CBC');
    const problemOf = (work: () => unknown) => {
      try {
        work();
      } catch (error) {
        assert.ok(error instanceof HttpProblem);
        return error.toJSON();
      }
      assert.fail('not refused');
    };
    assert.match(JSON.stringify(problemOf(() => departmentInCatalog(catalog, 'dermatology'))), /"field":"department".*surgery/);
    assert.match(JSON.stringify(problemOf(() => examinationInCatalog(catalog, 'X-ray'))), /"field":"examinationType".*\\"X-ray\\" is CHEST_XRAY/);
    assert.match(JSON.stringify(problemOf(() => examinationInCatalog(catalog, 'Holter'))), /CBC, HBA1C/);
  });

  test('a file whose examinations do not check fails the start naming the mistake', (t) => {
    const dir = tempDir(t, 'catalog-bad-');
    const base = { departments: defaultHospitalDepartments.departments, defaultDepartment: 'internal-medicine' };
    const bad: Array<[unknown, RegExp]> = [
      [{ ...base, examinations: [ecg, ecg] }, /the examination ECG is listed twice/],
      [{ ...base, examinations: [{ ...ecg, department: 'dermatology' }] }, /names the department dermatology, which is not one of its departments/],
      [{ ...base, examinations: [{ ...ecg, code: 'ecg' }] }, /\/examinations\/0\/code/],
      [{ ...base, examinations: [{ ...ecg, loinc: '11524' }] }, /\/examinations\/0\/loinc/],
      [{ ...base, examinations: [ecg, { ...defaultExaminations[0]!, aliases: ['EKG'] }] }, /"EKG" names two examinations, ECG and CBC/],
    ];
    for (const [content, reason] of bad) {
      assert.throws(
        () => loadCatalog({ HOSPITAL_CATALOG_FILE: write(dir, 'catalog.json', content) }),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith('HOSPITAL_CATALOG_FILE') && reason.test(error.message),
        String(reason),
      );
    }
    assert.throws(() => loadCatalog({ HOSPITAL_CATALOG_FILE: write(dir, 'a.json', base), HOSPITAL_DEPARTMENTS_FILE: write(dir, 'b.json', base) }), /both set/);
  });

  test('reload: a changed file that checks is in force at once; one that does not is refused and the catalog stays', (t) => {
    const dir = tempDir(t, 'catalog-reload-');
    const file = write(dir, 'catalog.json', defaultHospitalCatalog);
    const catalog = loadCatalog({ HOSPITAL_CATALOG_FILE: file });
    const first = catalog.version;
    assert.deepEqual(catalog.reload(), { outcome: 'unchanged' });
    write(dir, 'catalog.json', { ...defaultHospitalCatalog, departments: [...defaultHospitalCatalog.departments, { code: 'dermatology', name: { ko: '피부과', en: 'Dermatology' } }] });
    assert.deepEqual(catalog.reload(), { outcome: 'applied' });
    assert.ok(catalog.has('dermatology'));
    assert.notEqual(catalog.version, first);
    write(dir, 'catalog.json', '{ "departments": ');
    const refused = catalog.reload();
    assert.equal(refused.outcome, 'refused');
    assert.ok(catalog.has('dermatology'), 'the catalog in force stays');
  });

  test('watchCatalog: applies changes, and shows a refused one on its gauge until the file checks again', async (t) => {
    const dir = tempDir(t, 'catalog-watch-');
    const file = write(dir, 'catalog.json', defaultHospitalCatalog);
    const catalog = loadCatalog({ HOSPITAL_CATALOG_FILE: file });
    const registry = new Registry();
    const stop = watchCatalog(catalog, { intervalMs: 20, logger: pino({ level: 'silent' }), registry });
    t.after(stop);
    const valid = async () => (await registry.getSingleMetric('medical_catalog_file_valid')!.get()).values[0]!.value;
    const until = async (check: () => Promise<boolean> | boolean) => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.ok(await check());
    };
    write(dir, 'catalog.json', { ...defaultHospitalCatalog, defaultDepartment: 'surgery' });
    await until(() => catalog.defaultDepartment === 'surgery');
    write(dir, 'catalog.json', { ...defaultHospitalCatalog, defaultDepartment: 'dermatology' });
    await until(async () => (await valid()) === 0);
    assert.equal(catalog.defaultDepartment, 'surgery');
    write(dir, 'catalog.json', { ...defaultHospitalCatalog, defaultDepartment: 'surgery' });
    await until(async () => (await valid()) === 1);
    const reloads = (await registry.getSingleMetric('medical_catalog_reloads_total')!.get()).values;
    assert.deepEqual(Object.fromEntries(reloads.map((v) => [v.labels.outcome, v.value])), { applied: 1, refused: 1 });
  });
});
