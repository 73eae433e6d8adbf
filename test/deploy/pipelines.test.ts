import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Job } from 'kubernetes-models/batch/v1';
import { parse, parseAllDocuments } from 'yaml';
import { SERVICE_NAMES } from '../../scripts/lib/processes.ts';

/**
 * The CI/CD pipelines (azure-pipelines.yml, .github/workflows/ci.yml) cannot run here, so they
 * are read: both parse, both test with .ci/run (so they test what CI tests), build every service
 * of SERVICE_NAMES as its own image with SERVICE=<name> from a stage the Dockerfile has, push it,
 * and deploy deploy/k8s/overlays/azure with those images, in the order test → build → deploy.
 * Where kustomize is at hand (.ci/run builds it), the deploy steps' `kustomize edit set image`
 * is replayed on a copy of deploy/k8s and rendered, and the load Job is rendered and validated.
 * The supply chain: both audit the dependencies (`npm audit --audit-level=high`, `npm audit
 * signatures`) and publish the SBOM before anything is built, pin every action, task and image,
 * and `npm run sbom` (which .ci/run runs too) is run here exactly as the README documents it.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const read = (relative: string) => fs.readFileSync(path.join(root, relative), 'utf8');
/** A container image pinned by the digest of its index: name:tag@sha256:<64 hex digits>. */
const pinnedImage = /^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/;
/** Where `npm run sbom` writes the CycloneDX SBOM (git-ignored), and what the pipelines publish. */
const sbomPath = 'test-artifacts/sbom.cdx.json';
/** The lines of a script that run something: comments and blank lines left out. */
const commandLines = (script: string) => script.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
const services = [...SERVICE_NAMES].sort();
const dockerStages = [...read('Dockerfile').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((m) => m[1]!);

/**
 * The deploy script's handling of the migration Job (deploy/k8s/base/migrate): the Job of the
 * release before deleted before the apply (a Job's template cannot change), this release's waited
 * for after it and before the services' rollouts.
 */
function assertMigrationJobStep(script: string): void {
  const lines = commandLines(script);
  const at = (pattern: RegExp, what: string) => {
    const index = lines.findIndex((l) => pattern.test(l));
    assert.ok(index >= 0, `${what}:\n${script}`);
    return index;
  };
  const remove = at(/^kubectl -n medical delete job medical-migrate --ignore-not-found\b/, 'the last release\'s migration Job deleted');
  const apply = at(/^kubectl apply -k deploy\/k8s\/overlays\/azure$/, 'kubectl apply -k');
  const wait = at(/^kubectl -n medical wait --for=condition=complete job\/medical-migrate --timeout=\w+/, 'the migration Job waited for');
  const rollout = at(/kubectl -n medical rollout status/, 'the rollouts waited for');
  assert.ok(remove < apply && apply < wait && wait < rollout, `delete, apply, wait for the Job, then the rollouts:\n${script}`);
}

/** The services a bash `for service in …; do` loop of a script goes over, one list per loop. */
function loops(script: string): string[][] {
  return [...script.matchAll(/for service in ([^;\n]+); do/g)].map((m) => m[1]!.trim().split(/\s+/).sort());
}

// ---- Azure DevOps ------------------------------------------------------------------------------

type AzureStep = { task?: string; script?: string; displayName?: string; condition?: string; inputs?: Record<string, string> } & Record<string, unknown>;
type AzureJob = {
  job?: string;
  deployment?: string;
  pool?: { vmImage?: string };
  strategy?: { matrix?: Record<string, Record<string, string>>; runOnce?: { deploy?: { steps: AzureStep[] } } };
  steps?: AzureStep[];
  environment?: string;
};
type AzureStage = { stage: string; dependsOn?: string | string[]; condition?: string; jobs: AzureJob[] };
type AzurePipeline = {
  trigger: { branches: { include: string[] } };
  variables: Array<{ name: string; value: string }>;
  parameters?: Array<{ name: string; type: string; default: unknown }>;
  stages: AzureStage[];
};

describe('azure-pipelines.yml', () => {
  const pipeline = parse(read('azure-pipelines.yml')) as AzurePipeline;
  const variables = Object.fromEntries(pipeline.variables.map((v) => [v.name, String(v.value)]));
  /** $(name) and ${{ variables.name }} replaced by the pipeline's variables and the matrix entry's. */
  const resolve = (text: string, extra: Record<string, string> = {}) =>
    text
      .replace(/\$\{\{\s*variables\.(\w+)\s*\}\}/g, (whole, name: string) => variables[name] ?? whole)
      .replace(/\$\((\w+)\)/g, (whole, name: string) => extra[name] ?? variables[name] ?? whole);
  /** Whether a step is the task `name` of that major version (pinned as name@major.minor.patch). */
  const isTask = (step: AzureStep, name: string, major: number) => step.task === `${name}@${major}` || step.task?.startsWith(`${name}@${major}.`) === true;
  const stage = (name: string) => {
    const found = pipeline.stages.find((s) => s.stage === name);
    assert.ok(found, `stage ${name}`);
    return found;
  };
  /** The steps of a job, with the ones inside `${{ if … }}:` insertions flattened. */
  const stepsOf = (job: AzureJob): AzureStep[] =>
    (job.steps ?? job.strategy?.runOnce?.deploy?.steps ?? []).flatMap((step) => {
      const conditional = Object.entries(step).find(([key]) => key.startsWith('${{ if'));
      return conditional ? (conditional[1] as AzureStep[]) : [step];
    });

  test('runs on main, stages Test → Build → Deploy', () => {
    assert.deepEqual(pipeline.trigger.branches.include, ['main']);
    assert.deepEqual(pipeline.stages.map((s) => s.stage), ['Test', 'Build', 'Deploy']);
    assert.equal(stage('Build').dependsOn, 'Test');
    assert.equal(stage('Deploy').dependsOn, 'Build');
    // Deploys come from main, never from a pull request.
    assert.match(stage('Deploy').condition ?? '', /ne\(variables\['Build\.Reason'\], 'PullRequest'\)/);
    assert.match(stage('Deploy').condition ?? '', /eq\(variables\['Build\.SourceBranch'\], 'refs\/heads\/main'\)/);
  });

  test('the Test stage runs .ci/run, the CI entry point, on Node.js 24', () => {
    const scripts = stage('Test').jobs.flatMap(stepsOf).flatMap((s) => (s.script ? [resolve(s.script)] : []));
    const run = scripts.find((s) => /\bbash \.ci\/run\b/.test(s));
    assert.ok(run, 'a step runs bash .ci/run');
    assert.match(run, /docker run [^]*"node:24-bookworm@sha256:[0-9a-f]{64}" bash \.ci\/run/);
    assert.ok(fs.existsSync(path.join(root, '.ci', 'run')));
    const publish = stage('Test').jobs.flatMap(stepsOf).find((s) => isTask(s, 'PublishPipelineArtifact', 1) && s.inputs?.artifact === 'console-screenshots');
    assert.match(publish?.inputs?.targetPath ?? '', /test-artifacts\/screenshots$/, 'the console screenshots are kept');
    assert.equal(publish?.condition, 'succeededOrFailed()', 'also when a test failed');
  });

  test('the Build stage builds and pushes every service with SERVICE=<name>, and the load image, tagged with the build id', () => {
    const [job] = stage('Build').jobs;
    const matrix = Object.values(job!.strategy?.matrix ?? {});
    const steps = stepsOf(job!);
    const build = steps.find((s) => isTask(s, 'Docker', 2) && s.inputs?.command === 'build');
    const push = steps.find((s) => isTask(s, 'Docker', 2) && s.inputs?.command === 'push');
    assert.ok(build && push, 'Docker@2 build and push steps');
    assert.match(push.condition ?? '', /ne\(variables\['Build\.Reason'\], 'PullRequest'\)/, 'a pull request builds but does not push');
    const built: string[] = [];
    for (const entry of matrix) {
      const at = (input: string, step: AzureStep) => resolve(step.inputs?.[input] ?? '', entry);
      assert.ok(dockerStages.includes(entry.target!), `target ${entry.target} is a Dockerfile stage`);
      assert.equal(at('repository', build), `medical/${entry.image}`);
      assert.equal(at('repository', push), at('repository', build));
      assert.equal(at('tags', build).trim(), '$(Build.BuildId)');
      assert.equal(at('tags', push).trim(), at('tags', build).trim());
      assert.equal(at('containerRegistry', build), variables.acrServiceConnection);
      assert.equal(at('containerRegistry', push), variables.acrServiceConnection);
      assert.equal(at('Dockerfile', build), 'Dockerfile');
      const args = at('arguments', build);
      assert.ok(args.includes(`--target ${entry.target}`), args);
      if (entry.target === 'runtime') {
        assert.ok(args.includes(`--build-arg SERVICE=${entry.image}`), args);
        built.push(entry.image!);
      }
    }
    assert.deepEqual(built.sort(), services);
    assert.ok(matrix.some((e) => e.image === 'load' && e.target === 'load'), 'the load image');
  });

  test('the Deploy stage sets every image to this build and applies deploy/k8s/overlays/azure', () => {
    const [job] = stage('Deploy').jobs;
    assert.ok(job!.deployment && job!.environment, 'a deployment job with an environment (approvals)');
    const steps = stepsOf(job!);
    const scripts = steps.flatMap((s) => (s.script ? [resolve(s.script)] : []));
    const setImages = scripts.find((s) => s.includes('kustomize edit set image'));
    assert.ok(setImages && /cd deploy\/k8s\/overlays\/azure/.test(setImages));
    assert.deepEqual(loops(setImages), [services]);
    assert.ok(setImages.includes(`"medical/\${service}=${variables.acrLoginServer}/medical/\${service}:$(Build.BuildId)"`), setImages);
    const apply = scripts.find((s) => s.includes('kubectl apply -k deploy/k8s/overlays/azure'));
    assert.ok(apply, 'kubectl apply -k deploy/k8s/overlays/azure');
    assert.deepEqual(loops(apply), [services], 'every rollout waited for');
    assertMigrationJobStep(apply);
    assert.ok(scripts.indexOf(setImages) < scripts.indexOf(apply));
    // kubectl gets the cluster from the AKS service connection around those steps.
    const kubernetes = steps.filter((s) => isTask(s, 'Kubernetes', 1));
    assert.deepEqual(kubernetes.map((s) => s.inputs?.command), ['login', 'logout']);
    for (const s of kubernetes) assert.equal(resolve(s.inputs!.kubernetesServiceEndpoint!), variables.aksServiceConnection);
    assert.ok(steps.indexOf(kubernetes[0]!) < steps.findIndex((s) => s.script?.includes('kubectl apply')));
    const load = scripts.find((s) => s.includes('deploy/k8s/load/run.sh'));
    assert.ok(load && load.includes(`${variables.acrLoginServer}/medical/load:$(Build.BuildId)`));
  });

  test('a supply-chain job beside the tests audits the dependencies and publishes the SBOM, before anything is built', () => {
    const job = stage('Test').jobs.find((j) => stepsOf(j).some((s) => s.script?.includes('npm audit')));
    assert.ok(job, 'a job of the Test stage (which Build depends on) runs npm audit');
    assert.ok(!stepsOf(job).some((s) => s.script?.includes('.ci/run')), 'not in the .ci/run job: .ci/run never depends on the audits');
    const steps = stepsOf(job);
    const at = (predicate: (s: AzureStep) => boolean, what: string) => {
      const index = steps.findIndex(predicate);
      assert.ok(index >= 0, what);
      return index;
    };
    const inTestImage = (s: AzureStep) => resolve(s.script ?? '').includes(`"${variables.testImage}"`);
    const sbom = at((s) => inTestImage(s) && /npm ci --ignore-scripts\b[^\n]*&& npm run sbom\b/.test(s.script ?? ''), 'npm ci without install scripts, then npm run sbom, in the test image');
    const publish = at((s) => isTask(s, 'PublishPipelineArtifact', 1) && s.inputs?.artifact === 'sbom', 'the SBOM published as the artifact sbom');
    assert.equal(steps[publish]!.inputs!.targetPath, `$(Build.SourcesDirectory)/${sbomPath}`);
    const audit = at((s) => inTestImage(s) && /\bnpm audit --audit-level=high\s*$/.test(s.script ?? ''), 'npm audit --audit-level=high');
    const signatures = at((s) => inTestImage(s) && /\bnpm audit signatures\s*$/.test(s.script ?? ''), 'npm audit signatures');
    assert.equal(steps[signatures]!.condition, 'succeededOrFailed()', 'the signatures are checked also when the advisories failed');
    assert.ok(sbom < publish && publish < audit && audit < signatures, 'the SBOM is kept before an audit can fail the job');
    assert.equal(stage('Build').dependsOn, 'Test', 'no image is built before the audits passed');
  });

  test('every task is pinned to an exact version, the test image to a digest', () => {
    const steps = pipeline.stages.flatMap((s) => s.jobs.flatMap(stepsOf));
    const tasks = steps.flatMap((s) => (s.task ? [s.task] : []));
    // The raw lines too: a task the walk above did not reach is still seen.
    const lines = [...read('azure-pipelines.yml').matchAll(/^\s*(?:-\s+)?task:\s*(\S+)/gm)].map((m) => m[1]!);
    assert.deepEqual(lines.sort(), [...tasks].sort());
    assert.ok(tasks.length >= 4);
    const versions = new Map<string, string>();
    for (const task of tasks) {
      const match = /^(\w+)@(\d+\.\d+\.\d+)$/.exec(task);
      assert.ok(match, `${task} pinned as Name@major.minor.patch`);
      assert.equal(versions.get(match[1]!) ?? match[2], match[2], `${match[1]} at one version throughout`);
      versions.set(match[1]!, match[2]!);
    }
    assert.match(variables.testImage!, pinnedImage);
    assert.match(variables.testImage!, /^node:24-bookworm@/);
  });

  test('the placeholders are variables, named for what to set', () => {
    for (const name of ['acrServiceConnection', 'acrLoginServer', 'aksServiceConnection', 'deployEnvironment']) assert.ok(variables[name], name);
    assert.match(variables.acrLoginServer!, /\.azurecr\.io$/);
  });
});

// ---- GitHub Actions -------------------------------------------------------------------------

type GitHubStep = { uses?: string; run?: string; with?: Record<string, string>; if?: string; 'working-directory'?: string; env?: Record<string, string> };
type GitHubJob = {
  'runs-on'?: string;
  needs?: string | string[];
  if?: string;
  container?: string | { image: string };
  permissions?: Record<string, string>;
  environment?: string;
  strategy?: { matrix?: { include?: Array<Record<string, string>> } };
  steps: GitHubStep[];
};
type Workflow = {
  name: string;
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  concurrency?: { group: string };
  jobs: Record<string, GitHubJob>;
};

describe('.github/workflows/ci.yml', () => {
  const workflow = parse(read('.github/workflows/ci.yml')) as Workflow;
  const { jobs } = workflow;
  const needs = (job: GitHubJob) => [job.needs ?? []].flat();

  test('valid triggers, minimal permissions, concurrency', () => {
    assert.deepEqual(Object.keys(workflow.on).sort(), ['pull_request', 'push', 'workflow_dispatch']);
    assert.deepEqual(workflow.on.push?.branches, ['main']);
    assert.deepEqual(workflow.permissions, { contents: 'read' });
    assert.ok(workflow.concurrency?.group);
    for (const [name, job] of Object.entries(jobs)) {
      for (const [scope, level] of Object.entries(job.permissions ?? {})) {
        assert.ok((scope === 'contents' && level === 'read') || (scope === 'id-token' && level === 'write'), `${name}: ${scope}: ${level}`);
      }
      // id-token (OIDC to Azure) only where Azure is logged in to.
      const logsIn = job.steps.some((s) => s.uses?.startsWith('azure/login@'));
      assert.equal(job.permissions?.['id-token'] === 'write', logsIn, `${name}: id-token only with azure/login`);
    }
  });

  test('every action is pinned to a full commit SHA with its release in a comment, every container image to a digest', () => {
    const uses = Object.values(jobs).flatMap((job) => job.steps.flatMap((s) => (s.uses ? [s.uses] : [])));
    for (const action of uses) assert.match(action, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${action} pinned to a commit SHA`);
    // The comments are not in the parsed YAML: the raw lines, which must be the same uses.
    const lines = [...read('.github/workflows/ci.yml').matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map((m) => ({ action: m[1]!, rest: m[2]!.trim() }));
    assert.deepEqual(lines.map((l) => l.action).sort(), [...uses].sort());
    const releases = new Map<string, string>();
    for (const { action, rest } of lines) {
      assert.match(rest, /^# v\d+(\.\d+){1,2}$/, `${action}: its release in a trailing comment (# vX.Y.Z)`);
      const name = action.split('@')[0]!;
      assert.equal(releases.get(name) ?? `${action} ${rest}`, `${action} ${rest}`, `${name}: one SHA and release throughout`);
      releases.set(name, `${action} ${rest}`);
    }
    for (const [name, job] of Object.entries(jobs)) {
      if (!job.container) continue;
      const image = typeof job.container === 'string' ? job.container : job.container.image;
      assert.match(image, pinnedImage, `${name}: container ${image} pinned by digest`);
    }
  });

  test('jobs test and supply-chain → build → deploy, each with runs-on', () => {
    assert.deepEqual(Object.keys(jobs), ['test', 'supply-chain', 'build', 'deploy']);
    for (const [name, job] of Object.entries(jobs)) assert.ok(job['runs-on'], `${name} runs-on`);
    assert.deepEqual(needs(jobs.test!), []);
    assert.deepEqual(needs(jobs['supply-chain']!), []);
    assert.deepEqual(needs(jobs.build!).sort(), ['supply-chain', 'test']);
    assert.deepEqual(needs(jobs.deploy!), ['build']);
    assert.match(jobs.deploy!.if ?? '', /github\.event_name != 'pull_request'/);
    assert.match(jobs.deploy!.if ?? '', /github\.ref == 'refs\/heads\/main'/);
    assert.ok(jobs.deploy!.environment, 'an environment (required reviewers)');
  });

  test('the test job runs .ci/run on Node.js 24', () => {
    const job = jobs.test!;
    const image = typeof job.container === 'string' ? job.container : job.container?.image;
    assert.match(image ?? '', /^node:24-/);
    assert.ok(job.steps.some((s) => s.run?.trim() === 'bash .ci/run'));
    const screenshots = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    assert.equal(screenshots?.with?.path, 'test-artifacts/screenshots/', 'the console screenshots are kept');
    assert.equal(screenshots?.if, 'always()', 'also when a test failed');
  });

  test('the supply-chain job audits the dependencies and keeps the SBOM as an artifact', () => {
    const job = jobs['supply-chain']!;
    const image = typeof job.container === 'string' ? job.container : job.container?.image;
    assert.match(image ?? '', /^node:24-/);
    assert.equal(job.permissions, undefined, "the workflow's contents: read, nothing more");
    const steps = job.steps;
    const at = (predicate: (s: GitHubStep) => boolean, what: string) => {
      const index = steps.findIndex(predicate);
      assert.ok(index >= 0, what);
      return index;
    };
    const install = at((s) => /^npm ci --ignore-scripts\b/.test(s.run?.trim() ?? ''), 'npm ci without install scripts');
    const sbom = at((s) => s.run?.trim() === 'npm run sbom', 'npm run sbom');
    const upload = at((s) => s.uses?.startsWith('actions/upload-artifact@') === true && s.with?.name === 'sbom', 'the SBOM uploaded as the artifact sbom');
    assert.equal(steps[upload]!.with!.path, sbomPath);
    assert.equal(steps[upload]!.with!['if-no-files-found'], 'error');
    const audit = at((s) => s.run?.trim() === 'npm audit --audit-level=high', 'npm audit --audit-level=high');
    const signatures = at((s) => s.run?.trim() === 'npm audit signatures', 'npm audit signatures');
    assert.equal(steps[signatures]!.if, '${{ !cancelled() }}', 'the signatures are checked also when the advisories failed');
    assert.ok(install < sbom && sbom < upload && upload < audit && audit < signatures, 'the SBOM is kept before an audit can fail the job');
  });

  test('the build job builds every service with SERVICE=<name>, and the load image, pushing from main', () => {
    const include = jobs.build!.strategy?.matrix?.include ?? [];
    const runtime = include.filter((e) => e.target === 'runtime').map((e) => e.image!).sort();
    assert.deepEqual(runtime, services);
    assert.ok(include.some((e) => e.image === 'load' && e.target === 'load'));
    for (const entry of include) assert.ok(dockerStages.includes(entry.target!), `target ${entry.target} is a Dockerfile stage`);
    const build = jobs.build!.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.ok(build?.with);
    assert.equal(build.with.file, 'Dockerfile');
    assert.equal(build.with.target, '${{ matrix.target }}');
    assert.equal(build.with['build-args']?.trim(), 'SERVICE=${{ matrix.image }}');
    assert.equal(build.with.push, "${{ env.PUBLISH == 'true' }}");
    assert.match(build.with.tags ?? '', /azurecr\.io\/medical\/\{1\}:\{2\}', vars\.ACR_NAME, matrix\.image, env\.IMAGE_TAG/);
    assert.ok(jobs.build!.steps.some((s) => s.run?.includes('az acr login')));
  });

  test('the deploy job sets every image to this commit and applies deploy/k8s/overlays/azure', () => {
    const steps = jobs.deploy!.steps;
    assert.ok(steps.some((s) => s.uses?.startsWith('azure/aks-set-context@')));
    const setImages = steps.find((s) => s.run?.includes('kustomize edit set image'));
    assert.equal(setImages?.['working-directory'], 'deploy/k8s/overlays/azure');
    assert.deepEqual(loops(setImages!.run!), [services]);
    assert.ok(setImages!.run!.includes('"medical/${service}=${REGISTRY}/medical/${service}:${IMAGE_TAG}"'));
    const apply = steps.find((s) => s.run?.includes('kubectl apply -k deploy/k8s/overlays/azure'));
    assert.ok(apply);
    assert.deepEqual(loops(apply.run!), [services]);
    assertMigrationJobStep(apply.run!);
    assert.ok(steps.indexOf(setImages!) < steps.indexOf(apply));
    assert.ok(steps.some((s) => s.run?.includes('bash deploy/k8s/load/run.sh "${REGISTRY}/medical/load:${IMAGE_TAG}"')));
  });
});

// ---- the SBOM and .ci/run ---------------------------------------------------------------------

describe('the SBOM: npm run sbom', () => {
  const manifest = (folder: string) => JSON.parse(read(path.join(folder, 'package.json'))) as {
    name: string;
    version: string;
    workspaces?: string[];
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const rootManifest = manifest('.');
  /** The workspace folders of package.json (dir/* globs expanded over the folders present). */
  const workspaces = (rootManifest.workspaces ?? []).flatMap((pattern) =>
    pattern.endsWith('/*')
      ? fs
          .readdirSync(path.join(root, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory() && fs.existsSync(path.join(root, pattern.slice(0, -2), e.name, 'package.json')))
          .map((e) => `${pattern.slice(0, -2)}/${e.name}`)
      : [pattern],
  );
  const purl = (name: string, version: string) => `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;

  test('.ci/run writes the SBOM after npm ci and before the tests, and runs no audit', () => {
    const lines = commandLines(read('.ci/run'));
    const index = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    assert.ok(index(/^npm ci\b/) >= 0 && index(/^npm ci\b/) < index(/^npm run -s sbom$/), 'npm run -s sbom after npm ci');
    assert.ok(index(/^npm run -s sbom$/) < index(/^npm test$/), 'and before npm test');
    assert.deepEqual(lines.filter((l) => /\bnpm audit\b/.test(l)), [], 'the registry here answers no audit endpoint');
    assert.match(read('.gitignore'), /^test-artifacts\/$/m, 'test-artifacts/ is git-ignored');
  });

  test('the README documents `npm run sbom`, which writes CycloneDX JSON naming every workspace package', { timeout: 120_000 }, () => {
    assert.ok(read('README.md').includes('`npm run sbom`'), 'the README documents npm run sbom');
    assert.match(rootManifest.scripts?.sbom ?? '', /\bnpm sbom --sbom-format cyclonedx\b[^&]*> test-artifacts\/sbom\.cdx\.json\.tmp && mv /);
    const output = path.join(root, sbomPath);
    fs.rmSync(output, { force: true });
    // Exactly as the README has it, with the registry out of reach: the SBOM needs no network.
    const run = spawnSync('npm', ['run', 'sbom'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, npm_config_registry: 'http://127.0.0.1:9/' },
    });
    assert.equal(run.status, 0, `npm run sbom: status ${run.status}\n${run.stdout}\n${run.stderr}`);
    const bom = JSON.parse(fs.readFileSync(output, 'utf8')) as {
      bomFormat: string;
      specVersion: string;
      metadata: { component: { type: string; purl: string; 'bom-ref': string } };
      components: Array<{ 'bom-ref': string; purl?: string; version?: string }>;
      dependencies: Array<{ ref: string; dependsOn?: string[] }>;
    };
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.match(bom.specVersion, /^1\.\d+$/);
    assert.equal(bom.metadata.component.type, 'application');
    assert.equal(bom.metadata.component.purl, purl(rootManifest.name, rootManifest.version));
    const components = new Map(bom.components.map((c) => [c['bom-ref'], c]));
    const dependsOn = new Map(bom.dependencies.map((d) => [d.ref, d.dependsOn ?? []]));
    const names = (refs: string[]) => refs.map((ref) => ref.slice(0, ref.lastIndexOf('@')));
    assert.ok(workspaces.length >= SERVICE_NAMES.length + 1);
    for (const folder of workspaces) {
      const { name, version, dependencies = {}, devDependencies = {} } = manifest(folder);
      const ref = `${name}@${version}`;
      assert.equal(components.get(ref)?.purl, purl(name, version), `${folder}: the component ${ref}`);
      assert.ok(dependsOn.get(bom.metadata.component['bom-ref'])?.includes(ref), `the project depends on ${ref}`);
      const declared = [...Object.keys(dependencies), ...Object.keys(devDependencies)].sort();
      assert.deepEqual(names(dependsOn.get(ref) ?? []).sort(), declared, `${folder}: its dependencies`);
      for (const dependency of dependsOn.get(ref) ?? []) assert.ok(components.has(dependency), `${ref} → ${dependency}: a component`);
    }
    for (const name of SERVICE_NAMES) assert.ok(bom.components.some((c) => c.purl === purl(`@medical/${name}`, manifest(`services/${name}`).version)), name);
  });
});

// ---- what the deploy steps do to deploy/k8s ------------------------------------------------------

function kustomizeBinary(): string | undefined {
  const candidates = [process.env.KUSTOMIZE, path.join(os.homedir(), '.cache', 'medical-visit-workflow', 'kustomize-v5.8.1', 'kustomize')];
  return candidates.find((c): c is string => Boolean(c) && fs.existsSync(c!));
}

describe('the deploy steps on deploy/k8s', () => {
  const kustomize = kustomizeBinary();
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'pipelines-k8s-'));
  after(() => fs.rmSync(copy, { recursive: true, force: true }));
  const render = (dir: string) =>
    parseAllDocuments(execFileSync(kustomize!, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).map((d) => d.toJSON() as Record<string, any>);
  const registry = 'example.azurecr.io';

  test('the load run script exists and its Job renders in namespace medical, valid, bounded and locked down', { skip: !kustomize && 'kustomize not found (.ci/run builds it)' }, () => {
    assert.ok(fs.existsSync(path.join(root, 'deploy/k8s/load/run.sh')));
    fs.cpSync(path.join(root, 'deploy/k8s/load'), path.join(copy, 'load'), { recursive: true });
    execFileSync(kustomize!, ['edit', 'set', 'image', `medical/load=${registry}/medical/load:42`], { cwd: path.join(copy, 'load') });
    const documents = render(path.join(copy, 'load'));
    assert.deepEqual(documents.map((d) => `${d.apiVersion} ${d.kind}`), ['batch/v1 Job']);
    const job = documents[0]!;
    new Job(job as ConstructorParameters<typeof Job>[0]).validate();
    assert.equal(job.metadata.namespace, 'medical');
    assert.equal(job.spec.backoffLimit, 0);
    assert.ok(job.spec.ttlSecondsAfterFinished > 0);
    // The deadline covers the 60 s of load, and the watchdog of scripts/load.ts (duration + 30 s).
    assert.ok(job.spec.activeDeadlineSeconds >= 120 && job.spec.activeDeadlineSeconds <= 900);
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    const [container] = pod.containers;
    assert.equal(container.image, `${registry}/medical/load:42`);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
    assert.deepEqual(container.args, ['--connections', '20', '--duration', '60']);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.equal(env.LOAD_TARGET_URL, 'http://gateway.medical.svc.cluster.local:8080');
  });

  const overlay = path.join(root, 'deploy/k8s/overlays/azure');
  test(
    "the pipelines' kustomize edit set image gives every Deployment of the Azure overlay, and its migration Job, this build's image",
    { skip: (!kustomize && 'kustomize not found (.ci/run builds it)') || (!fs.existsSync(path.join(overlay, 'kustomization.yaml')) && 'deploy/k8s/overlays/azure not there yet') },
    () => {
      fs.cpSync(path.join(root, 'deploy/k8s'), path.join(copy, 'k8s'), { recursive: true });
      const copied = path.join(copy, 'k8s', 'overlays', 'azure');
      for (const service of services) {
        execFileSync(kustomize!, ['edit', 'set', 'image', `medical/${service}=${registry}/medical/${service}:42`], { cwd: copied });
      }
      const objects = render(copied);
      const deployments = objects.filter((d) => d.kind === 'Deployment');
      for (const service of services) {
        const deployment = deployments.find((d) => d.metadata.name === service);
        assert.ok(deployment, `Deployment ${service}`);
        assert.equal(deployment.metadata.namespace, 'medical');
        const images = deployment.spec.template.spec.containers.map((c: { image: string }) => c.image);
        assert.ok(images.includes(`${registry}/medical/${service}:42`), `${service}: ${images.join(', ')}`);
      }
      // The migration Job runs this build's code too: a service image of the same tag.
      const migrate = objects.find((d) => d.kind === 'Job' && d.metadata.name === 'medical-migrate');
      assert.ok(migrate, 'the migration Job');
      assert.deepEqual(migrate.spec.template.spec.containers.map((c: { image: string }) => c.image), [`${registry}/medical/reception:42`]);
    },
  );
});
