import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { test } from 'node:test';
import pg from 'pg';
import { databaseRoles } from '../../scripts/lib/processes.ts';
import { auditChainRow } from '@medical/platform/operations';
import { chainHash } from '@medical/platform';
import { describeEachProfile, eventually, inServiceDatabase, ok, useTestSystem, waitForQuiescence, type TestSystem } from './helpers.ts';
import { driveVisit } from './support/visits.ts';

/**
 * The tamper evidence of the audit trails and the access log (issue 18): `npm run audit:verify`,
 * run exactly as the README says beside a running system, finds every chain intact; then rows
 * are changed, removed and inserted behind the services' backs, as the tables' owner (the
 * append-only triggers set aside first, as only an owner can), and it exits 1 naming, in each
 * chain, the first row that does not fit.
 */
const run = promisify(execFile);
let running: TestSystem;

type Verified = { code: number; lines: string[] };

async function auditVerify(): Promise<Verified> {
  try {
    const { stdout } = await run('npm', ['run', 'audit:verify'], { env: { ...process.env, ...running.env } });
    return { code: 0, lines: chainLines(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, lines: chainLines(`${failed.stdout ?? ''}${failed.stderr ?? ''}`) };
  }
}

/** The tool's lines about chains (npm's own lines left out). */
const chainLines = (output: string) => output.split('\n').filter((line) => /^(reception|diagnosis|examination|patient-management) /.test(line));

const line = (verified: Verified, chain: string) => verified.lines.find((l) => l.startsWith(`${chain}:`)) ?? `(no line for ${chain})`;

/** The access log's lines: one per chain, a chain per partition of its topic. */
const accessLogLines = (verified: Verified) => verified.lines.filter((l) => /^patient-management access_log chain \d+: /.test(l));

/** Runs a statement as the database's owner: the test's own connection, as `inServiceDatabase` makes it. */
const asOwner = (service: Parameters<typeof inServiceDatabase>[1], statement: string, parameters: Array<string | number> = []) => inServiceDatabase(running, service, statement, parameters);

/** Sets the append-only triggers of `table` aside, as an owner can. */
async function setTriggersAside(service: Parameters<typeof inServiceDatabase>[1], table: string): Promise<void> {
  if (running.profile === 'production') {
    await asOwner(service, `alter table ${table} disable trigger user`);
    return;
  }
  for (const operation of ['update', 'delete']) await asOwner(service, `drop trigger if exists ${table}_no_${operation}`);
}

describeEachProfile((profile) => {
  useTestSystem('audit-chain', profile, (system) => {
    running = system;
  });

  test('npm run audit:verify: every chain intact after a visit, with its rows and its head', async () => {
    const { client } = running;
    for (let visit = 0; visit < 2; visit++) {
      const driven = await driveVisit(client, { label: `audit-chain-${visit}`, examinations: ['perform'], outcome: 'complete' });
      ok(await client.as('manager').get(`/patientManagements/${driven.receptionId}`));
    }
    await waitForQuiescence(running);
    // The access records of those requests are kept within moments.
    await eventually(async () => {
      const [counted] = (await asOwner('patient-management', 'select count(*) as n from access_log')) as Array<{ n: number | string }>;
      assert.ok(Number(counted!.n) > 20);
    });

    const verified = await auditVerify();
    assert.equal(verified.code, 0, verified.lines.join('\n'));
    for (const chain of ['reception audit_log', 'diagnosis audit_log', 'examination audit_log', 'patient-management audit_log']) {
      assert.match(line(verified, chain), /: intact, \d+ rows/, chain);
    }
    for (const chain of ['reception audit_log', 'diagnosis audit_log', 'examination audit_log']) {
      assert.match(line(verified, chain), /: intact, [1-9]\d* rows; head row \d+ [0-9a-f]{64}$/, chain);
    }
    const accessLog = accessLogLines(verified);
    assert.ok(accessLog.length >= 1, verified.lines.join('\n'));
    for (const chain of accessLog) assert.match(chain, /: intact, [1-9]\d* rows; head row \d+ [0-9a-f]{64}$/);
  });

  test('npm run migrate, as the README says, beside a running system: nothing left to run, and the grants again', async () => {
    const { stdout } = await run('npm', ['run', 'migrate'], { env: { ...process.env, ...running.env } });
    for (const service of ['reception', 'diagnosis', 'examination', 'patient-management']) {
      const said = stdout.split('\n').find((l) => l.startsWith(`${service}: migrated`));
      assert.ok(said, `${service}: ${stdout}`);
      if (profile === 'production') assert.match(said, /may read and write it, and only add to its append-only tables/);
    }
  });

  test("the services' own database role reads and adds to the trail and the access log, and can do nothing else to them", { skip: profile === 'production' ? false : 'PostgreSQL roles: the production profile' }, async () => {
    const roles = databaseRoles({ ...process.env, DATABASE_URL: running.database!.url });
    assert.ok(roles, 'DATABASE_SERVICE_ROLE is set where the production profile runs (infra/up.sh)');
    const client = new pg.Client({ connectionString: roles.serviceUrl });
    await client.connect();
    try {
      const refused = async (statement: string, reason: RegExp) => {
        await assert.rejects(client.query(statement), (error: Error) => (assert.match(error.message, reason, statement), true), statement);
      };
      for (const [schema, tables] of [['reception', ['audit_log']], ['patient_management', ['access_log', 'access_log_subjects']]] as const) {
        for (const table of tables) {
          const qualified = `"${schema}".${table}`;
          assert.ok((await client.query(`select count(*) from ${qualified}`)).rows.length === 1, `${qualified}: read`);
          await refused(`update ${qualified} set ${table === 'access_log_subjects' ? 'patient_id' : 'actor_subject'} = 'x'`, /permission denied/);
          await refused(`delete from ${qualified}`, /permission denied/);
          await refused(`truncate ${qualified}`, /permission denied/);
          await refused(`alter table ${qualified} disable trigger all`, /must be owner/);
          await refused(`drop table ${qualified}`, /must be owner/);
        }
        await refused(`create table "${schema}".forged (id int)`, /permission denied/);
      }
      await refused(`drop trigger audit_log_append_only on "reception".audit_log`, /must be owner/);
      // What the service does do, it may: read and write its own tables.
      assert.ok((await client.query('select count(*) from "reception".receptions')).rows.length === 1);
    } finally {
      await client.end();
    }
  });

  test('rows changed, removed and inserted as the owner: audit:verify exits 1 naming the first in each chain', async () => {
    const ids = async (service: Parameters<typeof inServiceDatabase>[1]) =>
      ((await asOwner(service, 'select id from audit_log order by id')) as Array<{ id: number | string }>).map((row) => Number(row.id));

    // reception: a row's actor changed.
    const [changed] = await ids('reception');
    await setTriggersAside('reception', 'audit_log');
    await asOwner('reception', `update audit_log set actor_subject = 'someone-else' where id = ${changed}`);

    // diagnosis: a row taken out of the middle.
    const diagnosisIds = await ids('diagnosis');
    const removed = diagnosisIds[1]!;
    await setTriggersAside('diagnosis', 'audit_log');
    await asOwner('diagnosis', `delete from audit_log where id = ${removed}`);

    // examination: a row put in between, linked to the row before it and hashed as the service would.
    const examinationIds = await ids('examination');
    const [first, second] = examinationIds;
    await setTriggersAside('examination', 'audit_log');
    await asOwner('examination', `update audit_log set id = id + 1000 where id > ${first}`);
    const [before] = (await asOwner('examination', `select * from audit_log where id = ${first}`)) as Array<Parameters<typeof auditChainRow>[0]>;
    const forged = { ...before!, id: first! + 1, command: 'examination.perform', actor_subject: 'forger', request_id: 'forged' };
    const forgedHash = chainHash(before!.hash!, auditChainRow(forged).fields);
    await asOwner(
      'examination',
      `insert into audit_log (id, recorded_at, command, aggregate_id, reception_id, actor_subject, actor_name, actor_role, request_id, client_request_id, causation_id, break_glass_reason, event_ids, prev_hash, hash)
       select ${first! + 1}, recorded_at, 'examination.perform', aggregate_id, reception_id, 'forger', actor_name, actor_role, 'forged', client_request_id, causation_id, break_glass_reason, event_ids, hash, '${forgedHash}' from audit_log where id = ${first}`,
    );

    // patient-management: an access record's patient taken off it (its subjects are part of its hash).
    await setTriggersAside('patient-management', 'access_log_subjects');
    const [subject] = (await asOwner('patient-management', 'select seq from access_log_subjects order by id limit 1')) as Array<{ seq: number | string }>;
    await asOwner('patient-management', `delete from access_log_subjects where seq = ${Number(subject!.seq)}`);

    const verified = await auditVerify();
    assert.equal(verified.code, 1, verified.lines.join('\n'));
    assert.match(line(verified, 'reception audit_log'), new RegExp(`BROKEN at row ${changed} \\(changed\\)`));
    assert.match(line(verified, 'diagnosis audit_log'), new RegExp(`BROKEN at row ${diagnosisIds[2]} \\(removed\\)`));
    assert.match(line(verified, 'examination audit_log'), new RegExp(`BROKEN at row ${first! + 1} \\(inserted\\)`), `the forged row sits before row ${second! + 1000}`);
    assert.ok(
      accessLogLines(verified).some((chain) => chain.includes(`BROKEN at row ${Number(subject!.seq)} (changed)`)),
      `the access log's chain of record ${subject!.seq} names it: ${accessLogLines(verified).join('; ')}`,
    );
    assert.match(line(verified, 'patient-management audit_log'), /intact/, 'the chain nobody touched');
  });
});
