import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

/**
 * An older Node.js than package.json's engines.node stops every npm script a newcomer runs with
 * one sentence saying what to install (scripts/require-node.cjs, run by the pre<script> hooks),
 * instead of the cryptic ERR_UNKNOWN_FILE_EXTENSION ".ts" that Node before 22.12 gave for the
 * project's TypeScript (issue 17). The old Node is the machine's own /usr/bin/node when it is one:
 * CI's machine has Node 20 there, and runs this test with Node 24.
 */

const repository = path.join(import.meta.dirname, '..');
const preflight = path.join(repository, 'scripts', 'require-node.cjs');
const manifest = JSON.parse(fs.readFileSync(path.join(repository, 'package.json'), 'utf8'));

// package.json's engines.node, ">=22.12": the one place the required version is written.
const requiredMatch = /^>=\s*(\d+)\.(\d+)$/.exec(String(manifest.engines?.node).trim());
assert.ok(requiredMatch, `engines.node is ">=MAJOR.MINOR" (got ${JSON.stringify(manifest.engines?.node)})`);
const required = { major: Number(requiredMatch[1]), minor: Number(requiredMatch[2]) };
const requiredText = `${required.major}.${required.minor}`;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function satisfies(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > required.major || (major === required.major && minor >= required.minor);
}

const OLD_NODE = '/usr/bin/node';
const oldVersion = fs.existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
const noOldNode = !oldVersion
  ? `${OLD_NODE} is missing or does not run: no Node older than ${requiredText} to try`
  : satisfies(oldVersion)
    ? `${OLD_NODE} is Node.js ${oldVersion}, not older than ${requiredText}: no old Node to try`
    : false;

/** The parts the sentence must have: the version needed, the version found, and how to get Node 24. */
function assertTheSentence(output: string, found: string) {
  assert.match(output, new RegExp(`^This project needs Node\\.js ${escape(requiredText)} or newer \\(this is Node\\.js ${escape(found)}\\): install Node\\.js 24 LTS`, 'm'));
  assert.ok(output.includes('`npm install --prefix "$HOME/.node24" -g node@24`'), `says how to install Node 24:\n${output}`);
  assert.ok(output.includes('`export PATH="$HOME/.node24/bin:$PATH"`'), `says how to put it on PATH:\n${output}`);
  assert.ok(!output.includes('ERR_UNKNOWN_FILE_EXTENSION'), `stops before any .ts runs:\n${output}`);
}

/**
 * The environment of a child that should see only what a newcomer's shell has: no npm_* variables
 * of an `npm test` around this test (npm reads npm_config_* as its own settings), no NODE_OPTIONS
 * (its flags may be Node 24's, which an old Node refuses before running anything), and no test
 * runner context.
 */
function newcomerEnv(PATH: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS' && key !== 'NODE_TEST_CONTEXT') env[key] = value;
  }
  return { ...env, PATH };
}

test(`scripts/require-node.cjs on an old Node (${oldVersion || 'none'}) exits 1 with one sentence saying what to install`, { skip: noOldNode }, () => {
  const run = spawnSync(OLD_NODE, [preflight], { cwd: repository, env: newcomerEnv(process.env.PATH ?? ''), encoding: 'utf8' });
  assert.equal(run.status, 1, `status ${run.status}:\n${run.stderr}`);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line:\n${run.stderr}`);
  assert.ok(run.stderr.endsWith('.\n'), `a sentence:\n${run.stderr}`);
  assertTheSentence(run.stderr, oldVersion);
});

test(`npm start with an old Node (${oldVersion || 'none'}) as \`node\` stops with that sentence, not ERR_UNKNOWN_FILE_EXTENSION`, { skip: noOldNode, timeout: 120_000 }, async (t) => {
  // A PATH whose `node` is the old one, as on a newcomer's machine: npm's own `#!/usr/bin/env node`
  // and every `node` of the scripts then run on it.
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'old-node-'));
  t.after(() => fs.rmSync(bin, { recursive: true, force: true }));
  fs.symlinkSync(OLD_NODE, path.join(bin, 'node'));
  const env = newcomerEnv(`${bin}:/usr/bin:/bin`);

  // npm 11 runs on Node 20.17 and later; an older npm or Node may not run at all, and then there is
  // no `npm start` to try (scripts/require-node.cjs is still tried above).
  const npm = spawnSync('npm', ['--version'], { cwd: repository, env, encoding: 'utf8' });
  if (npm.error || npm.status !== 0) {
    t.skip(`no npm runs on Node.js ${oldVersion} from PATH=${env.PATH} (${npm.error?.message ?? npm.stderr.trim()})`);
    return;
  }

  // Its own process group: if the preflight failed to stop it, the services it started go too.
  const child = spawn('npm', ['start'], { cwd: repository, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  });
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0, `npm start failed:\n${output}`);
  assertTheSentence(output, oldVersion);
  assert.ok(!output.includes('starting '), `scripts/start.ts never ran:\n${output}`);
});

test('scripts/require-node.cjs on this Node (the one the tests run on) exits 0 and prints nothing', () => {
  const run = spawnSync(process.execPath, [preflight], { cwd: repository, encoding: 'utf8' });
  assert.deepEqual({ status: run.status, stdout: run.stdout, stderr: run.stderr }, { status: 0, stdout: '', stderr: '' });
});

test('every npm script that runs our TypeScript has the preflight as its pre<script> hook', () => {
  // infra:* and build:web run no TypeScript of ours on Node; every other script does, directly or through npm run.
  const ours = Object.entries(manifest.scripts as Record<string, string>).filter(([name, command]) => !name.startsWith('pre') && /\bnode\b.*\.ts\b|npm run -s build:web && node/.test(command));
  for (const name of ['start', 'test', 'service', 'rebuild', 'dead-letters', 'bench', 'load', 'migrate', 'backup', 'restore', 'purge', 'catalog:migrate']) {
    assert.ok(ours.some(([script]) => script === name), `npm run ${name} exists and runs our TypeScript`);
  }
  for (const [name] of ours) assert.equal(manifest.scripts[`pre${name}`], 'node scripts/require-node.cjs', `pre${name}`);
});

test('npm ci and npm install refuse an old Node too (engine-strict in the project .npmrc)', () => {
  const npmrc = fs.readFileSync(path.join(repository, '.npmrc'), 'utf8');
  assert.match(npmrc, /^engine-strict\s*=\s*true$/m);
});

test('scripts/require-node.cjs refuses an engines.node it does not understand, rather than guess', (t) => {
  // A copy of the script beside a package.json of its own, so the real one stays as it is.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'require-node-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'scripts'));
  fs.copyFileSync(preflight, path.join(root, 'scripts', 'require-node.cjs'));
  for (const engines of [{ node: '^22.12.0' }, { node: '>=22' }, {}]) {
    fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ engines }));
    const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'require-node.cjs')], { encoding: 'utf8' });
    assert.equal(run.status, 1, `engines ${JSON.stringify(engines)}: status ${run.status}`);
    assert.match(run.stderr, /understands only an engines\.node of the form ">=MAJOR\.MINOR"/);
  }
});
