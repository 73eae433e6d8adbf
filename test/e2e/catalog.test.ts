import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, test } from 'node:test';
import pg from 'pg';
import { defaultHospitalCatalog, type HospitalCatalog } from '@medical/contracts';
import {
  assertProblem,
  client,
  describeEachProfile,
  eventually,
  ok,
  prescribe,
  registerPatient,
  running,
  useTestSystem,
  waitForDiagnosis,
  waitForExamination,
  waitForQuiescence,
  type Diagnosis,
  type Reception,
} from './helpers.ts';

/**
 * The hospital's catalog (issue 20) through the gateway, on both profiles: departments and
 * examinations are codes the API checks (400 naming the field, with the code an old free text
 * meant), the console is told them, and an edit of the catalog file reaches every process while
 * the system runs; an edit that does not check is refused and the catalog in force stays.
 */

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-e2e-'));
after(() => fs.rmSync(directory, { recursive: true, force: true }));
const file = path.join(directory, 'catalog.json');
const write = (catalog: unknown) => {
  // As the kubelet updates a ConfigMap: the new file complete, then in place at once.
  fs.writeFileSync(`${file}.next`, typeof catalog === 'string' ? catalog : JSON.stringify(catalog, null, 2));
  fs.renameSync(`${file}.next`, file);
};
write(defaultHospitalCatalog);

const dermatology = { code: 'dermatology', name: { ko: '피부과', en: 'Dermatology' }, aliases: ['피부'] };
const biopsy = { code: 'SKIN_BIOPSY', name: { ko: '피부 생검', en: 'Skin biopsy' }, department: 'dermatology', expectedMinutes: 40 };
const extended: Required<HospitalCatalog> = {
  ...defaultHospitalCatalog,
  departments: [...defaultHospitalCatalog.departments, dermatology],
  examinations: [...defaultHospitalCatalog.examinations, biopsy],
};

/**
 * A statement on a service's own database, as the rows written before the catalog had codes are
 * made: the SQLite file of the embedded profile, or the service's schema of the production one.
 */
async function onDatabaseOf(service: 'reception' | 'diagnosis' | 'examination', statement: string, parameters: Array<string | number>): Promise<void> {
  if (running.profile === 'embedded') {
    const database = new DatabaseSync(path.join(running.dataDir, `${service}.sqlite`));
    try {
      database.prepare(statement.replaceAll(/\$[0-9]+/g, '?')).run(...parameters);
    } finally {
      database.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: running.database!.url });
  await client.connect();
  try {
    await client.query(`set search_path to ${service}`);
    await client.query(statement, parameters);
  } finally {
    await client.end();
  }
}

const repository = path.join(import.meta.dirname, '..', '..');

type ConsoleSettings = { departments: Array<{ code: string }>; examinations: Array<{ code: string; loinc?: string }>; catalogVersion: string };
const settings = async () => ok(await client.get<ConsoleSettings>('/console/config.json', { auth: 'none' }));

async function gauge(service: 'reception' | 'diagnosis' | 'gateway', name: string): Promise<number | undefined> {
  const text = await (await fetch(`${running.system.services[service].url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describeEachProfile((profile) => {
  useTestSystem('catalog', profile, { env: { HOSPITAL_CATALOG_FILE: file, CATALOG_RELOAD_INTERVAL_MS: '200' } });

  let patientId: string;
  let diagnosis: Diagnosis;

  test('unknown department and examination codes are refused naming the field; an old free text is told its code', async () => {
    write(defaultHospitalCatalog);
    patientId = await registerPatient(client, { name: 'Catalog Patient' });
    const refused = await client.post('/receptions', { patientId, department: 'dermatology' });
    assertProblem(refused, 400, { fields: ['department'] });
    assert.match(JSON.stringify(refused.body), /internal-medicine/, 'the refusal lists the departments');
    const reception = ok(await client.post<Reception>('/receptions', { patientId, department: 'cardiology' }), 201);
    diagnosis = await waitForDiagnosis(client.as('admin'), reception.id);
    const unknown = await client.post(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'SKIN_BIOPSY' });
    assertProblem(unknown, 400, { fields: ['examinationType'] });
    const freeText = await client.post(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'X-ray' });
    assertProblem(freeText, 400, { fields: ['examinationType'] });
    assert.match(JSON.stringify(freeText.body), /"X-ray\\" is CHEST_XRAY/, 'the code the free text meant');
    const prescribed = ok(await client.as('admin').post<Diagnosis>(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'ECG' }), 201);
    assert.equal(prescribed.prescriptions.at(-1)?.examinationType, 'ECG');
    const console = await settings();
    assert.ok(console.examinations.some((e) => e.code === 'CHEST_XRAY' && e.loinc === '36643-5'), 'the console is told the examinations');
    assert.ok(!console.departments.some((d) => d.code === 'dermatology'));
  });

  test('an edit of the catalog file reaches the services and the console without a restart', async () => {
    const before = (await settings()).catalogVersion;
    write(extended);
    await eventually(async () => {
      const console = await settings();
      assert.notEqual(console.catalogVersion, before);
      assert.ok(console.departments.some((d) => d.code === 'dermatology') && console.examinations.some((e) => e.code === 'SKIN_BIOPSY'));
    });
    const reception = await eventually(async () => ok(await client.post<Reception>('/receptions', { patientId, department: 'dermatology' }), 201));
    assert.equal(reception.department, 'dermatology');
    const prescribed = await eventually(async () => ok(await client.as('admin').post<Diagnosis>(`/diagnoses/${diagnosis.id}/prescriptions`, { examinationType: 'SKIN_BIOPSY' }), 201));
    assert.equal(prescribed.prescriptions.at(-1)?.examinationType, 'SKIN_BIOPSY');
  });

  test('an edit that does not check is refused: the catalog in force stays, and the gauge says so until the file is mended', async () => {
    write({ ...extended, examinations: [...extended.examinations, { ...biopsy, department: 'nowhere' }] });
    await eventually(async () => {
      assert.equal(await gauge('reception', 'medical_catalog_file_valid'), 0);
      assert.equal(await gauge('diagnosis', 'medical_catalog_file_valid'), 0);
      assert.equal(await gauge('gateway', 'medical_catalog_file_valid'), 0);
    });
    // Still in force: the last catalog that checked.
    ok(await client.post<Reception>('/receptions', { patientId, department: 'dermatology' }), 201);
    assert.ok((await settings()).examinations.some((e) => e.code === 'SKIN_BIOPSY'));
    write('{ "departments": [');
    await new Promise((resolve) => setTimeout(resolve, 500));
    ok(await client.post<Reception>('/receptions', { patientId, department: 'dermatology' }), 201);

    write(defaultHospitalCatalog);
    await eventually(async () => {
      assert.equal(await gauge('reception', 'medical_catalog_file_valid'), 1);
      assertProblem(await client.post('/receptions', { patientId, department: 'dermatology' }), 400, { fields: ['department'] });
    });
  });

  test('npm run catalog:migrate rewrites the free text of before the codes to the codes its aliases name, leaves what it does not know, and the rebuilt board follows', async () => {
    write(defaultHospitalCatalog);
    const reception = ok(await client.post<Reception>('/receptions', { patientId }), 201);
    const visit = await waitForDiagnosis(client, reception.id);
    const xray = await prescribe(client, visit.id, 'CHEST_XRAY');
    const other = await prescribe(client, visit.id, 'CBC');
    const xrayExamination = await waitForExamination(client, visit.id, xray.prescription.prescriptionId);
    await waitForExamination(client, visit.id, other.prescription.prescriptionId);
    await waitForQuiescence(running);
    // As the services kept them before the catalog: what the desk and the doctor typed.
    await onDatabaseOf('reception', 'update receptions set department = $1 where id = $2', ['내과', reception.id]);
    await onDatabaseOf('diagnosis', 'update prescriptions set examination_type = $1 where prescription_id = $2', ['x ray', xray.prescription.prescriptionId]);
    await onDatabaseOf('diagnosis', 'update prescriptions set examination_type = $1 where prescription_id = $2', ['Holter monitoring', other.prescription.prescriptionId]);
    await onDatabaseOf('examination', 'update examinations set examination_type = $1 where id = $2', ['CXR', xrayExamination.id]);

    const run = (...args: string[]) => spawnSync('npm', ['run', 'catalog:migrate', ...args], { cwd: repository, env: { ...process.env, ...running.env }, encoding: 'utf8', timeout: 120_000 });
    const dry = run('--', '--dry-run');
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /reception receptions\.department: "내과" → internal-medicine \(1 row, not written: --dry-run\)/);
    assert.equal((await client.get<Reception>(`/receptions/${reception.id}`)).body.department, '내과', 'a dry run writes nothing');

    const migrated = run();
    assert.equal(migrated.status, 0, migrated.stderr);
    assert.match(migrated.stdout, /reception receptions\.department: "내과" → internal-medicine \(1 row\)/);
    assert.match(migrated.stdout, /diagnosis prescriptions\.examination_type: "x ray" → CHEST_XRAY \(1 row\)/);
    assert.match(migrated.stdout, /examination examinations\.examination_type: "CXR" → CHEST_XRAY \(1 row\)/);
    assert.match(migrated.stdout, /diagnosis prescriptions\.examination_type: "Holter monitoring" is no code and no alias of the catalog: left \(1 row\)/);
    assert.equal((await client.get<Reception>(`/receptions/${reception.id}`)).body.department, 'internal-medicine');
    const prescriptions = (await client.get<Diagnosis>(`/diagnoses/${visit.id}`)).body.prescriptions;
    assert.deepEqual(prescriptions.map((p) => p.examinationType), ['CHEST_XRAY', 'Holter monitoring']);
    assert.equal((await client.get<{ examinationType: string }>(`/examinations/${xrayExamination.id}`)).body.examinationType, 'CHEST_XRAY');
    // Again: nothing more to rewrite.
    assert.doesNotMatch(run().stdout, /→/);
  });
});
