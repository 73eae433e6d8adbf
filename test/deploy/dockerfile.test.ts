import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { SERVICE_NAMES, freePort, startServiceProcess } from '../../scripts/lib/processes.ts';

/**
 * No Docker engine runs here, so the Dockerfile is read rather than built: its stages, what each
 * copies and runs, and above all that a service image starts the service with the very command
 * the tests and `npm start` use (scripts/lib/processes.ts), so what CI tests is what runs.
 */
const root = path.resolve(import.meta.dirname, '..', '..');

// ---- a small Dockerfile reader ----------------------------------------------------------------

type Instruction = { keyword: string; args: string; line: number };
type Stage = { name: string; from: string; instructions: Instruction[] };

/** The stages of a Dockerfile, with continuation lines joined and comments dropped. */
function readDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return; // comments inside a continued instruction
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const match = /^(\S+)\s*(.*)$/s.exec(full)!;
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.replace(/\s+/g, ' ').trim(), line: startLine });
  });
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(' ');
      assert.ok(as === undefined || as.toUpperCase() === 'AS', `FROM line ${instruction.line}`);
      stages.push({ name: name ?? String(stages.length), from: image!, instructions: [] });
    } else if (stages.length === 0) {
      assert.equal(instruction.keyword, 'ARG', `only ARG may come before the first FROM (line ${instruction.line})`);
      const [key, value = ''] = instruction.args.split('=');
      globalArgs[key!] = value;
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

const dockerfile = readDockerfile(fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((s) => s.name === name);
  assert.ok(found, `a stage named ${name}`);
  return found;
};
const all = (s: Stage, keyword: string) => s.instructions.filter((i) => i.keyword === keyword);
const last = (s: Stage, keyword: string) => all(s, keyword).at(-1);
/** An exec-form (JSON array) argument list. */
const execForm = (instruction: Instruction | undefined): string[] => {
  assert.ok(instruction, 'instruction present');
  const parsed = JSON.parse(instruction.args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === 'string'), `${instruction.keyword} in exec form: ${instruction.args}`);
  return parsed as string[];
};
/** ENV's key=value pairs of a stage (the `ENV a=1 b=2` form). */
function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of all(s, 'ENV')) {
    for (const pair of instruction.args.match(/[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|\S*)/g) ?? []) {
      const [key, ...value] = pair.split('=');
      env[key!] = value.join('=').replace(/^"|"$/g, '');
    }
  }
  return env;
}
/** COPY instructions from the build context (not --from another stage): [sources, destination]. */
function contextCopies(s: Stage): Array<{ sources: string[]; destination: string; line: number }> {
  return all(s, 'COPY')
    .filter((i) => !i.args.includes('--from='))
    .map((i) => {
      const words = i.args.split(' ').filter((w) => !w.startsWith('--'));
      return { sources: words.slice(0, -1), destination: words.at(-1)!, line: i.line };
    });
}

const runtime = stage('runtime');
const dependencies = stage('dependencies');
const lockfile = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; hasInstallScript?: boolean }>;
};
const rootManifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[]; scripts: Record<string, string> };

/** The workspace folders the root package.json names (its globs expanded over the folders present). */
function workspaceFolders(): string[] {
  const folders: string[] = [];
  for (const pattern of rootManifest.workspaces) {
    assert.match(pattern, /^[\w-]+(\/\*)?$/, `workspace pattern ${pattern} of the form dir/* or dir`);
    if (!pattern.endsWith('/*')) {
      assert.ok(fs.existsSync(path.join(root, pattern, 'package.json')), `workspace ${pattern} has a package.json`);
      folders.push(pattern);
      continue;
    }
    const parent = pattern.slice(0, -2);
    for (const entry of fs.readdirSync(path.join(root, parent), { withFileTypes: true })) {
      if (entry.isDirectory() && fs.existsSync(path.join(root, parent, entry.name, 'package.json'))) folders.push(`${parent}/${entry.name}`);
    }
  }
  return folders.sort();
}

// ---- .dockerignore -----------------------------------------------------------------------------

const ignorePatterns = fs
  .readFileSync(path.join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

/** Whether .dockerignore keeps a context path out (a pattern matching it or one of its parent folders). */
function ignored(relative: string): boolean {
  assert.ok(ignorePatterns.every((p) => !p.startsWith('!')), 'no exceptions (!) in .dockerignore: this reader does not model them');
  const toRegExp = (pattern: string) =>
    new RegExp(
      `^${pattern
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .map((part) => (part === '**' ? '(?:.*)' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')}$`,
    );
  const patterns = ignorePatterns.map(toRegExp);
  const parts = relative.split('/');
  return parts.some((_, i) => patterns.some((p) => p.test(parts.slice(0, i + 1).join('/'))));
}

// ---- the tests ---------------------------------------------------------------------------------

describe('stages', () => {
  test('multi-stage on Node.js 24, the service image last (what a build without --target gets)', () => {
    assert.ok(dockerfile.stages.length >= 2);
    for (const s of dockerfile.stages) {
      const image = s.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => dockerfile.globalArgs[name] ?? '');
      assert.match(image, /^node:24(\.|-|$)/, `stage ${s.name} from ${s.from}`);
    }
    assert.equal(dockerfile.stages.at(-1)!.name, 'runtime');
    assert.deepEqual(dockerfile.stages.map((s) => s.name).sort(), ['console', 'dependencies', 'load', 'load-dependencies', 'runtime']);
  });

  test('every base image is pinned by the digest of its index (FROM name:tag@sha256:…), one Node.js image for all', () => {
    const names = dockerfile.stages.map((s) => s.name);
    const images = new Set<string>();
    for (const s of dockerfile.stages) {
      const image = s.from.replace(/^\$\{(\w+)\}$/, (_, name: string) => dockerfile.globalArgs[name] ?? '');
      if (names.includes(image)) continue; // FROM an earlier stage
      assert.match(image, /^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/, `stage ${s.name}: FROM ${s.from} (${image}) pinned by digest`);
      images.add(image);
    }
    assert.deepEqual([...images].map((i) => i.replace(/@.*/, '')), ['node:24-bookworm-slim'], 'every stage on the same pinned image');
  });

  test('the service image gets its node_modules from a production-only `npm ci`, without install scripts', () => {
    const install = all(dependencies, 'RUN').map((i) => i.args).join('\n');
    assert.match(install, /npm ci --omit=dev\b/);
    assert.match(install, /--ignore-scripts/);
    const copied = all(runtime, 'COPY').filter((i) => i.args.includes('node_modules'));
    assert.deepEqual(copied.map((i) => i.args), ['--from=dependencies /app/node_modules ./node_modules']);
    // --ignore-scripts is only right while no production dependency needs its install script.
    const withScripts = Object.entries(lockfile.packages).filter(([, p]) => p.hasInstallScript && !p.dev).map(([name]) => name);
    assert.deepEqual(withScripts, [], 'production dependencies with install scripts: drop --ignore-scripts');
  });

  test('every workspace manifest is copied before `npm ci`, and nothing else', () => {
    const workspaces = workspaceFolders();
    assert.ok(workspaces.length >= SERVICE_NAMES.length + 1);
    for (const name of SERVICE_NAMES) assert.ok(workspaces.includes(`services/${name}`), `services/${name} is a workspace`);
    const npmCi = dependencies.instructions.findIndex((i) => i.keyword === 'RUN' && i.args.includes('npm ci'));
    const copiedBefore = contextCopies({ ...dependencies, instructions: dependencies.instructions.slice(0, npmCi) });
    const manifests = copiedBefore.flatMap((c) => c.sources.filter((s) => s.endsWith('/package.json')).map((s) => ({ source: s, destination: c.destination })));
    for (const { source, destination } of manifests) assert.equal(destination, source.replace(/package\.json$/, ''), `${source} lands in its folder`);
    assert.deepEqual(manifests.map((m) => m.source.replace(/\/package\.json$/, '')).sort(), workspaces);
    assert.deepEqual(copiedBefore.find((c) => c.sources.includes('package-lock.json'))?.sources.sort(), ['package-lock.json', 'package.json']);
  });

  test('the service image: non-root, port 8080, a health check on /healthz, the sources but not the tests', () => {
    const user = last(runtime, 'USER')?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    const env = envOf(runtime);
    assert.equal(env.PORT, '8080');
    assert.equal(env.HOST, '0.0.0.0');
    assert.equal(env.NODE_ENV, 'production');
    assert.equal(last(runtime, 'EXPOSE')?.args, '8080');
    const healthcheck = last(runtime, 'HEALTHCHECK')?.args ?? '';
    assert.match(healthcheck, /^(--\S+ )*CMD /);
    const probe = execForm({ keyword: 'HEALTHCHECK', args: healthcheck.replace(/^(--\S+ )*CMD /, ''), line: 0 }).join(' ');
    assert.match(probe, /127\.0\.0\.1:'\s*\+\s*process\.env\.PORT\s*\+\s*'\/healthz/);
    const sources = contextCopies(runtime).flatMap((c) => c.sources).sort();
    assert.deepEqual(sources, ['package.json', 'packages', 'scripts/catalog-migrate.ts', 'scripts/lib/backups.ts', 'scripts/migrate.ts', 'scripts/purge.ts', 'scripts/restore.ts', 'services']);
    // Copied folders as a whole: their tests stay out by .dockerignore.
    for (const workspace of workspaceFolders()) {
      if (fs.existsSync(path.join(root, workspace, 'test'))) assert.ok(ignored(`${workspace}/test/x.test.ts`), `${workspace}/test is left out of the image`);
      assert.ok(!ignored(`${workspace}/src/main.ts`) && !ignored(`${workspace}/package.json`), `${workspace} sources are in the context`);
    }
  });

  test("the staff console is built in a stage of its own and lands where the gateway's default CONSOLE_DIR points", () => {
    const console = stage('console');
    const build = all(console, 'RUN').map((i) => i.args).join('\n');
    assert.match(build, /npm ci --workspace web\b.*--ignore-scripts/);
    assert.match(build, /npm run -w web build/);
    const copied = all(runtime, 'COPY').filter((i) => i.args.includes('--from=console')).map((i) => i.args);
    assert.deepEqual(copied, ['--from=console /app/web/dist ./web/dist']);
    // The gateway resolves web/dist against its own source file, which the image keeps at services/gateway/src.
    const gatewayConfig = fs.readFileSync(path.join(root, 'services', 'gateway', 'src', 'config.ts'), 'utf8');
    assert.match(gatewayConfig, /new URL\('\.\.\/\.\.\/\.\.\/web\/dist', import\.meta\.url\)/);
  });

  test('the service is chosen by the build argument SERVICE, and a wrong one fails the build', () => {
    assert.ok(all(runtime, 'ARG').some((i) => i.args === 'SERVICE'), 'ARG SERVICE without a default');
    assert.equal(envOf(runtime).SERVICE, '${SERVICE}');
    const check = all(runtime, 'RUN').map((i) => i.args).join('\n');
    assert.match(check, /-f "services\/\$\{SERVICE\}\/src\/main\.ts"/);
  });
});

describe('the start command is the one the tests use', () => {
  const workdir = last(runtime, 'WORKDIR')?.args;
  /** The service image's command for a SERVICE, as words, relative to WORKDIR. */
  function imageCommand(service: string): string[] {
    assert.equal(all(runtime, 'ENTRYPOINT').length, 0, 'no ENTRYPOINT in the service image: CMD is the whole command');
    const cmd = execForm(last(runtime, 'CMD'));
    // ["sh", "-c", "exec node …"]: the shell only substitutes SERVICE and gives way to node.
    assert.deepEqual(cmd.slice(0, 2), ['sh', '-c']);
    assert.equal(cmd.length, 3);
    const script = cmd[2]!;
    assert.match(script, /^exec /, 'exec: node replaces the shell and gets SIGTERM itself');
    return script
      .replace(/^exec /, '')
      .replace(/\$\{SERVICE\}|\$SERVICE\b/g, service)
      .split(/\s+/);
  }

  const fakeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dockerfile-entry-'));
  after(() => fs.rmSync(fakeRoot, { recursive: true, force: true }));

  for (const name of SERVICE_NAMES) {
    test(`${name}: the image runs what startServiceProcess runs`, async () => {
      // A stand-in entry point at every path startServiceProcess could pick: it reports how it was started.
      const entryFile = path.join(fakeRoot, 'services', name, 'src', 'main.ts');
      fs.mkdirSync(path.dirname(entryFile), { recursive: true });
      fs.writeFileSync(
        entryFile,
        'console.log(JSON.stringify({ argv: process.argv.slice(1), execArgv: process.execArgv, cwd: process.cwd(), port: process.env.PORT, host: process.env.HOST }));\n',
      );
      const handle = startServiceProcess({ name, port: await freePort(), cwd: fakeRoot, output: 'capture', env: { NODE_OPTIONS: '' } });
      const exit = await handle.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, handle.output());
      const started = JSON.parse(handle.output().trim().split('\n').at(-1)!) as { argv: string[]; execArgv: string[]; cwd: string; host: string };
      assert.equal(path.basename(process.execPath).replace(/\.exe$/, ''), 'node');
      const harness = ['node', ...started.execArgv, ...started.argv.map((a) => path.relative(started.cwd, a))];

      assert.deepEqual(imageCommand(name), harness);
      // Both resolve the entry against the repository root, which the image keeps at WORKDIR with services/ under it.
      assert.equal(started.cwd, fs.realpathSync(fakeRoot));
      assert.ok(workdir && path.posix.isAbsolute(workdir), `WORKDIR ${workdir}`);
      assert.ok(contextCopies(runtime).some((c) => c.sources.includes('services') && path.posix.join(workdir, c.destination) === path.posix.join(workdir, 'services')));
      // The harness sets PORT and HOST; so does the image (8080 on every address).
      assert.equal(typeof started.host, 'string');
      assert.deepEqual(Object.keys(envOf(runtime)).filter((k) => k === 'PORT' || k === 'HOST').sort(), ['HOST', 'PORT']);
    });
  }
});

/**
 * The `node scripts/…` programs of a container's command: the command itself, or each step of a
 * `sh -c` script made of steps joined by && (the migration Job: migrate, then catalog:migrate).
 */
function nodeScriptsOf(command: string[] | undefined): string[] {
  if (command?.[0] === 'node') return [command[1]!];
  if (command?.[0] !== 'sh' || command[1] !== '-c' || command.length !== 3) return [];
  return command[2]!.split('&&').map((step) => step.trim().replace(/^exec\s+/, '').split(/\s+/)).filter((words) => words[0] === 'node').map((words) => words[1]!);
}

/**
 * The programs the Kubernetes Jobs run from a service image (a container of a Job or CronJob
 * under deploy/k8s whose image is medical/<service> and whose command runs `node scripts/…`):
 * the migration Job (migrate, then catalog:migrate), the nightly purge, a restore's reconciliation.
 */
function scriptsRunByJobs(): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (/\.ya?ml$/.test(entry.name) && entry.name !== 'kustomization.yaml') {
        for (const document of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
          const object = document.toJS() as { kind?: string; spec?: { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } } | null;
          if (object?.kind !== 'Job' && object?.kind !== 'CronJob') continue;
          const pod = object.spec?.template?.spec ?? object.spec?.jobTemplate?.spec?.template?.spec;
          for (const c of pod?.containers ?? []) {
            if (!SERVICE_NAMES.some((name) => c.image === `medical/${name}`)) continue;
            for (const script of nodeScriptsOf(c.command)) runs.set(script, [...(runs.get(script) ?? []), path.relative(root, file)]);
          }
        }
      }
    }
  };
  visit(path.join(root, 'deploy', 'k8s'));
  return runs;
}
type PodSpec = { containers?: Array<{ image?: string; command?: string[] }> };

describe('the programs the Jobs run from a service image', () => {
  const runs = scriptsRunByJobs();

  test('the migration Job, the purge CronJob and the restore Job each run npm scripts of scripts/', () => {
    assert.deepEqual([...runs.keys()].sort(), ['scripts/catalog-migrate.ts', 'scripts/migrate.ts', 'scripts/purge.ts', 'scripts/restore.ts'], `the Jobs' programs: ${JSON.stringify(Object.fromEntries(runs))}`);
    // Each is what an `npm run <name>` runs (migrate, catalog:migrate, purge, restore), so the Job
    // does what the README's command does.
    const npmScripts = Object.entries(rootManifest.scripts);
    for (const script of runs.keys()) assert.ok(npmScripts.some(([, command]) => command === `node ${script}`), `an npm script runs node ${script}`);
    assert.deepEqual(runs.get('scripts/catalog-migrate.ts'), runs.get('scripts/migrate.ts'), 'catalog:migrate runs in the migration Job');
  });

  for (const script of runs.keys()) {
    test(`every service image holds ${script} where the Job runs it (${runs.get(script)!.join(', ')}), and everything it imports`, () => {
      // The Job runs `node <script>` from WORKDIR.
      const workdir = last(runtime, 'WORKDIR')!.args;
      const copies = contextCopies(runtime);
      const landing = (file: string) =>
        copies
          .filter((c) => c.sources.includes(file))
          .map((c) => path.posix.join(workdir, c.destination.endsWith('/') ? path.posix.join(c.destination, path.posix.basename(file)) : c.destination));
      const inImage = (file: string) => copies.some((c) => c.sources.some((s) => file === s || file.startsWith(`${s}/`)));
      const bare = new Set<string>();
      const seen = new Set<string>();
      // Its imports, followed through the files of scripts/ (packages/ and services/ are copied whole).
      const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        assert.ok(inImage(file), `${file} is in the image`);
        assert.ok(!ignored(file), `${file} is in the build context (.dockerignore)`);
        if (file.startsWith('scripts/')) assert.deepEqual(landing(file), [path.posix.join(workdir, file)], `${file} lands where its importers find it`);
        if (!file.startsWith('scripts/')) return;
        const source = fs.readFileSync(path.join(root, file), 'utf8');
        for (const [, specifier] of source.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)) {
          if (specifier!.startsWith('.')) visit(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier!)));
          else if (!specifier!.startsWith('node:')) bare.add(specifier!.startsWith('@') ? specifier!.split('/').slice(0, 2).join('/') : specifier!.split('/')[0]!);
        }
      };
      visit(script);
      // Its packages: the workspace's own (linked, their folders copied) or production dependencies
      // as locked, which the image's node_modules holds; never a dev dependency.
      for (const name of bare) {
        const locked = lockfile.packages[`node_modules/${name}`] as { dev?: boolean; link?: boolean; resolved?: string } | undefined;
        assert.ok(locked, `${script} imports ${name}, which the lockfile does not hold at the top level`);
        assert.notEqual(locked.dev, true, `${script} imports ${name}, a dev dependency that the image's \`npm ci --omit=dev\` leaves out`);
        if (locked.link) assert.ok(inImage(`${locked.resolved}/package.json`), `${name} (${locked.resolved}) is in the image`);
      }
    });
  }
});

describe('the load image', () => {
  const load = stage('load');

  test('runs scripts/load.ts as `npm run load` does, as a non-root user', () => {
    assert.equal(rootManifest.scripts.load, 'node scripts/load.ts');
    assert.deepEqual(execForm(last(load, 'ENTRYPOINT')), ['node', 'scripts/load.ts']);
    assert.equal(all(load, 'CMD').length, 0, 'the Job passes the arguments');
    const user = last(load, 'USER')?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
  });

  test('holds every module scripts/load.ts imports, and autocannon at the locked version', () => {
    const copied = new Set(contextCopies(load).flatMap((c) => c.sources));
    const bare = new Set<string>();
    const visit = (relative: string) => {
      assert.ok(copied.has(relative), `${relative} copied into the load image`);
      assert.ok(!ignored(relative), `${relative} is in the build context (.dockerignore)`);
      const source = fs.readFileSync(path.join(root, relative), 'utf8');
      for (const [, specifier] of source.matchAll(/^import (?!type )[^'"]*['"]([^'"]+)['"]/gm)) {
        if (specifier!.startsWith('.')) visit(path.posix.normalize(path.posix.join(path.posix.dirname(relative), specifier!)));
        else if (!specifier!.startsWith('node:')) bare.add(specifier!);
      }
    };
    visit('scripts/load.ts');
    assert.deepEqual([...bare], ['autocannon']);
    const install = all(stage('load-dependencies'), 'RUN').map((i) => i.args).join('\n');
    assert.match(install, /packages\['node_modules\/autocannon'\]\.version/);
    assert.match(install, /npm install [^\n]*"autocannon@\$\{version\}"/);
    assert.ok(lockfile.packages['node_modules/autocannon']?.version, 'autocannon is locked');
    assert.ok(all(load, 'COPY').some((i) => i.args === '--from=load-dependencies /app/node_modules ./node_modules'));
  });
});

describe('.dockerignore', () => {
  test('keeps node_modules, the data, the git history and local state out of the build context', () => {
    for (const p of ['node_modules/fastify/package.json', 'services/gateway/node_modules/x/index.js', 'data/events.sqlite', '.git/HEAD', '.infra/kafka/log', '.venv/bin/python']) {
      assert.ok(ignored(p), `${p} ignored`);
    }
  });

  test('keeps everything the images copy from the context', () => {
    for (const s of dockerfile.stages) {
      for (const { sources, line } of contextCopies(s)) for (const source of sources) assert.ok(!ignored(source), `${source} (line ${line}) is not ignored`);
    }
  });
});
