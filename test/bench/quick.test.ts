import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPOSITORY_ROOT, SERVICE_NAMES } from '../../scripts/lib/processes.ts';

/**
 * The benchmark suite's smoke run (`npm run bench -- --quick`), as CI runs it: it must start both
 * profiles, measure every scenario (the cost per complete visit included: on the production
 * profile PostgreSQL's and the Kafka broker's counts too; the access log's cost of a read, each
 * read's record written) and write its results. Figures are never judged here: they are
 * measurements, recorded in bench/RESULTS.md from a full run. The results go to a directory of
 * the test's own, so the recorded ones are not overwritten.
 */

const production = Boolean(process.env.KAFKA_BROKERS?.trim() && process.env.DATABASE_URL?.trim());

function runQuickBench(outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPOSITORY_ROOT, 'bench', 'run.ts'), '--quick', '--out', outDir], {
      cwd: REPOSITORY_ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** The value at a dotted path of the results, e.g. 'gateway.gatewayRps'. */
function at(results: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | null)?.[key], results);
}

function assertMeasured(results: unknown, dotted: string): void {
  const value = at(results, dotted);
  assert.ok(typeof value === 'number' && Number.isFinite(value), `${dotted} should be a measured number, got ${JSON.stringify(value)}`);
}

test('npm run bench -- --quick measures every scenario and writes results.json and RESULTS.md', { timeout: 420_000 }, async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
  t.after(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const started = Date.now();
  const { code, output } = await runQuickBench(outDir);
  assert.equal(code, 0, `the quick bench failed:\n${output}`);
  t.diagnostic(`the quick bench took ${Math.round((Date.now() - started) / 1000)} s`);

  const results = JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'));
  assert.equal(results.mode, 'quick');
  // Every load run carries the admin's token: a missing or refused one would make every answer a 401.
  const refused: string[] = [];
  const walk = (value: unknown, at: string): void => {
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'non2xx' && inner !== 0) refused.push(`${at}.non2xx = ${JSON.stringify(inner)}`);
      walk(inner, at ? `${at}.${key}` : key);
    }
  };
  walk(results, '');
  assert.deepEqual(refused, [], 'every request of every load run answered 2xx');
  for (const key of [
    'machine.cores',
    'targets.gateway.minRatioToMinimalProxy',
    'targets.propagation.embedded.maxP99Ms',
    'targets.propagation.kafka.maxP99Ms',
    'targets.throughput.minVisitsPerSec.embedded',
    'targets.throughput.minVisitsPerSec.kafka',
    'targets.visitCost.maxCpuRatioProductionToEmbedded',
    'targets.visitCost.maxPgTransactionsPerVisit',
    'targets.visitCost.maxWalSyncsPerVisit',
    'targets.query.maxP99Ms',
    'targets.memory.maxIdleMb',
  ]) {
    assertMeasured(results, key);
  }
  assert.equal(typeof results.versions.node, 'string');
  assert.equal(typeof results.versions.nginx, 'string');
  for (const key of ['gatewayRps', 'nginxRps', 'directRps', 'nodeCeilingRps', 'ratio', 'ratioToNodeCeiling', 'gatewayP99Ms', 'nginxP99Ms']) assertMeasured(results, `gateway.${key}`);
  for (const key of ['p50Ms', 'p99Ms', 'fromPostStartP50Ms', 'fromPostStartP99Ms', 'missing', 'postErrors', 'cpu.machineBusyPct']) assertMeasured(results, `propagation.embedded.${key}`);
  for (const key of ['visitsPerSec', 'cpu.machineCpuMs', 'cpu.benchCpuMs', 'cpu.othersCpuMs', 'cpu.processCpuMs.reception', 'machineCpuMsPerVisit', 'systemCpuMsPerVisit']) {
    assertMeasured(results, `throughput.embedded.stages.0.${key}`);
  }
  // The cost per complete visit: every visit completed, and its CPU measured.
  assert.ok(results.visitCost.embedded.visits > 0, 'visits of the cost scenario (embedded) completed');
  assert.equal(results.visitCost.embedded.failures, 0, 'no visit of the cost scenario (embedded) failed');
  for (const key of ['machineCpuMs', 'systemCpuMs', 'servicesCpuMs', 'benchCpuMs', 'unattributedCpuMs']) assertMeasured(results, `visitCost.embedded.perVisit.${key}`);
  for (const key of ['listP99Ms', 'byPatientP99Ms', 'byIdP99Ms']) assertMeasured(results, `query.embedded.${key}`);
  // The access log's cost of a read: every read answered has its record committed before the answer left.
  for (const profile of production ? ['embedded', 'production'] : ['embedded']) {
    for (const run of ['at20', 'at1']) {
      for (const key of ['reads', 'records', 'commits', 'recordsPerCommit', 'meanWaitMs', 'meanDurationMs', 'waitShare', 'readsPerSec', 'p99Ms']) assertMeasured(results, `access.${profile}.${run}.${key}`);
      const figures = results.access[profile][run];
      assert.ok(figures.reads > 0 && figures.records >= figures.reads, `access.${profile}.${run}: ${figures.records} records for ${figures.reads} reads`);
    }
  }
  for (const service of SERVICE_NAMES) {
    assertMeasured(results, `memory.${service}.idleMb`);
    assertMeasured(results, `memory.${service}.loadMb`);
  }
  if (production) {
    for (const key of [
      'propagation.kafka.p50Ms',
      'propagation.kafka.p99Ms',
      'propagation.kafka.fromPostStartP99Ms',
      'propagation.kafka.missing',
      'throughput.kafka.stages.0.visitsPerSec',
      'throughput.kafka.stages.0.cpu.machineCpuMs',
      'limits.kafkaRoundTripP99Ms',
      'limits.pgCommitsPerSec',
      'visitCostComparison.systemCpuRatio',
      'visitCostComparison.machineCpuRatio',
    ]) {
      assertMeasured(results, key);
    }
    assert.ok(results.visitCost.kafka.visits > 0, 'visits of the cost scenario (production) completed');
    assert.deepEqual(results.visitCost.kafka.notMeasured, [], 'every per-visit figure of the production profile could be measured');
    for (const key of ['machineCpuMs', 'systemCpuMs', 'kafkaCpuMs', 'postgresCpuMs', 'pgTransactions', 'walSyncs', 'statements', 'kafkaRequests']) {
      assertMeasured(results, `visitCost.kafka.perVisit.${key}`);
    }
    assert.ok(results.visitCost.kafka.topStatements.length > 0, 'the statements a visit calls most are listed');
    assert.ok(Object.keys(results.visitCost.kafka.kafkaRequestsPerVisitByType).length > 0, 'the Kafka requests of a visit are listed by type');
    assert.equal(results.memory.profile, 'production');
  } else {
    t.diagnostic('KAFKA_BROKERS and DATABASE_URL are not set: the production profile was not benchmarked');
  }

  const markdown = fs.readFileSync(path.join(outDir, 'RESULTS.md'), 'utf8');
  assert.match(markdown, /<!-- figures:start[^>]*-->\nFigures of the last quick run/);
  assert.match(markdown, /\| 1 gateway \| gateway \/ minimal Node.js proxy throughput \| [0-9.]+/);
  assert.match(markdown, /\| 6 cost per complete visit \(embedded\) \| the system's CPU-ms per visit; the machine's \| [0-9.]+/);
  if (production) assert.match(markdown, /\| 6 cost per complete visit \(kafka\) \| PostgreSQL transactions per visit \| [0-9.-]+/);
  assert.match(markdown, /\| 7 access log \(embedded\) \| share of a read's time spent on its access record at 20 \/ 1 connections \| [0-9.]+ \/ [0-9.]+/);
  if (production) assert.match(markdown, /\| 7 access log \(production\) \| records per commit at 20 \/ 1 connections \| [0-9.]+ \/ [0-9.]+/);
});
