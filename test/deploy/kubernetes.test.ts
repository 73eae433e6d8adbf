import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { BarmanObjectStoreConfiguration } from '@kubernetes-models/cloudnative-pg/github.com/cloudnative-pg/barman-cloud/pkg/api/BarmanObjectStoreConfiguration';
import pino from 'pino';
import { defaultHospitalCatalog, publicApiRoutes } from '@medical/contracts';
import { createMetrics, loadAuthConfig, loadCatalog, loadConfig, type TransportConfig } from '@medical/platform';
import { parseCatalog } from '../../packages/platform/src/reference/catalog.ts';
import { kafkaTransportOptions } from '../../packages/platform/src/transport/kafka.ts';
import { retentionDays as keptDays, retentionMs, type RetentionKind } from '../../packages/platform/src/retention/policy.ts';
import { buildGateway } from '../../services/gateway/src/app.ts';
import { loadGatewayConfig } from '../../services/gateway/src/config.ts';
import { loadInteropConfig } from '../../services/interop/src/config.ts';

/**
 * No cluster runs here, so deploy/k8s is checked for what can be checked without one: every
 * overlay renders with kustomize, every rendered object is valid against the schema of its kind
 * (Kubernetes, Istio, Strimzi, CloudNativePG, cert-manager; the Barman Cloud plugin's ObjectStore
 * and the CSI snapshot kinds, which no model package covers, by shape checks from their CRDs), and
 * the manifests keep the promises of issue 7: probes, resources, autoscaling, security context,
 * secrets, storage, Kafka, PostgreSQL, the Istio routes of every public path, and settings that
 * the services' own loaders accept; those of the locked-down cluster: HTTPS only at the ingress,
 * default-deny network policies with one named policy per real flow, Kafka and PostgreSQL over
 * verified TLS with a certificate and ACLs per service (and for the gateway, which writes the
 * access log only), and no public route to the dashboards; and those of issue 19 on AKS: every
 * service on two replicas over the zones, PostgreSQL synchronous over three zones, Kafka's writes
 * on two brokers of three, WAL archiving and nightly base backups to Azure Blob Storage, the
 * attachments snapshotted nightly; the nightly purge and a restore's reconciliation (a kustomization
 * of its own, deploy/k8s/restore, applied by hand), each as the schemas' owner with only the flows
 * and Kafka rights it needs; the topics' and the backups' retention as the retention table says;
 * and those of issue 22: the interop service like the others, its FHIR API through the gateway
 * (the metadata without a token), its MLLP port opaque TCP for Istio, PERMISSIVE there alone and open
 * only to the laboratories' network, its flows to the examination service and the hospital's systems.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const k8sDir = path.join(root, 'deploy', 'k8s');
const kustomize = process.env.KUSTOMIZE || path.join(os.homedir(), '.cache', 'medical-visit-workflow', 'kustomize-v5.8.1', 'kustomize');
const haveKustomize = fs.existsSync(kustomize);
// On CI a missing kustomize is a failure (the first test says so); on a workstation a skip.
const skip = haveKustomize || process.env.CI ? false : `kustomize not found at ${kustomize} (set KUSTOMIZE, or install v5.8.1 there as CI does)`;

const services = ['gateway', 'reception', 'diagnosis', 'examination', 'patient-management', 'interop'] as const;
const backends = services.filter((s) => s !== 'gateway');
/** The ports a service's container and Service have besides http on 8080: interop's MLLP listener for the laboratories' HL7 v2. */
const extraPorts: Partial<Record<(typeof services)[number], { container: { name: string; containerPort: number; protocol: string }; service: [string, number] }>> = {
  interop: { container: { name: 'hl7-mllp', containerPort: 2575, protocol: 'TCP' }, service: ['tcp-hl7', 2575] },
};
const overlays = ['local', 'azure'] as const;
const rootScripts = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const partOf = 'medical-visit-workflow';

// Rendered YAML is untyped until its model has validated it; the checks below read it loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [field: string]: any };

const rendered = new Map<string, Obj[]>();
function render(dir: string): Obj[] {
  let objects = rendered.get(dir);
  if (!objects) {
    const yaml = execFileSync(kustomize, ['build', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    objects = parseAllDocuments(yaml).map((doc) => {
      assert.deepEqual(doc.errors, [], `${dir}: YAML errors`);
      return doc.toJS() as Obj;
    }).filter((o) => o !== null);
    rendered.set(dir, objects);
  }
  return objects;
}
const overlay = (name: string) => render(path.join(k8sDir, 'overlays', name));

function find(objects: Obj[], kind: string, name?: string): Obj[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}
function one(objects: Obj[], kind: string, name: string): Obj {
  const found = find(objects, kind, name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0]!;
}
const container = (deployment: Obj) => deployment.spec.template.spec.containers[0];

/** The migration Job of each release (deploy/k8s/base/migrate). */
const migrateJob = (objects: Obj[]) => one(objects, 'Job', 'medical-migrate');
/** The nightly purge (deploy/k8s/base/purge). */
const purgeCronJob = (objects: Obj[]) => one(objects, 'CronJob', 'medical-purge');
/** A CronJob seen as the Job it makes, so the helpers that read a Job's pod template read it. */
const jobOf = (cronJob: Obj): Obj => ({ ...cronJob, spec: cronJob.spec.jobTemplate.spec });
/** A restore's reconciliation (deploy/k8s/restore): not in the overlays, applied by hand during a restore. */
const restoreDir = path.join(k8sDir, 'restore');
const restore = () => render(restoreDir);
const restoreJob = (objects: Obj[]) => one(objects, 'Job', 'medical-restore-reconcile');
/** The load test's Job (deploy/k8s/load), when present. */
const loadObjects = () => (fs.existsSync(path.join(k8sDir, 'load', 'kustomization.yaml')) ? render(path.join(k8sDir, 'load')) : []);
/**
 * The database role the services connect as: the one the migration Job grants their rights to
 * (DATABASE_SERVICE_ROLE), declared in the Cluster's managed roles.
 */
function serviceRole(objects: Obj[]): Obj {
  const name = container(migrateJob(objects)).env.find((v: Obj) => v.name === 'DATABASE_SERVICE_ROLE')?.value;
  assert.ok(name, 'the migration Job names the services\' role (DATABASE_SERVICE_ROLE)');
  const roles = ((one(objects, 'Cluster', 'postgres').spec.managed?.roles ?? []) as Obj[]).filter((r) => r.name === name);
  assert.equal(roles.length, 1, `the Cluster declares the role ${name} once (spec.managed.roles)`);
  return roles[0]!;
}
/** Every pod template of the rendered objects (Deployments, Jobs, StatefulSets, ...), by kind and name. */
function podTemplates(objects: Obj[]): Array<{ what: string; spec: Obj }> {
  return objects.flatMap((o) => {
    const spec = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec ?? (o.kind === 'Pod' ? o.spec : undefined);
    return spec?.containers ? [{ what: `${o.kind} ${o.metadata.name}`, spec }] : [];
  });
}

/**
 * The model class of an apiVersion and kind, from kubernetes-models (core and built-in groups)
 * or the Istio, Strimzi, CloudNativePG and cert-manager model packages. Their module paths follow
 * <package>/<group>/<version>/<Kind> (the core group: kubernetes-models/v1/<Kind>).
 */
const modelPackages = [
  'kubernetes-models',
  '@kubernetes-models/istio',
  '@kubernetes-models/strimzi-kafka-operator',
  '@kubernetes-models/cloudnative-pg',
  '@kubernetes-models/cert-manager',
];
async function modelOf(apiVersion: string, kind: string): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const specifiers = group ? modelPackages.map((p) => `${p}/${group}/${version}/${kind}`) : [`kubernetes-models/${version}/${kind}`];
  for (const specifier of specifiers) {
    try {
      const module = (await import(specifier)) as Record<string, unknown>;
      const model = module[kind];
      if (typeof model === 'function') return model as new (data: unknown) => { validate(): void };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    }
  }
  return undefined;
}

async function validateAll(objects: Obj[], where: string): Promise<void> {
  assert.ok(objects.length > 0, `${where} renders objects`);
  for (const object of objects) {
    const what = `${where}: ${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
    const Model = await modelOf(object.apiVersion, object.kind);
    const shape = shapeChecks[`${object.apiVersion} ${object.kind}`];
    assert.ok(Model ?? shape, `${what} has no schema model: add its model package (or, if none is published, a shape check from its CRD), or do not ship it unvalidated`);
    if (Model) assert.doesNotThrow(() => new Model(object).validate(), what);
    else assert.doesNotThrow(() => shape!(object), what);
  }
}

// ---- kinds without a model package ----------------------------------------------------------
// No model package on npm covers the Barman Cloud plugin's ObjectStore or the CSI snapshot kinds
// (external-snapshotter's VolumeSnapshotClass and VolumeSnapshot). These check them against their
// CRDs' schemas instead, as far as the schemas go for the fields a manifest sets: the known fields
// only, their types, enums, patterns, required fields and CEL rules.

/** The fields of an object are among these (the CRDs' structural schemas prune any other, silently). */
function knownFields(value: unknown, allowed: string[], where: string): Obj {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${where}: an object`);
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  assert.deepEqual(unknown, [], `${where}: fields the CRD does not know`);
  return value as Obj;
}
const isStringMap = (value: unknown) => value !== null && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string');
const top = ['apiVersion', 'kind', 'metadata'];

/**
 * barmancloud.cnpg.io/v1 ObjectStore (plugin-barman-cloud's objectstores CRD). Its
 * spec.configuration is the barman-cloud API's BarmanObjectStoreConfiguration, the very type of
 * the Cluster's in-tree spec.backup.barmanObjectStore, whose model the CloudNativePG package has:
 * that validates it. serverName is forbidden there (a CEL rule: it is the Cluster's plugin parameter).
 */
function checkObjectStore(store: Obj): void {
  const where = `ObjectStore ${store.metadata?.name}`;
  knownFields(store, [...top, 'spec'], where);
  assert.ok(store.metadata?.name, `${where}: metadata.name`);
  const spec = knownFields(store.spec, ['configuration', 'retentionPolicy', 'instanceSidecarConfiguration'], `${where}: spec`);
  const configuration = knownFields(spec.configuration, ['azureCredentials', 'googleCredentials', 's3Credentials', 'data', 'destinationPath', 'endpointCA', 'endpointURL', 'historyTags', 'serverName', 'tags', 'wal'], `${where}: spec.configuration`);
  new BarmanObjectStoreConfiguration(configuration as never).validate();
  assert.equal(configuration.serverName, undefined, `${where}: serverName is the Cluster's plugin parameter, never the ObjectStore's`);
  if (spec.retentionPolicy !== undefined) assert.match(spec.retentionPolicy, /^[1-9][0-9]*[dwm]$/, `${where}: spec.retentionPolicy`);
  if (spec.instanceSidecarConfiguration !== undefined) {
    const sidecar = knownFields(spec.instanceSidecarConfiguration, ['env', 'retentionPolicyIntervalSeconds', 'resources', 'additionalContainerArgs', 'logLevel'], `${where}: spec.instanceSidecarConfiguration`);
    if (sidecar.retentionPolicyIntervalSeconds !== undefined) assert.ok(Number.isInteger(sidecar.retentionPolicyIntervalSeconds), where);
    if (sidecar.logLevel !== undefined) assert.ok(['error', 'warning', 'info', 'debug', 'trace'].includes(sidecar.logLevel), where);
  }
}

/** snapshot.storage.k8s.io/v1 VolumeSnapshotClass (external-snapshotter's CRD). */
function checkVolumeSnapshotClass(snapshotClass: Obj): void {
  const where = `VolumeSnapshotClass ${snapshotClass.metadata?.name}`;
  knownFields(snapshotClass, [...top, 'driver', 'deletionPolicy', 'parameters'], where);
  assert.ok(snapshotClass.metadata?.name, `${where}: metadata.name`);
  assert.equal(snapshotClass.metadata.namespace, undefined, `${where}: cluster-scoped`);
  assert.ok(typeof snapshotClass.driver === 'string' && snapshotClass.driver.length > 0, `${where}: driver`);
  assert.ok(['Delete', 'Retain'].includes(snapshotClass.deletionPolicy), `${where}: deletionPolicy`);
  if (snapshotClass.parameters !== undefined) assert.ok(isStringMap(snapshotClass.parameters), `${where}: parameters are strings`);
}

/** snapshot.storage.k8s.io/v1 VolumeSnapshot (external-snapshotter's CRD): one source, exactly. */
function checkVolumeSnapshot(snapshot: Obj): void {
  const where = `VolumeSnapshot ${snapshot.metadata?.name}`;
  knownFields(snapshot, [...top, 'spec'], where);
  assert.match(snapshot.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, `${where}: a DNS subdomain name`);
  if (snapshot.metadata.labels !== undefined) assert.ok(isStringMap(snapshot.metadata.labels), `${where}: labels are strings`);
  const spec = knownFields(snapshot.spec, ['source', 'volumeSnapshotClassName'], `${where}: spec`);
  const source = knownFields(spec.source, ['persistentVolumeClaimName', 'volumeSnapshotContentName'], `${where}: spec.source`);
  assert.equal(Object.keys(source).length, 1, `${where}: exactly one of persistentVolumeClaimName and volumeSnapshotContentName`);
  assert.ok(Object.values(source).every((name) => typeof name === 'string' && name.length > 0), `${where}: spec.source names`);
  if (spec.volumeSnapshotClassName !== undefined) assert.equal(typeof spec.volumeSnapshotClassName, 'string', `${where}: spec.volumeSnapshotClassName`);
}

const shapeChecks: Record<string, (object: Obj) => void> = {
  'barmancloud.cnpg.io/v1 ObjectStore': checkObjectStore,
  'snapshot.storage.k8s.io/v1 VolumeSnapshotClass': checkVolumeSnapshotClass,
  'snapshot.storage.k8s.io/v1 VolumeSnapshot': checkVolumeSnapshot,
};

/** What a Secret's key stands in for in containerEnv: CloudNativePG's connection URI of the owner, or a sample of the key. */
const OWNER_URI_SAMPLE = 'postgresql://medical:sample-password@postgres-rw.medical:5432/medical';
const secretSample = (key: string) => (key === 'uri' ? OWNER_URI_SAMPLE : `sample-${key}`);

/** The environment a container (of a Deployment or a Job) gets, as its manifest says, with secrets and the downward API replaced by samples. */
function declaredEnv(objects: Obj[], deployment: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container(deployment).envFrom ?? []) {
    assert.ok(source.configMapRef, `${deployment.metadata.name}: envFrom is ConfigMaps only (secrets go by secretKeyRef)`);
    Object.assign(env, one(objects, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const variable of container(deployment).env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = String(variable.value).replace(/\$\(([A-Z0-9_]+)\)/g, (_all, name: string) => env[name] ?? '');
    } else if (variable.valueFrom?.secretKeyRef) {
      env[variable.name] = secretSample(variable.valueFrom.secretKeyRef.key);
    } else if (variable.valueFrom?.fieldRef) {
      env[variable.name] = variable.valueFrom.fieldRef.fieldPath === 'metadata.namespace' ? 'medical' : `${deployment.metadata.name}-7d9f8-abcde`;
    } else {
      assert.fail(`${deployment.metadata.name}: ${variable.name} has neither a value nor a known source`);
    }
  }
  return env;
}

/**
 * The environment as the container's configuration loaders see it: declaredEnv, with the file it
 * names from a mounted ConfigMap (HOSPITAL_CATALOG_FILE, which every loader opens and checks at
 * start) replaced by a copy, on this machine, of what the kubelet puts there. So a loader that
 * accepts it accepts the rendered file, and a container that names a file it does not mount (or
 * mounts by subPath) fails here.
 */
function containerEnv(objects: Obj[], deployment: Obj): Record<string, string> {
  const env = declaredEnv(objects, deployment);
  if (env.HOSPITAL_CATALOG_FILE !== undefined) env.HOSPITAL_CATALOG_FILE = localCopy(objects, deployment, env.HOSPITAL_CATALOG_FILE);
  return env;
}

/**
 * Where a file the container reads comes from when it is a ConfigMap's: the one volume mounted
 * over it must be a ConfigMap volume, mounted whole at the file's own directory, read-only, and
 * never with subPath (the kubelet never updates a subPath mount, so an edit of the ConfigMap
 * would never reach the running process), that puts one key at the file's name.
 */
function configMapFileSource(workload: Obj, file: string): { configMap: string; key: string; mount: Obj } {
  const where = `${workload.metadata.name}: ${file}`;
  const mounts = ((container(workload).volumeMounts ?? []) as Obj[]).filter((m) => file === m.mountPath || file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  assert.equal(mounts.length, 1, `${where} is on one mounted volume`);
  const mount = mounts[0]!;
  assert.equal(mount.subPath, undefined, `${where}: mounted without subPath, which the kubelet never updates`);
  assert.equal(mount.subPathExpr, undefined, `${where}: mounted without subPathExpr, which the kubelet never updates`);
  assert.equal(mount.mountPath.replace(/\/$/, ''), path.posix.dirname(file), `${where}: the volume is mounted as the file's directory`);
  assert.equal(mount.readOnly, true, `${where}: mounted read-only`);
  const volume = ((workload.spec.template.spec.volumes ?? []) as Obj[]).find((v) => v.name === mount.name);
  assert.ok(volume?.configMap?.name, `${where}: the volume ${mount.name} is a ConfigMap`);
  const name = path.posix.basename(file);
  const items = volume.configMap.items as Obj[] | undefined;
  const key = items === undefined ? name : items.find((item) => item.path === name)?.key;
  assert.ok(key, `${where}: the ConfigMap ${volume.configMap.name} puts a key at ${name}`);
  return { configMap: volume.configMap.name, key, mount };
}

/** The copies of mounted ConfigMaps' files that containerEnv points the loaders at, removed after the tests. */
let mountedCopies: string | undefined;
after(() => {
  if (mountedCopies) fs.rmSync(mountedCopies, { recursive: true, force: true });
});
function localCopy(objects: Obj[], workload: Obj, file: string): string {
  const { configMap, key } = configMapFileSource(workload, file);
  const content = one(objects, 'ConfigMap', configMap).data?.[key];
  assert.equal(typeof content, 'string', `${workload.metadata.name}: the ConfigMap ${configMap} holds ${key}`);
  mountedCopies ??= fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-mounted-'));
  const copy = path.join(mountedCopies, createHash('sha256').update(content).digest('hex').slice(0, 16), path.posix.basename(file));
  if (!fs.existsSync(copy)) {
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    fs.writeFileSync(copy, content);
  }
  return copy;
}

/**
 * The programs a Job's container runs, in order, each as its words: its command itself, or the
 * steps of a `sh -c` script joined by && (each runs only if the one before succeeded; the last may
 * be exec'd), nothing else in the script.
 */
function programsOf(main: Obj): string[][] {
  const words = [...(main.command ?? []), ...(main.args ?? [])] as string[];
  if (words[0] !== 'sh' && words[0] !== '/bin/sh') return [words];
  assert.equal(words[1], '-c', 'sh -c');
  assert.equal(words.length, 3, 'sh -c and one script');
  const script = words[2]!;
  assert.doesNotMatch(script, /[;|\n`$()<>]|(?<!&)&(?!&)|&&&/, `the script is steps joined by && and nothing else: ${script}`);
  const steps = script.split('&&').map((step) => step.trim().split(/\s+/));
  steps.forEach((step, i) => {
    if (step[0] === 'exec') {
      assert.equal(i, steps.length - 1, `only the last step is exec'd: ${script}`);
      step.shift();
    }
  });
  return steps;
}

/**
 * The topics a process's Kafka transport checks at start, creating what is missing, as the
 * transport itself lists them (kafkaTransportOptions). A topic its Kafka user may not describe is
 * left out of the broker's topic list, so the transport tries to create it, is refused, and never
 * opens: each of these must be one the user may describe.
 */
function topicsCheckedAtStart(config: TransportConfig): string[] {
  return kafkaTransportOptions(config, pino({ level: 'silent' })).topics;
}

/** A KafkaUser's ACLs as sorted lines, after checking none is a deny or bound to a host. */
function aclLines(user: Obj, where: string): string[] {
  return (user.spec.authorization.acls as Obj[]).map((acl) => {
    assert.equal(acl.type ?? 'allow', 'allow', where);
    assert.equal(acl.host ?? '*', '*', where);
    return `${acl.resource.type} ${acl.resource.name} ${acl.resource.patternType ?? 'literal'}: ${[...acl.operations].sort().join(',')}`;
  }).sort();
}

/** The topics a user may describe: Describe, Read and Write on a topic all allow it. */
function describableTopics(user: Obj): string[] {
  return (user.spec.authorization.acls as Obj[])
    .filter((acl) => acl.resource.type === 'topic' && (acl.resource.patternType ?? 'literal') === 'literal')
    .filter((acl) => (acl.operations as string[]).some((op) => ['Describe', 'Read', 'Write', 'All'].includes(op)))
    .map((acl) => acl.resource.name as string);
}

/** The Kafka listener the services use: the one and only, TLS with client certificates. */
function tlsListener(kafka: Obj): Obj {
  const listeners = kafka.spec.kafka.listeners as Obj[];
  assert.equal(listeners.length, 1, 'one listener, no plain-text one beside it');
  return listeners[0]!;
}

/**
 * Where a file the container reads comes from: the volume mounted over its directory must be a
 * Secret, or a projected volume of Secrets, that puts one named key at that path.
 */
function fileSource(deployment: Obj, file: string): { secret: string; key: string } {
  const where = `${deployment.metadata.name}: ${file}`;
  const mount = (container(deployment).volumeMounts as Obj[]).find((m) => file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  assert.ok(mount, `${where} is on a mounted volume`);
  assert.equal(mount.readOnly, true, `${where}: mounted read-only`);
  const relative = file.slice(mount.mountPath.replace(/\/$/, '').length + 1);
  const volume = (deployment.spec.template.spec.volumes as Obj[]).find((v) => v.name === mount.name)!;
  const secrets: Obj[] = volume.secret ? [{ ...volume.secret, name: volume.secret.secretName }] : (volume.projected?.sources ?? []).map((source: Obj) => source.secret);
  const found: Array<{ secret: string; key: string }> = [];
  for (const secret of secrets) {
    assert.ok(secret, `${where}: the volume holds Secrets only`);
    assert.ok(secret.items?.length, `${where}: Secret ${secret.name} mounted key by key, never whole (a CA's private key may sit beside its certificate)`);
    for (const item of secret.items as Obj[]) if (item.path === relative) found.push({ secret: secret.name, key: item.key });
  }
  assert.equal(found.length, 1, `${where}: exactly one source`);
  return found[0]!;
}

test('kustomize is installed', { skip }, () => {
  assert.ok(haveKustomize, `kustomize not found at ${kustomize}: CI installs v5.8.1 there, or set KUSTOMIZE`);
});

test('every overlay (the restore Job, and the load-test Job when present) renders, and every object is valid against its schema', { skip }, async () => {
  const dirs = fs.readdirSync(path.join(k8sDir, 'overlays')).map((name) => path.join(k8sDir, 'overlays', name));
  assert.deepEqual(dirs.map((d) => path.basename(d)).sort(), [...overlays].sort());
  dirs.push(restoreDir);
  if (fs.existsSync(path.join(k8sDir, 'load', 'kustomization.yaml'))) dirs.push(path.join(k8sDir, 'load'));
  for (const dir of dirs) await validateAll(render(dir), path.relative(root, dir));
});

test('each service has a Deployment, a Service on 8080 named http, an HPA and a PDB, with the labels Prometheus discovers', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    for (const service of services) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      assert.equal(deployment.metadata.namespace, 'medical', where);
      const labels = deployment.spec.template.metadata.labels;
      assert.equal(labels['app.kubernetes.io/name'], service, `${where}: the name label becomes Prometheus' service label`);
      assert.equal(labels['app.kubernetes.io/part-of'], partOf, `${where}: the label prometheus.yml keeps`);
      assert.ok(labels['app.kubernetes.io/component'], `${where}: component label`);
      assert.ok(labels.version, `${where}: Istio's version label`);
      for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(labels[key], value, `${where}: selector matches the pod`);
      assert.equal(deployment.spec.replicas, undefined, `${where}: the HPA owns the replica count`);
      const main = container(deployment);
      const extra = extraPorts[service];
      assert.deepEqual(main.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, ...(extra ? [extra.container] : [])], where);
      assert.ok(main.env.some((v: Obj) => v.name === 'PORT' && v.value === '8080'), `${where}: PORT=8080`);

      const svc = one(objects, 'Service', service);
      assert.deepEqual(svc.spec.ports.map((p: Obj) => [p.name, p.port]), [['http', 8080], ...(extra ? [extra.service] : [])], `${where}: Service ports, http first`);
      for (const [key, value] of Object.entries(svc.spec.selector)) assert.equal(labels[key], value, `${where}: Service selects the pods`);

      const hpa = one(objects, 'HorizontalPodAutoscaler', service);
      assert.equal(hpa.apiVersion, 'autoscaling/v2', where);
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: service }, where);
      // Two at least on AKS, one replica per zone (issue 19); one on a workstation, which has no
      // room for more (README: about 4 CPUs for everything).
      assert.equal(hpa.spec.minReplicas, name === 'azure' ? 2 : 1, where);
      // The local overlay's gateway runs the development identity provider, whose signing key is
      // the pod's own: one gateway there, so every token and the services' JWKS agree.
      const devProvider = name === 'local' && service === 'gateway';
      assert.equal(hpa.spec.maxReplicas, devProvider ? 1 : 3, where);
      assert.deepEqual(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 20 } } }], where);

      // minAvailable: 1 with one replica would block every node drain; with two at least it keeps
      // one through a drain and still lets the drain evict the other.
      const pdb = one(objects, 'PodDisruptionBudget', service);
      if (hpa.spec.minReplicas >= 2) {
        assert.equal(pdb.spec.minAvailable, 1, `${where}: PDB keeps one of the replicas through a drain`);
        assert.equal(pdb.spec.maxUnavailable, undefined, where);
      } else {
        assert.equal(pdb.spec.maxUnavailable, 1, `${where}: PDB lets a drain evict the single replica`);
        assert.equal(pdb.spec.minAvailable, undefined, where);
      }
      assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow', `${where}: a pod that is not ready may always be evicted`);
      for (const [key, value] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(labels[key], value, `${where}: PDB selects the pods`);
    }
  }
});

test('probes, resources, graceful termination and the restricted security context', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    for (const service of services) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      const pod = deployment.spec.template.spec;
      const main = container(deployment);
      assert.equal(main.readinessProbe?.httpGet?.path, '/readyz', `${where}: readiness`);
      assert.equal(main.livenessProbe?.httpGet?.path, '/healthz', `${where}: liveness`);
      assert.ok(main.startupProbe?.httpGet?.path, `${where}: startup probe`);
      for (const probe of [main.readinessProbe, main.livenessProbe, main.startupProbe]) assert.ok([8080, 'http'].includes(probe.httpGet.port), where);

      assert.equal(main.resources.requests.cpu, '200m', `${where}: what the HPA's 20 % is of`);
      assert.ok(main.resources.requests.memory, `${where}: memory request`);
      assert.ok(main.resources.limits.memory, `${where}: memory limit`);
      assert.ok(main.resources.limits.cpu, `${where}: cpu limit`);

      // The process force-exits at SHUTDOWN_DRAIN_MS + SHUTDOWN_TIMEOUT_MS after SIGTERM; the
      // kubelet must not kill it first (a preStop pause counts too).
      const config = loadConfig(service, 8080, containerEnv(objects, deployment));
      const preStopMs = (main.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      assert.ok(config.shutdownDrainMs > 0, `${where}: drains before closing`);
      assert.ok(pod.terminationGracePeriodSeconds * 1000 > preStopMs + config.shutdownDrainMs + config.shutdownTimeoutMs, `${where}: grace period`);

      assert.equal(pod.securityContext.runAsNonRoot, true, where);
      assert.equal(pod.securityContext.runAsUser, 1000, `${where}: the image's node user`);
      assert.equal(main.securityContext.allowPrivilegeEscalation, false, where);
      assert.equal(main.securityContext.readOnlyRootFilesystem, true, where);
      assert.deepEqual(main.securityContext.capabilities.drop, ['ALL'], where);
      assert.equal((main.securityContext.seccompProfile ?? pod.securityContext.seccompProfile)?.type, 'RuntimeDefault', where);
      assert.equal(pod.automountServiceAccountToken, false, where);
      // A read-only root needs a writable /tmp.
      const tmp = main.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
      assert.ok(tmp, `${where}: /tmp mounted`);
      assert.ok(pod.volumes.find((v: Obj) => v.name === tmp.name).emptyDir, `${where}: /tmp is an emptyDir`);
    }
  }
});

test('the rendered settings are accepted by the services\' own configuration loaders; credentials only come from Secrets', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const kafka = find(objects, 'Kafka')[0]!;
    for (const configMap of find(objects, 'ConfigMap')) {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        assert.doesNotMatch(key, /PASSWORD|SECRET|TOKEN|DATABASE_URL|CREDENTIAL/i, `${name}: ${configMap.metadata.name} holds ${key}`);
        assert.doesNotMatch(String(value), /postgres(ql)?:\/\/|password/i, `${name}: ${configMap.metadata.name}.${key} looks like a credential`);
      }
    }
    const schemas = new Set<string>();
    for (const service of backends) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      // The services' own role (the database roles test checks which): the URL names it and holds
      // no password; the password is PGPASSWORD, from the Secret CloudNativePG sets the role's from.
      const role = serviceRole(objects);
      const password = container(deployment).env.find((v: Obj) => v.name === 'PGPASSWORD');
      assert.deepEqual(password?.valueFrom, { secretKeyRef: { name: role.passwordSecret.name, key: 'password' } }, `${where}: the password from the role's Secret`);
      const databaseUrl = container(deployment).env.find((v: Obj) => v.name === 'DATABASE_URL');
      assert.equal(new URL(databaseUrl?.value ?? '').password, '', `${where}: no password written in the manifest`);
      const env = containerEnv(objects, deployment);
      const config = loadConfig(service, 8080, env);
      assert.equal(config.port, 8080, where);
      assert.deepEqual(config.kafka?.brokers, [`${kafka.metadata.name}-kafka-bootstrap:${tlsListener(kafka).port}`], `${where}: Strimzi's bootstrap Service, its TLS listener`);
      assert.equal(config.topic, 'medical', where);
      assert.equal(config.deadLetterTopic, 'medical.dlq', where);
      assert.equal(config.accessLogTopic, 'medical.access-log', `${where}: where its access records go`);
      assert.ok(config.postgres, `${where}: on PostgreSQL`);
      // Its own schema: the loader's default for the service, spelled out.
      assert.equal(config.postgres.schema, loadConfig(service, 8080, { DATABASE_URL: env.DATABASE_URL }).postgres?.schema, `${where}: schema`);
      schemas.add(config.postgres.schema);
      assert.ok(config.tracing?.url.startsWith('http'), `${where}: traces exported`);
      // Every replica its own Kafka client id (the default's pid is 1 in every container).
      assert.notEqual(config.kafka?.clientId, `${service}-${process.pid}`, where);
    }
    assert.equal(schemas.size, backends.length, `${name}: one schema per service`);

    const gateway = one(objects, 'Deployment', 'gateway');
    assert.ok(!container(gateway).env.some((v: Obj) => v.name === 'DATABASE_URL'), `${name}: the gateway has no database`);
    const config = loadGatewayConfig(containerEnv(objects, gateway));
    assert.equal(config.port, 8080);
    for (const upstream of config.upstreams) {
      assert.deepEqual(upstream.origins, [`http://${upstream.service}:8080`], `${name}: ${upstream.variable}`);
      assert.equal(one(objects, 'Service', upstream.service).spec.ports[0].port, 8080);
    }
    // The access records of the refusals it answers itself go to Kafka, as the services' do, to
    // the same topic; never to an embedded log in the pod (DATA_DIR), which nothing would read.
    const accessLog = config.accessLog;
    assert.deepEqual(accessLog.kafka?.brokers, [`${kafka.metadata.name}-kafka-bootstrap:${tlsListener(kafka).port}`], `${name}: the gateway's access records on Strimzi's bootstrap Service, its TLS listener`);
    assert.equal(accessLog.accessLogTopic, 'medical.access-log', `${name}: the gateway's access-log topic`);
    // Its Kafka user may describe the access-log topic only: every topic its transport checks at
    // start is that one, or the transport would never open (see topicsCheckedAtStart).
    assert.deepEqual([...new Set(topicsCheckedAtStart(accessLog))], ['medical.access-log'], `${name}: the gateway's transport checks the access-log topic only`);
    assert.notEqual(accessLog.kafka?.clientId, `gateway-${process.pid}`, `${name}: every gateway replica its own Kafka client id`);
  }
});

test('database roles: the services connect as a login-only role of their own, DATABASE_MIGRATIONS=separate; only the migration Job, the purge and the restore Job as the owner', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const cluster = one(objects, 'Cluster', 'postgres');
    const owner = cluster.spec.bootstrap.initdb.owner;
    const ownerSecret = `${cluster.metadata.name}-app`;
    // The role: CloudNativePG's declarative role management creates and keeps it. It logs in, and
    // nothing more: no superuser, no CREATEDB, no CREATEROLE (nor replication, RLS bypass or a
    // membership that would bring rights the migration Job did not grant).
    const role = serviceRole(objects);
    assert.notEqual(role.name, owner, `${name}: the services' role is not the schemas' owner`);
    assert.notEqual(role.ensure, 'absent', name);
    assert.equal(role.login, true, `${name}: ${role.name} logs in`);
    for (const attribute of ['superuser', 'createdb', 'createrole', 'replication', 'bypassrls']) {
      assert.notEqual(role[attribute], true, `${name}: ${role.name} without ${attribute}`);
    }
    assert.deepEqual(role.inRoles ?? [], [], `${name}: ${role.name} is a member of no role`);
    assert.equal(role.disablePassword, undefined, name);
    assert.ok(role.passwordSecret?.name, `${name}: its password from a Secret`);
    assert.notEqual(role.passwordSecret.name, ownerSecret, name);
    // The Secret: generated by the local overlay (basic-auth, the role's name, reloaded at once);
    // on AKS made by hand, so no password is in the repository.
    const secrets = find(objects, 'Secret', role.passwordSecret.name);
    if (name === 'local') {
      assert.equal(secrets.length, 1, `local: the overlay provides the Secret ${role.passwordSecret.name}`);
      const secret = secrets[0]!;
      assert.equal(secret.type, 'kubernetes.io/basic-auth', 'local: the type CloudNativePG requires');
      assert.equal(Buffer.from(secret.data.username, 'base64').toString(), role.name, 'local: its username is the role');
      assert.ok(Buffer.from(secret.data.password, 'base64').toString().length >= 16, 'local: a password');
      assert.equal(secret.metadata.labels?.['cnpg.io/reload'], 'true', 'local: a changed password is applied at once');
    } else {
      assert.deepEqual(find(objects, 'Secret').map((s) => s.metadata.name), [], `${name}: no Secret in the overlay: none is committed`);
    }

    // Every backend service connects as that role, to the primary, over TLS (the PostgreSQL TLS
    // test checks that), and only checks the migrations.
    for (const service of backends) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      const env = containerEnv(objects, deployment);
      const url = new URL(env.DATABASE_URL!);
      assert.equal(decodeURIComponent(url.username), role.name, `${where}: connects as ${role.name}, not as ${owner}`);
      assert.equal(url.host, `${cluster.metadata.name}-rw.medical:5432`, `${where}: the primary`);
      assert.equal(url.pathname, `/${cluster.spec.bootstrap.initdb.database}`, `${where}: the database`);
      assert.equal(env.PGPASSWORD, secretSample('password'), `${where}: the role's password`);
      assert.equal(loadConfig(service, 8080, env).postgres?.migrations, 'separate', `${where}: DATABASE_MIGRATIONS=separate, no DDL`);
    }

    // The migration Job: `npm run migrate` as the owner, granting the services' role.
    const job = migrateJob(objects);
    const main = container(job);
    assert.equal(rootScripts.migrate, 'node scripts/migrate.ts');
    assert.deepEqual(programsOf(main)[0], ['node', 'scripts/migrate.ts'], `${name}: the Job runs npm run migrate's command first (then catalog:migrate: the catalog's test)`);
    const uri = main.env.find((v: Obj) => v.name === 'POSTGRES_APP_URI');
    assert.deepEqual(uri?.valueFrom, { secretKeyRef: { name: ownerSecret, key: 'uri' } }, `${name}: the Job connects with the owner's URI (CloudNativePG's ${ownerSecret})`);
    assert.match(main.env.find((v: Obj) => v.name === 'DATABASE_URL')?.value ?? '', /^\$\(POSTGRES_APP_URI\)\?/, `${name}: DATABASE_URL is the owner's URI with the TLS settings`);
    const env = containerEnv(objects, job);
    assert.equal(env.DATABASE_SERVICE_ROLE, role.name, `${name}: the Job grants ${role.name}`);
    assert.equal(env.DATABASE_SCHEMA, undefined, `${name}: no DATABASE_SCHEMA, which would put every service in one schema`);
    for (const service of backends) {
      // What scripts/migrate.ts reads for each service: the owner, each service's own schema, migrating.
      const config = loadConfig(service, 8080, env);
      assert.equal(new URL(config.postgres!.url).username, owner, `${name}: ${service} migrated as the owner`);
      assert.equal(config.postgres!.schema, loadConfig(service, 8080, { DATABASE_URL: env.DATABASE_URL }).postgres!.schema, `${name}: ${service}'s own schema`);
      assert.notEqual(config.postgres!.migrations, 'separate', name);
    }
    // A Job that ends: no sidecar, bounded retries, cleaned up; locked down as the services are.
    const pod = job.spec.template.spec;
    assert.equal(job.spec.template.metadata.annotations?.['sidecar.istio.io/inject'], 'false', `${name}: no sidecar, so the Job ends`);
    assert.ok(job.spec.backoffLimit > 0 && job.spec.backoffLimit <= 10, `${name}: backoffLimit`);
    assert.ok(job.spec.ttlSecondsAfterFinished > 0, `${name}: ttlSecondsAfterFinished`);
    assert.ok(job.spec.activeDeadlineSeconds > 0, `${name}: a deadline`);
    assert.ok(['Never', 'OnFailure'].includes(pod.restartPolicy), name);
    const reception = one(objects, 'Deployment', 'reception').spec.template.spec;
    assert.deepEqual(pod.securityContext, reception.securityContext, `${name}: the services' pod security context`);
    assert.deepEqual(main.securityContext, container(one(objects, 'Deployment', 'reception')).securityContext, `${name}: the services' container security context`);
    assert.ok(main.resources.requests.cpu && main.resources.requests.memory && main.resources.limits.cpu && main.resources.limits.memory, `${name}: resources`);
    assert.equal(pod.automountServiceAccountToken, false, name);
    const tmp = main.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
    assert.ok(tmp && pod.volumes.find((v: Obj) => v.name === tmp.name).emptyDir, `${name}: a writable /tmp`);
    assert.equal(job.metadata.namespace, 'medical', name);

    // Nothing else gets the owner's Secret (the load test's Job included) than the migration Job,
    // the purge (the access log's triggers) and a restore's reconciliation (sequences, every
    // service's inbox and outbox); and only the backend services the role's.
    const owners = [`Job ${job.metadata.name}`, 'CronJob medical-purge', 'Job medical-restore-reconcile'];
    const templates = podTemplates([...objects, ...loadObjects(), ...restore()]);
    for (const owner of owners) assert.ok(templates.some((t) => t.what === owner && JSON.stringify(t.spec).includes(`"${ownerSecret}"`)), `${name}: ${owner} connects as the owner`);
    for (const { what, spec } of templates) {
      const text = JSON.stringify(spec);
      if (!owners.includes(what)) assert.ok(!text.includes(`"${ownerSecret}"`), `${name}: ${what} gets the owner's Secret ${ownerSecret}`);
      const backend = backends.some((b) => what === `Deployment ${b}`);
      if (!backend) assert.ok(!text.includes(`"${role.passwordSecret.name}"`), `${name}: ${what} gets the services' role's Secret`);
    }
  }
});

test('images: medical/<service> built locally for kind or minikube, ACR for AKS', { skip }, () => {
  for (const service of services) {
    const local = container(one(overlay('local'), 'Deployment', service));
    assert.equal(local.image, `medical/${service}:latest`);
    assert.equal(local.imagePullPolicy, 'IfNotPresent', 'images loaded into the cluster, never pulled');
    const azure = container(one(overlay('azure'), 'Deployment', service));
    assert.match(azure.image, new RegExp(`^[a-z0-9]+\\.azurecr\\.io/medical/${service}:[\\w.-]+$`));
  }
  // The migration Job runs from a service image of the same release (every service image holds
  // scripts/migrate.ts and all the services' migrations), which kustomize images: sets with it.
  for (const name of overlays) {
    const job = container(one(overlay(name), 'Job', 'medical-migrate'));
    assert.equal(job.image, container(one(overlay(name), 'Deployment', 'reception')).image, `${name}: the migration Job runs this release's reception image`);
    assert.equal(job.imagePullPolicy, 'IfNotPresent', name);
    // So does the purge (scripts/purge.ts, the same image), which the overlays' images: reach too.
    const purge = container(jobOf(purgeCronJob(overlay(name))));
    assert.equal(purge.image, container(one(overlay(name), 'Deployment', 'reception')).image, `${name}: the purge runs this release's reception image`);
    assert.equal(purge.imagePullPolicy, 'IfNotPresent', name);
  }
  // The restore Job is applied alone: its kustomization names the image, which the operator sets
  // to the release's (kustomize edit set image), as for the overlays.
  const restoring = container(restoreJob(restore()));
  assert.match(restoring.image, /^medical\/reception(:[\w.-]+)?$/, 'restore: a service image (reception\'s), by the name kustomize edit set image replaces');
  assert.equal(restoring.imagePullPolicy, 'IfNotPresent');
});

test('examination keeps its attachments on a shared volume at /mnt/data (ReadWriteMany on azurefile-csi in AKS)', { skip }, () => {
  const expected = { local: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard' }, azure: { accessModes: ['ReadWriteMany'], storageClassName: 'azurefile-csi' } };
  for (const name of overlays) {
    const objects = overlay(name);
    const deployment = one(objects, 'Deployment', 'examination');
    const mount = container(deployment).volumeMounts.find((m: Obj) => m.mountPath === '/mnt/data');
    assert.ok(mount, `${name}: /mnt/data mounted`);
    const volume = deployment.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
    const claim = one(objects, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    // local-path (kind) provisions ReadWriteOnce only; on one node that is shared by every pod.
    assert.deepEqual(claim.spec.accessModes, expected[name].accessModes, name);
    assert.equal(claim.spec.storageClassName, expected[name].storageClassName, name);
    assert.equal(containerEnv(objects, deployment).ATTACHMENTS_DIR, '/mnt/data/attachments', name);
  }
});

test('Kafka through Strimzi in KRaft mode with its three topics (events, dead letters, access log), PostgreSQL through CloudNativePG, both outside the mesh', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const [kafka, ...others] = find(objects, 'Kafka');
    assert.ok(kafka && others.length === 0, `${name}: one Kafka`);
    assert.equal(kafka.metadata.annotations?.['strimzi.io/kraft'], 'enabled');
    assert.equal(kafka.metadata.annotations?.['strimzi.io/node-pools'], 'enabled');
    assert.equal(kafka.spec.zookeeper, undefined, 'no ZooKeeper');
    assert.ok(kafka.spec.entityOperator?.topicOperator, `${name}: the Topic Operator creates the KafkaTopics`);
    const pools = find(objects, 'KafkaNodePool').filter((p) => p.metadata.labels?.['strimzi.io/cluster'] === kafka.metadata.name);
    const roles = new Set(pools.flatMap((p) => p.spec.roles as string[]));
    assert.ok(roles.has('controller') && roles.has('broker'), `${name}: KRaft controllers and brokers`);
    const brokers = pools.filter((p) => p.spec.roles.includes('broker')).reduce((sum, p) => sum + p.spec.replicas, 0);
    const replicationFactor = Number(containerEnv(objects, one(objects, 'Deployment', 'reception')).KAFKA_REPLICATION_FACTOR ?? 1);

    const topics = new Map(find(objects, 'KafkaTopic').map((t) => [t.spec.topicName ?? t.metadata.name, t]));
    assert.deepEqual([...topics.keys()].sort(), ['medical', 'medical.access-log', 'medical.dlq'], name);
    // The topics the services' settings name are these.
    const serviceConfig = loadConfig('reception', 8080, containerEnv(objects, one(objects, 'Deployment', 'reception')));
    assert.deepEqual([serviceConfig.topic, serviceConfig.deadLetterTopic, serviceConfig.accessLogTopic].sort(), [...topics.keys()].sort(), `${name}: KAFKA_TOPIC, DEAD_LETTER_TOPIC, ACCESS_LOG_TOPIC`);
    for (const [topicName, topic] of topics) {
      assert.equal(topic.metadata.labels?.['strimzi.io/cluster'], kafka.metadata.name, `${name}: ${topicName} cluster`);
      assert.equal(topic.spec.partitions, 3, `${name}: ${topicName} partitions`);
      assert.ok(topic.spec.replicas <= brokers, `${name}: ${topicName} fits on ${brokers} brokers`);
      // A service that starts before the Topic Operator creates the topic the same way.
      assert.equal(topic.spec.replicas, replicationFactor, `${name}: ${topicName} replicas = KAFKA_REPLICATION_FACTOR`);
    }
    // The access log's topic is placed as the event topic is; its retention is its own (the
    // retention table's, the next test).
    const accessLogTopic = topics.get('medical.access-log')!;
    assert.deepEqual(accessLogTopic.metadata.labels, { 'strimzi.io/cluster': kafka.metadata.name }, `${name}: access-log topic labels`);
    const placement = (topic: Obj) => ({ partitions: topic.spec.partitions, replicas: topic.spec.replicas, minInSync: topic.spec.config['min.insync.replicas'] });
    assert.deepEqual(placement(accessLogTopic), placement(topics.get('medical')!), `${name}: the access-log topic has the event topic's partitions, replicas and min.insync.replicas`);

    const cluster = one(objects, 'Cluster', 'postgres');
    assert.equal(cluster.apiVersion, 'postgresql.cnpg.io/v1');
    assert.deepEqual({ database: cluster.spec.bootstrap.initdb.database, owner: cluster.spec.bootstrap.initdb.owner }, { database: 'medical', owner: 'medical' });
    assert.equal(cluster.spec.inheritedMetadata?.annotations?.['sidecar.istio.io/inject'], 'false', `${name}: PostgreSQL pods without a sidecar`);
    for (const pool of pools) assert.equal(pool.spec.template?.pod?.metadata?.annotations?.['sidecar.istio.io/inject'], 'false', `${name}: brokers without a sidecar`);
    // Strimzi copies the Kafka resource's part-of label to its pods, which have no /metrics on 8080.
    for (const object of [kafka, ...pools]) assert.notEqual(object.metadata.labels?.['app.kubernetes.io/part-of'], partOf, `${name}: ${object.kind} not scraped as a service`);
  }
  assert.equal(find(overlay('local'), 'KafkaNodePool')[0]!.spec.replicas, 1);
  assert.equal(one(overlay('local'), 'Cluster', 'postgres').spec.instances, 1);
  assert.equal(find(overlay('azure'), 'KafkaNodePool')[0]!.spec.replicas, 3);
  assert.equal(one(overlay('azure'), 'Cluster', 'postgres').spec.instances, 3);
});

/** Each topic's kind in the retention table (packages/platform/src/retention/policy.ts). */
const topicKinds: Record<string, RetentionKind> = { medical: 'event-log', 'medical.dlq': 'dead-letters', 'medical.access-log': 'access-log-topic' };

test('every Kafka topic keeps its records (retention.ms) as long as the retention table says for its kind, in every overlay', { skip }, () => {
  // The table's periods, as topics.yaml's comments give them: the event log and the dead letters
  // for good, the access records on their way to the keeper 90 days.
  assert.deepEqual(Object.values(topicKinds).map((kind) => retentionMs(kind)), [-1, -1, 90 * 24 * 3600 * 1000]);
  for (const name of overlays) {
    const objects = overlay(name);
    const topics = find(objects, 'KafkaTopic');
    assert.deepEqual(topics.map((t) => t.spec.topicName ?? t.metadata.name).sort(), Object.keys(topicKinds).sort(), `${name}: a kind for every topic`);
    // The services create a missing topic with the table's retention too (config.topicRetentionMs).
    const config = loadConfig('reception', 8080, containerEnv(objects, one(objects, 'Deployment', 'reception')));
    for (const topic of topics) {
      const topicName = topic.spec.topicName ?? topic.metadata.name;
      const kind = topicKinds[topicName]!;
      const declared = topic.spec.config?.['retention.ms'];
      assert.equal(typeof declared, 'number', `${name}: ${topicName} states retention.ms, as a number`);
      assert.equal(declared, retentionMs(kind), `${name}: ${topicName} kept as the retention table keeps ${kind}`);
      assert.equal(config.topicRetentionMs[topicName], declared, `${name}: ${topicName}: a service would create it with the same retention`);
    }
  }
});

/** The paths the gateway serves, from its own router: a new route without an Istio route fails. */
async function gatewayPaths(): Promise<string[]> {
  // DATA_DIR: the development identity provider keeps its signing key there.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-gateway-routes-'));
  // The development provider's routes are among those served; nothing listens.
  const app = await buildGateway(loadGatewayConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, AUTH_MODE: 'dev' }), createMetrics('gateway'));
  try {
    await app.ready();
    // The router's tree, one node per line, indented four characters per level under its parent.
    const tree = app.printRoutes({ commonPrefix: false });
    const parents: string[] = [];
    const paths: string[] = [];
    for (const [, indent, segment] of tree.matchAll(/^((?:[│ ] {3})*)[├└]── (\S+) \(/gmu)) {
      const depth = indent!.length / 4;
      const parent = parents[depth - 1] ?? '';
      const full = depth === 0 ? segment! : `${parent.replace(/\/$/, '')}/${segment!.replace(/^\//, '')}`;
      parents[depth] = full;
      paths.push(full);
    }
    return paths;
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

test('authentication: the local overlay runs the development provider in one gateway, AKS an OpenID Connect provider; the mesh checks the same issuer', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const issuers = new Set<string>();
    for (const service of services) {
      const where = `${name}/${service}`;
      const env = containerEnv(objects, one(objects, 'Deployment', service));
      // The services' own loader accepts it (the development provider refuses NODE_ENV=production).
      const auth = loadAuthConfig(env);
      assert.equal(auth.mode, name === 'local' ? 'dev' : 'oidc', `${where}: AUTH_MODE`);
      issuers.add(auth.issuer);
    }
    assert.equal(issuers.size, 1, `${name}: every service trusts the same issuer: ${[...issuers].join(', ')}`);
    const [issuer] = [...issuers];
    const requestAuthentication = one(objects, 'RequestAuthentication', 'bearer-tokens');
    assert.deepEqual(requestAuthentication.spec.jwtRules.map((r: Obj) => r.issuer), [issuer], `${name}: the mesh checks the services' issuer`);
    assert.equal(requestAuthentication.spec.jwtRules[0].forwardOriginalToken, true, `${name}: the token reaches the services, which verify it again`);
    const policy = one(objects, 'AuthorizationPolicy', 'require-token');
    assert.equal(policy.spec.action, 'ALLOW');
    assert.ok(policy.spec.rules.some((r: Obj) => r.from?.some((f: Obj) => f.source?.requestPrincipals?.includes('*'))), `${name}: a token is what lets a request in`);
    if (name === 'azure') assert.match(issuer!, /^https:\/\/login\.microsoftonline\.com\/.+\/v2\.0$/, 'Entra ID on AKS');
  }
});

test('Istio: the namespace is injected, every public path goes to the gateway, mTLS is STRICT, each service has a DestinationRule', { skip }, async () => {
  const paths = await gatewayPaths();
  for (const prefix of loadGatewayConfig({ AUTH_MODE: 'dev' }).upstreams.flatMap((u) => u.prefixes)) assert.ok(paths.includes(prefix), `the gateway serves ${prefix}`);
  for (const name of overlays) {
    const objects = overlay(name);
    assert.equal(one(objects, 'Namespace', 'medical').metadata.labels?.['istio-injection'], 'enabled');

    const gateways = find(objects, 'Gateway');
    assert.equal(gateways.length, 1);
    assert.equal(gateways[0]!.spec.selector.istio, 'ingressgateway');
    const [virtualService, ...more] = find(objects, 'VirtualService');
    assert.ok(virtualService && more.length === 0);
    assert.deepEqual(virtualService.spec.gateways, [gateways[0]!.metadata.name]);
    const routes = virtualService.spec.http as Obj[];
    for (const route of routes) {
      // DESIGN.md: one entry point; the VirtualService never bypasses the gateway.
      assert.deepEqual(route.route.map((r: Obj) => [r.destination.host, r.destination.port.number]), [['gateway.medical.svc.cluster.local', 8080]], `${name}: ${route.name}`);
    }
    const matches = routes.flatMap((r) => r.match as Obj[]).map((m) => m.uri);
    const routed = (p: string) => matches.some((uri) => (uri.exact !== undefined ? uri.exact === p : p.startsWith(uri.prefix)));
    for (const p of paths) {
      if (p === '/metrics') assert.ok(!routed(p), `${name}: /metrics stays inside the cluster`);
      else assert.ok(routed(p), `${name}: the VirtualService routes ${p}`);
    }
    assert.ok(routed('/receptions/1/confirm') && routed('/openapi/reception.json') && routed('/healthz'));
    // The patient registry (reception) and a patient's access log (patient-management) go through
    // the gateway on the API's route (its timeout and retries), as /patientManagements does.
    assert.ok(paths.includes('/patients'), 'the gateway serves the registry and a patient\'s access log under /patients');
    const routeOf = (p: string) => routes.find((r) => (r.match as Obj[]).some((m) => (m.uri.exact !== undefined ? m.uri.exact === p : p.startsWith(m.uri.prefix))));
    assert.ok(routeOf('/patients/P-0001/access-log'), `${name}: the VirtualService routes /patients/{patientId}/access-log`);
    assert.equal(routeOf('/patients/P-0001/access-log'), routeOf('/patientManagements/1'), `${name}: /patients on the same route as /patientManagements`);
    // Istio takes the first route that matches: the live stream's, without a timeout, before the API's 15 s.
    const streamRoute = routes.findIndex((r) => (r.match as Obj[]).some((m) => m.uri.exact === '/patientManagements/stream'));
    const apiRoute = routes.findIndex((r) => (r.match as Obj[]).some((m) => m.uri.prefix === '/patientManagements'));
    assert.ok(streamRoute >= 0 && streamRoute < apiRoute, `${name}: the live stream has a route of its own, ahead of the API's`);
    assert.equal(routes[streamRoute]!.timeout, '0s', `${name}: the live stream is never cut by a route timeout`);

    // What the gateway serves without a token (the console's files among them) passes the mesh without one too.
    const policy = one(objects, 'AuthorizationPolicy', 'require-token');
    const tokenless = (policy.spec.rules as Obj[]).filter((r) => !r.from).flatMap((r) => (r.to as Obj[]).filter((t) => t.operation.methods.includes('GET')).flatMap((t) => t.operation.paths as string[]));
    const allowed = (p: string) => tokenless.some((pattern) => (pattern.endsWith('*') ? p.startsWith(pattern.slice(0, -1)) : pattern === p));
    const waitingRoomPages = ['/display/:department', '/ticket/:token'];
    for (const p of paths.filter((p) => p === '/' || p === '/index.html' || p.startsWith('/assets/') || p.startsWith('/console/') || waitingRoomPages.includes(p))) {
      assert.ok(allowed(p), `${name}: the mesh lets ${p} through without a token`);
    }
    for (const route of publicApiRoutes) assert.ok(allowed(route.path), `${name}: the mesh lets the public ${route.path} through without a token`);
    assert.ok(!allowed('/queues/surgery') && !allowed('/patientManagements/waiting-times'), `${name}: the queues and the waiting times need a token`);
    // The call screens' streams, open all day, have a route of their own without a timeout, ahead of the API's.
    const queueStream = routes.findIndex((r) => (r.match as Obj[]).some((m) => m.uri.regex !== undefined && new RegExp(m.uri.regex).test('/queues/internal-medicine/stream')));
    assert.ok(queueStream >= 0 && queueStream < apiRoute, `${name}: the call screens' streams have a route of their own, ahead of the API's`);
    assert.equal(routes[queueStream]!.timeout, '0s', `${name}: a call screen's stream is never cut by a route timeout`);
    assert.ok(!new RegExp((routes[queueStream]!.match as Obj[])[0]!.uri.regex).test('/queues/internal-medicine'), `${name}: the queue itself stays on the API's route`);

    // STRICT for the namespace; the one exception, interop's MLLP port, is the next test's.
    const peer = find(objects, 'PeerAuthentication').filter((p) => p.metadata.namespace === 'medical');
    assert.deepEqual(peer.filter((p) => p.spec.selector === undefined).map((p) => p.spec.mtls.mode), ['STRICT'], `${name}: namespace-wide STRICT mTLS`);
    assert.deepEqual(peer.filter((p) => p.spec.selector !== undefined).map((p) => p.metadata.name), ['interop-mllp'], `${name}: no workload's own PeerAuthentication but interop's MLLP port`);
    for (const service of services) {
      // Istio's metrics merging serves the app's /metrics on the sidecar's plain-text port.
      const annotations = one(objects, 'Deployment', service).spec.template.metadata.annotations;
      assert.equal(annotations['prometheus.io/port'], '8080', `${name}/${service}`);
      const rule = one(objects, 'DestinationRule', service);
      assert.equal(rule.spec.host, `${service}.medical.svc.cluster.local`);
      assert.ok(rule.spec.trafficPolicy.connectionPool.tcp.maxConnections > 0, `${name}/${service}: connection pool`);
      assert.ok(rule.spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests > 0, `${name}/${service}: pending requests bound`);
      assert.ok(rule.spec.trafficPolicy.outlierDetection.baseEjectionTime, `${name}/${service}: outlier detection`);
    }
  }
});

// Was: the dashboards are reachable through an Ingress in istio-system. They have no login and
// show the whole system's traffic, so the locked-down cluster reaches them by port-forward only.
test('the mesh dashboards (Kiali, Grafana, Prometheus, Jaeger) have no public route: no Ingress, no host, no destination', { skip }, () => {
  const dashboards = /kiali|grafana|prometheus|jaeger|tracing|zipkin/i;
  for (const name of overlays) {
    const objects = overlay(name);
    assert.deepEqual(find(objects, 'Ingress').concat(find(objects, 'IngressClass')).map((o) => o.metadata.name), [], `${name}: no Ingress`);
    assert.ok(!fs.existsSync(path.join(k8sDir, 'istio', 'observability-ingress.yaml')));
    for (const gateway of find(objects, 'Gateway')) {
      for (const host of (gateway.spec.servers as Obj[]).flatMap((s) => s.hosts as string[])) assert.doesNotMatch(host, dashboards, `${name}: Gateway host ${host}`);
    }
    for (const virtualService of find(objects, 'VirtualService')) {
      for (const host of virtualService.spec.hosts as string[]) assert.doesNotMatch(host, dashboards, `${name}: VirtualService host ${host}`);
      for (const route of virtualService.spec.http as Obj[]) {
        for (const destination of route.route as Obj[]) assert.doesNotMatch(destination.destination.host, dashboards, `${name}: ${route.name}`);
      }
    }
    // No network policy lets anyone to Kiali, Grafana or Jaeger's UI through the workflow either
    // (Prometheus appears as the scraper, Jaeger's collector as the services' trace sink).
    for (const policy of find(objects, 'NetworkPolicy')) assert.doesNotMatch(JSON.stringify(policy.spec), /kiali|grafana|tracing/, `${name}: ${policy.metadata.name}`);
  }
});

test('everything of the workflow is in the medical namespace; the ingress certificate (and its local issuer) in istio-system', { skip }, () => {
  for (const name of overlays) {
    for (const object of overlay(name)) {
      // Cluster-scoped kinds.
      if (['Namespace', 'ClusterIssuer', 'VolumeSnapshotClass'].includes(object.kind)) continue;
      // The ingress gateway reads its certificate from its own namespace.
      const expected = ['Certificate', 'Issuer'].includes(object.kind) ? 'istio-system' : 'medical';
      assert.equal(object.metadata.namespace, expected, `${name}: ${object.kind} ${object.metadata.name}`);
    }
  }
});

test('HTTPS at the ingress: a cert-manager Certificate per overlay\'s issuer, its Secret on the Gateway\'s 443, port 80 only redirects, one named host', { skip }, () => {
  // medical.localtest.me: a public DNS name whose every address is 127.0.0.1 (README step 7).
  const expected = { local: { host: 'medical.localtest.me', issuer: 'selfSigned' }, azure: { host: 'medical.hospital.example', issuer: 'acme' } };
  for (const name of overlays) {
    const objects = overlay(name);
    const [gateway] = find(objects, 'Gateway');
    const servers = gateway!.spec.servers as Obj[];
    const https = servers.find((s) => s.port.protocol === 'HTTPS');
    assert.ok(https, `${name}: an HTTPS server`);
    // The certificate cert-manager keeps in the Secret the HTTPS server serves, in istio-system:
    // Istio's ingress gateway reads the Secrets of its own namespace only.
    const certificates = find(objects, 'Certificate').filter((c) => c.spec.secretName === https.tls.credentialName);
    assert.equal(certificates.length, 1, `${name}: one Certificate writes ${https.tls.credentialName}`);
    const certificate = certificates[0]!;
    assert.equal(certificate.metadata.namespace, 'istio-system', name);
    assert.deepEqual(certificate.spec.dnsNames, [expected[name].host], `${name}: the certificate's name`);
    assert.notEqual(certificate.spec.isCA, true, name);

    // The issuer is the overlay's own and of the kind the overlay says, following a CA issuer to
    // the certificate that made its CA.
    const issuerOf = (subject: Obj): Obj => {
      const reference = subject.spec.issuerRef;
      assert.equal(reference.group ?? 'cert-manager.io', 'cert-manager.io', name);
      const issuer = reference.kind === 'ClusterIssuer'
        ? one(objects, 'ClusterIssuer', reference.name)
        : find(objects, 'Issuer', reference.name).find((i) => i.metadata.namespace === subject.metadata.namespace);
      assert.ok(issuer, `${name}: the issuer ${reference.kind} ${reference.name} is rendered with the overlay`);
      if (!issuer.spec.ca) return issuer;
      const ca = find(objects, 'Certificate').find((c) => c.spec.secretName === issuer.spec.ca.secretName && c.metadata.namespace === issuer.metadata.namespace);
      assert.ok(ca?.spec.isCA, `${name}: the CA of ${issuer.metadata.name} is a CA certificate of the overlay`);
      return issuerOf(ca);
    };
    const issuer = issuerOf(certificate);
    assert.ok(issuer.spec[expected[name].issuer], `${name}: a ${expected[name].issuer} issuer`);
    if (name === 'azure') {
      assert.match(issuer.spec.acme.server, /^https:\/\//, 'an ACME directory over HTTPS');
      // Port 80 only redirects, so the challenge cannot be HTTP-01.
      assert.ok((issuer.spec.acme.solvers as Obj[]).every((solver) => solver.dns01 && !solver.http01), 'DNS-01');
    }

    assert.deepEqual(servers.map((s) => [s.port.number, s.port.protocol]).sort(), [[443, 'HTTPS'], [80, 'HTTP']], `${name}: HTTP and HTTPS, nothing else`);
    const http = servers.find((s) => s.port.protocol === 'HTTP')!;
    assert.deepEqual(http.tls, { httpsRedirect: true }, `${name}: port 80 answers with a redirect to https:// only`);
    assert.equal(https.tls.mode, 'SIMPLE', name);
    assert.equal(https.tls.credentialName, certificate.spec.secretName, `${name}: the Gateway serves cert-manager's Secret`);
    assert.ok(['TLSV1_2', 'TLSV1_3'].includes(https.tls.minProtocolVersion), `${name}: no TLS before 1.2`);

    // One name everywhere, never "*": the edge answers for the certificate's name only.
    const [virtualService] = find(objects, 'VirtualService');
    const hosts = [...servers.flatMap((s) => s.hosts as string[]), ...(virtualService!.spec.hosts as string[])];
    for (const host of hosts) assert.equal(host, expected[name].host, `${name}: host ${host}`);
  }
});

test('Kafka: one TLS listener with client certificates and ACLs, a KafkaUser per service allowing its topics and its own groups only, the gateway writing the access log only, each mounted with the cluster CA', { skip }, () => {
  // Which services publish to the event topic: the three command services. patient-management is
  // the read model: it consumes every event and emits none (its only writes are dead letters and
  // its own access records); it alone reads the access log, which it keeps.
  const publishers = new Set(['reception', 'diagnosis', 'examination']);
  const accessLogKeeper = 'patient-management';
  for (const name of overlays) {
    const objects = overlay(name);
    const [kafka] = find(objects, 'Kafka');
    const listener = tlsListener(kafka!);
    assert.equal(listener.tls, true, `${name}: TLS`);
    assert.deepEqual(listener.authentication, { type: 'tls' }, `${name}: mutual TLS`);
    assert.equal(listener.type, 'internal', name);
    assert.equal(kafka!.spec.kafka.authorization?.type, 'simple', `${name}: ACLs enforced`);
    const userOperator = kafka!.spec.entityOperator.userOperator;
    assert.ok(userOperator, `${name}: the User Operator turns the KafkaUsers into certificates and ACLs`);
    const secretPrefix = userOperator.secretPrefix ?? '';

    const users = find(objects, 'KafkaUser');
    assert.deepEqual(users.map((u) => u.metadata.name).sort(), [...services].sort(), `${name}: one user per process that uses Kafka: the five services and the gateway`);
    for (const service of services) {
      const user = one(objects, 'KafkaUser', service);
      const where = `${name}/${service}`;
      assert.equal(user.metadata.labels?.['strimzi.io/cluster'], kafka!.metadata.name, where);
      assert.deepEqual(user.spec.authentication, { type: 'tls' }, `${where}: a client certificate`);
      assert.equal(user.spec.authorization.type, 'simple', where);
    }
    for (const service of backends) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      const env = containerEnv(objects, deployment);
      const config = loadConfig(service, 8080, env);
      const user = one(objects, 'KafkaUser', service);
      // Exactly these rules (Read and Write imply Describe): nothing with a prefix, no cluster or
      // transactional resource, no other topic or group, no "All".
      const topicOperations = publishers.has(service) ? 'Describe,Read,Write' : 'Describe,Read';
      const keeper = service === accessLogKeeper;
      assert.deepEqual(aclLines(user, where), [
        `group ${config.consumerGroup} literal: Describe,Read`,
        ...(keeper ? [`group ${config.consumerGroup}.access-log literal: Describe,Read`] : []),
        `topic ${config.deadLetterTopic} literal: Describe,Write`,
        `topic ${config.topic} literal: ${topicOperations}`,
        `topic ${config.accessLogTopic} literal: ${keeper ? 'Describe,Read,Write' : 'Describe,Write'}`,
      ].sort(), `${where}: its topics (its access records among them), its own consumer groups`);
      for (const topic of topicsCheckedAtStart(config)) assert.ok(describableTopics(user).includes(topic), `${where}: may describe ${topic}, which its transport checks at start`);

      // The settings the services read for TLS to Kafka, and the files they name, from the
      // cluster CA's Secret and the user's own.
      assert.equal(env.KAFKA_TLS, 'true', `${where}: KAFKA_TLS`);
      assert.deepEqual(fileSource(deployment, env.KAFKA_TLS_CA_FILE!), { secret: `${kafka!.metadata.name}-cluster-ca-cert`, key: 'ca.crt' }, `${where}: brokers verified against Strimzi's cluster CA`);
      assert.deepEqual(fileSource(deployment, env.KAFKA_TLS_CERT_FILE!), { secret: `${secretPrefix}${service}`, key: 'user.crt' }, `${where}: its own certificate`);
      assert.deepEqual(fileSource(deployment, env.KAFKA_TLS_KEY_FILE!), { secret: `${secretPrefix}${service}`, key: 'user.key' }, `${where}: its own key`);
      for (const other of services.filter((b) => b !== service)) {
        assert.doesNotMatch(JSON.stringify(deployment.spec.template.spec.volumes), new RegExp(`"${secretPrefix}${other}"`), `${where}: never another's certificate`);
      }
    }

    // The gateway writes the access records of the refusals it answers itself, and nothing else:
    // no event, no dead letter, no read, no group.
    const where = `${name}/gateway`;
    const gateway = one(objects, 'Deployment', 'gateway');
    const env = containerEnv(objects, gateway);
    const accessLog = loadGatewayConfig(env).accessLog;
    const user = one(objects, 'KafkaUser', 'gateway');
    assert.deepEqual(aclLines(user, where), [`topic ${accessLog.accessLogTopic} literal: Describe,Write`], `${where}: write the access-log topic, only that`);
    for (const topic of topicsCheckedAtStart(accessLog)) assert.ok(describableTopics(user).includes(topic), `${where}: may describe ${topic}, which its transport checks at start`);
    // The same settings and files as the services, its own user's certificate.
    assert.equal(env.KAFKA_TLS, 'true', `${where}: KAFKA_TLS`);
    assert.deepEqual(accessLog.kafka?.tls, { caFile: env.KAFKA_TLS_CA_FILE, certFile: env.KAFKA_TLS_CERT_FILE, keyFile: env.KAFKA_TLS_KEY_FILE }, `${where}: its loader reads the three files`);
    assert.deepEqual(fileSource(gateway, env.KAFKA_TLS_CA_FILE!), { secret: `${kafka!.metadata.name}-cluster-ca-cert`, key: 'ca.crt' }, `${where}: brokers verified against Strimzi's cluster CA`);
    assert.deepEqual(fileSource(gateway, env.KAFKA_TLS_CERT_FILE!), { secret: `${secretPrefix}gateway`, key: 'user.crt' }, `${where}: its own certificate`);
    assert.deepEqual(fileSource(gateway, env.KAFKA_TLS_KEY_FILE!), { secret: `${secretPrefix}gateway`, key: 'user.key' }, `${where}: its own key`);
    for (const other of backends) {
      assert.doesNotMatch(JSON.stringify(gateway.spec.template.spec.volumes), new RegExp(`"${secretPrefix}${other}"`), `${where}: never a service's certificate`);
    }
    // No database: nothing of PostgreSQL's in the gateway's pod.
    assert.doesNotMatch(JSON.stringify(gateway.spec.template.spec), /postgres/, `${where}: no database credentials or CA`);
  }
});

test('PostgreSQL over TLS: DATABASE_URL with sslmode=verify-full against CloudNativePG\'s CA, and the server refuses plain connections', { skip }, async () => {
  const { default: pg } = await import('pg');
  for (const name of overlays) {
    const objects = overlay(name);
    const cluster = one(objects, 'Cluster', 'postgres');
    assert.ok((cluster.spec.postgresql.pg_hba as string[]).includes('hostnossl all all all reject'), `${name}: no connection without TLS`);
    // The five services, and the migration Job, the purge and the restore Job, which connect as
    // the owner the same way.
    const owners = [['migrate', migrateJob(objects)], ['purge', jobOf(purgeCronJob(objects))], ['restore', restoreJob(restore())]] as const;
    for (const [service, deployment] of [...backends.map((b) => [b, one(objects, 'Deployment', b)] as const), ...owners]) {
      const where = `${name}/${service}`;
      const env = containerEnv([...objects, ...restore()], deployment);
      const url = new URL(env.DATABASE_URL!);
      assert.equal(url.searchParams.get('sslmode'), 'verify-full', `${where}: the server's certificate and name are verified`);
      const rootCert = url.searchParams.get('sslrootcert')!;
      assert.deepEqual(fileSource(deployment, rootCert), { secret: `${cluster.metadata.name}-ca`, key: 'ca.crt' }, `${where}: trusts CloudNativePG's cluster CA, its certificate only`);

      // The driver the services use reads the CA from that URL and verifies (no code needed).
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-pg-ca-'));
      try {
        fs.writeFileSync(path.join(dir, 'ca.crt'), 'sample CA');
        url.searchParams.set('sslrootcert', path.join(dir, 'ca.crt'));
        // The parameters the client connects with (the driver's, not in its type declarations),
        // with the container's PGPASSWORD (the services': their role's password) in the environment.
        const saved = process.env.PGPASSWORD;
        if (env.PGPASSWORD === undefined) delete process.env.PGPASSWORD;
        else process.env.PGPASSWORD = env.PGPASSWORD;
        try {
          const client = new pg.Client({ connectionString: url.toString() }) as unknown as { connectionParameters: { user: string; password?: string; ssl: { ca?: string; rejectUnauthorized?: boolean } } };
          const { ssl, user, password } = client.connectionParameters;
          assert.equal(ssl.ca, 'sample CA', `${where}: pg loads the CA`);
          assert.notEqual(ssl.rejectUnauthorized, false, `${where}: pg verifies`);
          // pg connects as the URL's user, with the URL's password or else PGPASSWORD's.
          assert.equal(user, decodeURIComponent(url.username), where);
          assert.ok(password, `${where}: pg has a password to send`);
          assert.equal(password, url.password ? decodeURIComponent(url.password) : env.PGPASSWORD, where);
        } finally {
          if (saved === undefined) delete process.env.PGPASSWORD;
          else process.env.PGPASSWORD = saved;
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
});

// ---- high availability and backups (issue 19) ------------------------------------------------

/** The pods a label selector picks among the Deployments' templates, by Deployment name. */
function deploymentsSelected(objects: Obj[], selector: Obj): string[] {
  return find(objects, 'Deployment').filter((d) => selects(selector, d.spec.template.metadata.labels)).map((d) => d.metadata.name);
}

test('high availability: every service on two zones and two replicas on AKS, PostgreSQL synchronous over three zones, Kafka on three nodes with two in sync', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    for (const service of services) {
      const where = `${name}/${service}`;
      const deployment = one(objects, 'Deployment', service);
      const constraints = (deployment.spec.template.spec.topologySpreadConstraints ?? []) as Obj[];
      for (const topologyKey of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
        const constraint = constraints.find((c) => c.topologyKey === topologyKey);
        assert.ok(constraint, `${where}: replicas spread over ${topologyKey}`);
        assert.equal(constraint.maxSkew, 1, `${where}: ${topologyKey} maxSkew`);
        // A preference: a zone down or a full node never leaves a replica Pending, and kind's one
        // node, which has no zone label, still takes every pod.
        assert.equal(constraint.whenUnsatisfiable, 'ScheduleAnyway', `${where}: ${topologyKey}`);
        assert.deepEqual(deploymentsSelected(objects, constraint.labelSelector), [service], `${where}: ${topologyKey} counts this service's own pods, only them`);
      }
    }
  }

  const objects = overlay('azure');
  for (const service of services) {
    const where = `azure/${service}`;
    const hpa = one(objects, 'HorizontalPodAutoscaler', service);
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas >= hpa.spec.minReplicas, `${where}: two replicas at least`);
    const pdb = one(objects, 'PodDisruptionBudget', service);
    assert.deepEqual([pdb.spec.minAvailable, pdb.spec.maxUnavailable, pdb.spec.unhealthyPodEvictionPolicy], [1, undefined, 'AlwaysAllow'], `${where}: a drain keeps one replica`);
    assert.deepEqual(deploymentsSelected(objects, pdb.spec.selector), [service], `${where}: the PDB covers this service's pods`);
  }

  // PostgreSQL: three instances, one per zone, a quorum of one synchronous standby, and a failover
  // only to a standby known to hold every acknowledged commit.
  const cluster = one(objects, 'Cluster', 'postgres');
  assert.equal(cluster.spec.instances, 3, 'azure: a primary and two standbys');
  assert.equal(cluster.spec.minSyncReplicas, undefined, 'azure: the current API (postgresql.synchronous), not the deprecated one');
  const synchronous = cluster.spec.postgresql.synchronous;
  assert.ok(synchronous, 'azure: synchronous replication');
  assert.deepEqual({ method: synchronous.method, number: synchronous.number }, { method: 'any', number: 1 }, 'azure: a commit waits for one standby of the two');
  assert.equal(synchronous.dataDurability ?? 'required', 'required', 'azure: writes wait rather than go unreplicated');
  assert.equal(synchronous.failoverQuorum, true, 'azure: no promotion of a standby that may lack acknowledged commits');
  assert.ok(synchronous.number < cluster.spec.instances - 1, 'azure: one standby may go without stopping the writes');
  assert.notEqual(cluster.spec.affinity?.enablePodAntiAffinity, false, 'azure: anti-affinity on');
  assert.equal(cluster.spec.affinity?.topologyKey, 'topology.kubernetes.io/zone', 'azure: instances in different zones');
  assert.equal(cluster.spec.affinity?.podAntiAffinityType, 'required', 'azure: never two instances in one zone');
  // One instance locally: a synchronous standby that does not exist would stop every write.
  assert.equal(one(overlay('local'), 'Cluster', 'postgres').spec.postgresql.synchronous, undefined, 'local: no synchronous replication with one instance');

  // Kafka: three dual-role nodes over the zones, every partition on three brokers, two in sync.
  const [kafka] = find(objects, 'Kafka');
  const pools = find(objects, 'KafkaNodePool').filter((p) => p.metadata.labels?.['strimzi.io/cluster'] === kafka!.metadata.name);
  const count = (role: string) => pools.filter((p) => p.spec.roles.includes(role)).reduce((sum, p) => sum + p.spec.replicas, 0);
  assert.deepEqual([count('broker'), count('controller')], [3, 3], 'azure: three brokers, a KRaft quorum of three');
  assert.equal(kafka!.spec.kafka.rack?.topologyKey, 'topology.kubernetes.io/zone', 'azure: brokers and replicas spread over the zones');
  const config = kafka!.spec.kafka.config;
  assert.deepEqual(
    ['default.replication.factor', 'min.insync.replicas', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'transaction.state.log.min.isr'].map((key) => Number(config[key])),
    [3, 2, 3, 3, 2],
    'azure: the brokers\' defaults and internal topics: three replicas, two in sync',
  );
  const topics = find(objects, 'KafkaTopic');
  assert.ok(topics.length > 0, 'azure: topics');
  for (const topic of topics) {
    assert.equal(topic.spec.replicas, 3, `azure: ${topic.metadata.name} on three brokers`);
    assert.equal(Number(topic.spec.config['min.insync.replicas']), 2, `azure: ${topic.metadata.name}: an acknowledged write is on two brokers`);
  }
});

/** A six-field CloudNativePG schedule (seconds first) that runs once a day, at a fixed time. */
function isDailySchedule(schedule: string): boolean {
  const fields = schedule.trim().split(/\s+/);
  return fields.length === 6 && fields.slice(0, 3).every((f) => /^\d+$/.test(f)) && fields.slice(3).every((f) => f === '*');
}
const retentionDays = (policy: string) => Number(policy.slice(0, -1)) * { d: 1, w: 7, m: 30 }[policy.slice(-1) as 'd' | 'w' | 'm'];

test('backups on AKS: PostgreSQL\'s WAL archived and a nightly base backup to Azure Blob Storage through the Barman Cloud plugin, with workload identity; none locally', { skip }, () => {
  const objects = overlay('azure');
  const cluster = one(objects, 'Cluster', 'postgres');
  // The plugin, not the deprecated in-tree barmanObjectStore (never both: the operator refuses it).
  assert.equal(cluster.spec.backup?.barmanObjectStore, undefined, 'azure: no in-tree barmanObjectStore');
  const archivers = ((cluster.spec.plugins ?? []) as Obj[]).filter((p) => p.isWALArchiver === true && p.enabled !== false);
  assert.equal(archivers.length, 1, 'azure: one WAL archiver');
  const archiver = archivers[0]!;
  assert.equal(archiver.name, 'barman-cloud.cloudnative-pg.io', 'azure: the Barman Cloud plugin archives the WAL');
  const store = one(objects, 'ObjectStore', archiver.parameters?.barmanObjectName);
  assert.equal(store.apiVersion, 'barmancloud.cnpg.io/v1');
  assert.equal(store.metadata.namespace, cluster.metadata.namespace, 'azure: the store beside its cluster');
  assert.equal(archiver.parameters.serverName ?? cluster.metadata.name, cluster.metadata.name, 'azure: the cluster archives under its own name');

  const configuration = store.spec.configuration;
  assert.match(configuration.destinationPath, /^https:\/\/[a-z0-9]{3,24}\.blob\.core\.windows\.net\/medical-backups\/postgres$/, 'azure: a container of Azure Blob Storage');
  assert.ok(configuration.wal?.compression, 'azure: WAL compressed');
  assert.ok(configuration.data?.compression, 'azure: base backups compressed');
  // The restore window: the retention table's period for backups (30 days), no shorter and no longer.
  assert.equal(retentionDays(store.spec.retentionPolicy), keptDays('backups'), `azure: the object store keeps ${store.spec.retentionPolicy}, the retention table ${keptDays('backups')} days`);
  // Credentials: the managed identity of the instances' service account (workload identity), or
  // keys from a Secret that is never committed; never both, never inline.
  const credentials = configuration.azureCredentials as Obj;
  assert.ok(credentials, 'azure: Azure credentials');
  if (credentials.inheritFromAzureAD === true) {
    assert.deepEqual(Object.keys(credentials), ['inheritFromAzureAD'], 'azure: workload identity alone');
    assert.match(cluster.spec.serviceAccountTemplate?.metadata?.annotations?.['azure.workload.identity/client-id'] ?? '', /^[0-9a-f-]{36}$/, 'azure: the instances\' service account names the managed identity');
    assert.equal(cluster.spec.inheritedMetadata?.labels?.['azure.workload.identity/use'], 'true', 'azure: the webhook gives the instances\' pods (and the plugin\'s sidecar) the token');
  } else {
    const references = Object.values(credentials) as Obj[];
    assert.ok(references.length > 0 && references.every((r) => r.name && r.key), 'azure: every credential a Secret\'s key');
    for (const reference of references) assert.deepEqual(find(objects, 'Secret', reference.name), [], `azure: the Secret ${reference.name} is made by hand, never committed`);
  }

  const [schedule, ...moreSchedules] = find(objects, 'ScheduledBackup');
  assert.ok(schedule && moreSchedules.length === 0, 'azure: one ScheduledBackup');
  assert.equal(schedule.spec.cluster.name, cluster.metadata.name, 'azure: of the postgres cluster');
  assert.equal(schedule.spec.method, 'plugin', 'azure: through the plugin');
  assert.equal(schedule.spec.pluginConfiguration?.name, archiver.name, 'azure: the plugin that archives the WAL');
  assert.ok(isDailySchedule(schedule.spec.schedule), `azure: once a day, six fields with seconds first: ${schedule.spec.schedule}`);
  assert.equal(schedule.spec.immediate, true, 'azure: a first base backup at once (WAL alone restores nothing)');
  assert.notEqual(schedule.spec.suspend, true, 'azure: not suspended');

  // No object store on a workstation: no backups there, nothing half-configured.
  const local = overlay('local');
  const backupObjects = ['ObjectStore', 'ScheduledBackup', 'CronJob', 'VolumeSnapshotClass'].flatMap((kind) => find(local, kind)).filter((o) => o !== purgeCronJob(local));
  assert.deepEqual(backupObjects.map((o) => `${o.kind} ${o.metadata.name}`), [], 'local: no backups (the purge is no backup)');
  assert.equal(one(local, 'Cluster', 'postgres').spec.plugins, undefined, 'local: no WAL archiving');
});

/** What the snapshot CronJob's script does against a stand-in kubectl, which records each call. */
function runSnapshotScript(cronJob: Obj, state: { existsToday: boolean; ready: string; listed: Array<[string, Date]> }): { status: number; calls: string[][]; created?: Obj; stderr: string } {
  const main = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-snapshot-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    // Each call's arguments one per line, then a line ---; answers from the files of the state.
    fs.writeFileSync(path.join(bin, 'kubectl'), [
      '#!/bin/bash',
      'printf "%s\\n" "$@" --- >> "$FAKE/calls"',
      'case "$1 $*" in',
      '  create*) cat > "$FAKE/created.yaml" ;;',
      '  delete*) ;;',
      '  *"-o name"*) cat "$FAKE/exists" ;;',
      '  *readyToUse*) cat "$FAKE/ready" ;;',
      '  *" -l "*) cat "$FAKE/list" ;;',
      '  *) echo "unexpected kubectl $*" >&2; exit 2 ;;',
      'esac',
    ].join('\n'), { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'sleep'), '#!/bin/bash\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'exists'), state.existsToday ? 'volumesnapshot.snapshot.storage.k8s.io/today\n' : '');
    fs.writeFileSync(path.join(dir, 'ready'), state.ready);
    fs.writeFileSync(path.join(dir, 'list'), state.listed.map(([name, created]) => `${name} ${created.toISOString().replace(/\.\d+Z$/, 'Z')}\n`).join(''));
    fs.writeFileSync(path.join(dir, 'calls'), '');
    const env: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, FAKE: dir };
    for (const variable of main.env as Obj[]) env[variable.name] = variable.name === 'HOME' ? dir : String(variable.value);
    const [shell, ...flags] = main.command as string[];
    const run = spawnSync(shell!.replace(/^\/bin\//, ''), [...flags, ...main.args], { env, encoding: 'utf8' });
    const calls = fs.readFileSync(path.join(dir, 'calls'), 'utf8').split('---\n').filter((c) => c.length > 0).map((c) => c.replace(/\n$/, '').split('\n'));
    const created = fs.existsSync(path.join(dir, 'created.yaml')) ? (parseYaml(fs.readFileSync(path.join(dir, 'created.yaml'), 'utf8')) as Obj) : undefined;
    return { status: run.status ?? -1, calls, created, stderr: run.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The RBAC verb a kubectl call needs on its resource (get with a name is get, without one list). */
function verbOf(call: string[]): string {
  const [command, , ...rest] = call;
  const withValue = new Set(['-l', '-o', '--field-selector', '-f']);
  const positional = rest.filter((arg, i) => !arg.startsWith('-') && !withValue.has(rest[i - 1]!));
  if (command === 'get') return positional.length > 0 ? 'get' : 'list';
  return command!;
}

/**
 * The attachments' snapshot CronJob of the azure overlay and what it works with: the claim it
 * snapshots (the one examination mounts), the VolumeSnapshotClass it names, and the one Role its
 * service account is bound to, after checking that there is exactly that one binding.
 */
function snapshotCronJob(objects: Obj[]): { cronJob: Obj; env: Record<string, string>; claimName: string; snapshotClass: Obj; role: Obj } {
  // The azure overlay's CronJobs: this one, and the base's purge.
  assert.deepEqual(find(objects, 'CronJob').map((c) => c.metadata.name).sort(), ['attachments-snapshots', 'medical-purge'], 'azure: the snapshots\' CronJob and the purge');
  const cronJob = one(objects, 'CronJob', 'attachments-snapshots');
  const pod = cronJob.spec.jobTemplate.spec.template.spec;
  const env = Object.fromEntries((pod.containers[0].env as Obj[]).map((v) => [v.name, String(v.value)]));
  const examination = one(objects, 'Deployment', 'examination');
  const claimName = (examination.spec.template.spec.volumes as Obj[]).find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName as string;
  const snapshotClass = one(objects, 'VolumeSnapshotClass', env.SNAPSHOT_CLASS!);
  const account = one(objects, 'ServiceAccount', pod.serviceAccountName);
  assert.equal(account.metadata.namespace, 'medical');
  const bindings = [...find(objects, 'RoleBinding'), ...find(objects, 'ClusterRoleBinding')].filter((b) => (b.subjects as Obj[]).some((s) => s.kind === 'ServiceAccount' && s.name === account.metadata.name));
  assert.deepEqual(bindings.map((b) => `${b.kind} ${b.roleRef.kind}`), ['RoleBinding Role'], 'azure: one namespaced Role, no cluster-wide right');
  return { cronJob, env, claimName, snapshotClass, role: one(objects, 'Role', bindings[0]!.roleRef.name) };
}

test('the attachments\' nightly snapshot on AKS: a CronJob that snapshots the examination attachments\' claim with an Azure Files class, as an account that may create, list and delete VolumeSnapshots only', { skip }, () => {
  const objects = overlay('azure');
  const { cronJob, env, claimName, snapshotClass, role } = snapshotCronJob(objects);
  assert.equal(cronJob.metadata.namespace, 'medical');
  const jobSpec = cronJob.spec.jobTemplate.spec;
  const pod = jobSpec.template.spec;

  // The claim examination mounts, with a class of that claim's driver.
  assert.equal(env.SOURCE_PVC, claimName, 'azure: the examination attachments\' claim');
  assert.equal(one(objects, 'PersistentVolumeClaim', claimName).spec.storageClassName, 'azurefile-csi', 'azure: on Azure Files');
  assert.equal(snapshotClass.driver, 'file.csi.azure.com', 'azure: the Azure Files CSI driver snapshots it');
  // Delete: deleting an old VolumeSnapshot deletes the share's snapshot too (attachments-snapshots.yaml).
  assert.equal(snapshotClass.deletionPolicy, 'Delete', 'azure: pruning frees the share\'s snapshots');
  assert.ok(Number(env.RETENTION_DAYS) >= 30, 'azure: 30 days kept');

  // Nightly, one at a time, bounded, and a Job without a sidecar so it ends.
  assert.match(cronJob.spec.schedule, /^\d+ \d+ \* \* \*$/, 'azure: once a day');
  assert.ok(cronJob.spec.timeZone, 'azure: a stated time zone');
  assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid', 'azure: never two at once');
  assert.ok(jobSpec.activeDeadlineSeconds > 0 && jobSpec.backoffLimit >= 0 && jobSpec.backoffLimit <= 5, 'azure: bounded');
  assert.equal(jobSpec.template.metadata.annotations?.['sidecar.istio.io/inject'], 'false', 'azure: no sidecar, so the Job ends');
  assert.equal(pod.restartPolicy, 'Never');
  // A pinned image: a release tag or a digest, never latest.
  assert.match(pod.containers[0].image, /^registry\.k8s\.io\/kubectl:v\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?$/, 'azure: Kubernetes\' kubectl image, pinned');

  // Its own account, bound to one Role: create, list, delete VolumeSnapshots, nothing else; and
  // nothing else runs as it (nor gets a token at all: the restricted pods' test).
  assert.deepEqual((role.rules as Obj[]).map((r) => ({ ...r, verbs: [...r.verbs].sort() })), [{ apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['create', 'delete', 'list'] }], 'azure: the least it needs');
  for (const { what, spec } of podTemplates(objects)) {
    if (what !== `CronJob ${cronJob.metadata.name}`) assert.notEqual(spec.serviceAccountName, pod.serviceAccountName, `azure: ${what} runs as the snapshot account`);
  }
});

test('the attachments\' snapshot script: today\'s snapshot named by the date, once; its own older than the retention deleted only once today\'s is ready; every call within the Role', { skip }, () => {
  const { cronJob, env, claimName, snapshotClass, role } = snapshotCronJob(overlay('azure'));
  const day = 24 * 3600 * 1000;
  const now = Date.now();
  const today = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  const retention = Number(env.RETENTION_DAYS);
  const listed: Array<[string, Date]> = [
    [`${claimName}-${today}`, new Date(now)],
    [`${claimName}-recent`, new Date(now - (retention - 1) * day)],
    [`${claimName}-expired`, new Date(now - (retention + 1) * day)],
    [`${claimName}-ancient`, new Date(now - 400 * day)],
  ];
  const deleted = (calls: string[][]) => calls.filter((c) => c[0] === 'delete').map((c) => c[2]);

  const fresh = runSnapshotScript(cronJob, { existsToday: false, ready: 'true', listed });
  assert.equal(fresh.status, 0, `the script succeeds: ${fresh.stderr}`);
  assert.ok(fresh.created, 'it creates a VolumeSnapshot');
  checkVolumeSnapshot(fresh.created);
  assert.deepEqual([fresh.created.apiVersion, fresh.created.kind], ['snapshot.storage.k8s.io/v1', 'VolumeSnapshot']);
  assert.equal(fresh.created.metadata.name, `${claimName}-${today}`, 'named by the date');
  assert.deepEqual(fresh.created.spec, { volumeSnapshotClassName: snapshotClass.metadata.name, source: { persistentVolumeClaimName: claimName } }, 'of the attachments\' claim, with the Azure Files class');
  assert.deepEqual(deleted(fresh.calls), [`${claimName}-expired`, `${claimName}-ancient`], 'only those older than the retention');
  for (const call of fresh.calls.filter((c) => c[0] === 'delete')) assert.ok(call.includes('--wait=false'), 'a delete that does not then watch (no get or watch right)');
  // Only its own snapshots are candidates: it labels what it makes, and lists by that label.
  assert.equal(fresh.created.metadata.labels?.['app.kubernetes.io/managed-by'], 'attachments-snapshots', 'labels what it makes');
  const listing = fresh.calls.find((c) => c[0] === 'get' && c.includes('-l'))!;
  assert.match(listing[listing.indexOf('-l') + 1]!, /app\.kubernetes\.io\/managed-by=attachments-snapshots/, 'lists its own snapshots only');
  // Every call a verb of the Role, on VolumeSnapshots.
  for (const call of fresh.calls) {
    assert.ok(call[0] === 'create' || /^volumesnapshots?$/.test(call[1]!), `kubectl ${call.join(' ')} is about VolumeSnapshots`);
    assert.ok((role.rules[0].verbs as string[]).includes(verbOf(call)), `kubectl ${call.join(' ')} needs ${verbOf(call)}, which the Role does not grant`);
  }

  // A retry on the same day makes no second snapshot.
  const retry = runSnapshotScript(cronJob, { existsToday: true, ready: 'true', listed });
  assert.equal(retry.status, 0, `a retry succeeds: ${retry.stderr}`);
  assert.equal(retry.created, undefined, 'a retry creates nothing');
  // A snapshot that never gets ready fails the Job and deletes nothing.
  const stuck = runSnapshotScript(cronJob, { existsToday: false, ready: 'false', listed });
  assert.notEqual(stuck.status, 0, 'a snapshot not ready fails the Job');
  assert.deepEqual(deleted(stuck.calls), [], 'and deletes none of the older ones');
});

// ---- operations (issue 19): the nightly purge and a restore's reconciliation ------------------

/** The DATABASE_URL of a container and the Secret's URI it is made of: how it connects to PostgreSQL. */
const ownerConnection = (c: Obj) => ((c.env ?? []) as Obj[]).filter((v) => ['POSTGRES_APP_URI', 'DATABASE_URL'].includes(v.name));

test('the nightly purge: npm run purge at a quiet hour of Seoul\'s night, one at a time, as the schemas\' owner exactly as the migration Job, with the services\' settings and nothing of Kafka', { skip }, () => {
  // The hour of PostgreSQL's nightly base backup on AKS (CloudNativePG's six fields, seconds first).
  const backupHour = Number(find(overlay('azure'), 'ScheduledBackup')[0]!.spec.schedule.trim().split(/\s+/)[2]);
  for (const name of overlays) {
    const objects = overlay(name);
    const cronJob = purgeCronJob(objects);
    const where = `${name}/medical-purge`;
    assert.equal(cronJob.metadata.namespace, 'medical', where);
    // Once a day at a fixed time of the cluster's UTC clock: between 01:00 and 05:59 in Seoul
    // (UTC+9, no daylight saving time), not in the hour of the base backup.
    const schedule = /^(\d+) (\d+) \* \* \*$/.exec(cronJob.spec.schedule);
    assert.ok(schedule, `${where}: once a day at a fixed time: ${cronJob.spec.schedule}`);
    assert.equal(cronJob.spec.timeZone, 'Etc/UTC', `${where}: on UTC, stated`);
    const hour = Number(schedule[2]);
    const seoul = (hour + 9) % 24;
    assert.ok(seoul >= 1 && seoul <= 5, `${where}: ${hour}:00 UTC is ${seoul}:00 in Seoul, not the clinic's quiet night`);
    assert.notEqual(hour, backupHour, `${where}: not in the hour of PostgreSQL's base backup (${backupHour}:00 UTC)`);
    assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid', `${where}: never two at once`);
    assert.ok(cronJob.spec.startingDeadlineSeconds > 0, `${where}: a missed night skipped, not caught up late`);
    const job = jobOf(cronJob);
    assert.ok(job.spec.backoffLimit > 0 && job.spec.backoffLimit <= 10, `${where}: backoffLimit`);
    assert.ok(job.spec.activeDeadlineSeconds > 0, `${where}: a deadline`);

    // npm run purge (the images test: this release's reception image).
    const main = container(job);
    assert.equal(rootScripts.purge, 'node scripts/purge.ts');
    assert.deepEqual([...(main.command ?? []), ...(main.args ?? [])], ['node', 'scripts/purge.ts'], `${where}: npm run purge's command`);
    // As the owner, exactly as the migration Job: its Secret's URI, its TLS settings (the
    // PostgreSQL TLS test checks the CA); only the owner may set the access log's triggers aside.
    assert.equal(ownerConnection(main).length, 2, `${where}: POSTGRES_APP_URI and DATABASE_URL`);
    assert.deepEqual(ownerConnection(main), ownerConnection(container(migrateJob(objects))), `${where}: the migration Job's owner URI and TLS settings`);
    // The services' settings, their retention periods among them: the same ConfigMap.
    assert.deepEqual(main.envFrom, container(one(objects, 'Deployment', 'reception')).envFrom, `${where}: medical-config, as the services read it`);
    const env = containerEnv(objects, job);
    const owner = one(objects, 'Cluster', 'postgres').spec.bootstrap.initdb.owner;
    assert.equal(env.DATABASE_SCHEMA, undefined, `${where}: no DATABASE_SCHEMA, which would put every service in one schema`);
    for (const service of backends) {
      const config = loadConfig(service, 8080, env);
      assert.equal(new URL(config.postgres!.url).username, owner, `${where}: ${service} purged as the owner`);
      assert.equal(config.postgres!.schema, loadConfig(service, 8080, { DATABASE_URL: env.DATABASE_URL }).postgres!.schema, `${where}: ${service}'s own schema`);
      const serviceConfig = loadConfig(service, 8080, containerEnv(objects, one(objects, 'Deployment', service)));
      assert.equal(config.inboxRetentionDays, serviceConfig.inboxRetentionDays, `${where}: ${service}'s inbox purged after the period the service keeps it`);
    }

    // Nothing of Kafka's: no certificate, no CA of Strimzi's, no TLS settings for it.
    const pod = job.spec.template.spec;
    assert.doesNotMatch(JSON.stringify(pod), /kafka/i, `${where}: nothing of Kafka's in its pod`);
    // A Job that ends, locked down as the services are.
    assert.equal(job.spec.template.metadata.annotations?.['sidecar.istio.io/inject'], 'false', `${where}: no sidecar, so the Job ends`);
    assert.equal(pod.restartPolicy, 'Never', where);
    assert.equal(pod.automountServiceAccountToken, false, `${where}: no service account token`);
    assert.deepEqual(pod.securityContext, one(objects, 'Deployment', 'reception').spec.template.spec.securityContext, `${where}: the services' pod security context`);
    assert.deepEqual(main.securityContext, container(one(objects, 'Deployment', 'reception')).securityContext, `${where}: the services' container security context`);
    assert.ok(main.resources.requests.cpu && main.resources.requests.memory && main.resources.limits.cpu && main.resources.limits.memory, `${where}: resources`);
  }
});

/**
 * The throwaway consumer groups scripts/restore.ts reads the event log in: the platform's reader
 * (inbox/dead-letters-kafka.ts) names its group <client id>-reader-<uuid>, and the script's client
 * id is restore-<pid>. The prefix the restore's KafkaUser may read and delete groups under.
 */
function restoreGroupPrefix(): string {
  const script = fs.readFileSync(path.join(root, 'scripts', 'restore.ts'), 'utf8');
  const reader = fs.readFileSync(path.join(root, 'packages', 'platform', 'src', 'inbox', 'dead-letters-kafka.ts'), 'utf8');
  const clientId = /readKafkaTopic\([^)]*clientId: `([\w.-]+)\$\{process\.pid\}`/.exec(script)?.[1];
  assert.ok(clientId, 'scripts/restore.ts reads the event log with a client id of its own, <prefix><pid>');
  assert.match(reader, /const groupId = `\$\{client\.clientId\}-reader-\$\{randomUUID\(\)\}`;/, 'the reader names its throwaway group after its client id');
  return clientId;
}

/**
 * The services scripts/restore.ts reconciles (its `services`, each a service definition, named as
 * the Deployments are): the restore's user describes their consumer groups, and no other.
 */
function restoredServices(): string[] {
  const script = fs.readFileSync(path.join(root, 'scripts', 'restore.ts'), 'utf8');
  const list = /^const services = \[([^\]]+)\];$/m.exec(script)?.[1];
  assert.ok(list, 'scripts/restore.ts lists the services it reconciles: const services = [...]');
  const names = list.split(',').map((definition) => definition.trim().replace(/Service(\(\))?$/, '').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`));
  for (const service of names) assert.ok((backends as readonly string[]).includes(service), `scripts/restore.ts reconciles ${service}, a backend service`);
  return names;
}

test('a restore\'s reconciliation (deploy/k8s/restore, applied by hand): npm run restore -- --reconcile-only --to $(RESTORE_TO) as the owner, Kafka over TLS as a user of its own with the least ACLs, and nothing of it in the overlays', { skip }, () => {
  const objects = restore();
  const names = (list: Obj[]) => list.map((o) => `${o.kind} ${o.kind === 'ConfigMap' ? o.metadata.name.replace(/-[a-z0-9]{10}$/, '') : o.metadata.name}`).sort();
  assert.deepEqual(names(objects), [
    'ConfigMap medical-restore',
    'Job medical-restore-reconcile',
    'KafkaUser medical-restore',
    'NetworkPolicy allow-restore-to-kafka-egress',
    'NetworkPolicy allow-restore-to-kafka-ingress',
    'NetworkPolicy allow-restore-to-postgres-egress',
    'NetworkPolicy allow-restore-to-postgres-ingress',
  ], 'the Job, its settings, its Kafka user and its flows');
  for (const object of objects) assert.equal(object.metadata.namespace, 'medical', `${object.kind} ${object.metadata.name}`);
  for (const name of overlays) {
    const inOverlay = overlay(name).filter((o) => o.metadata.name.includes('restore'));
    assert.deepEqual(names(inOverlay), [], `${name}: nothing of the restore runs until it is applied`);
  }

  // npm run restore -- --reconcile-only --to <time>, the time from the kustomization's ConfigMap.
  const job = restoreJob(objects);
  const main = container(job);
  assert.equal(rootScripts.restore, 'node scripts/restore.ts');
  assert.deepEqual(main.command, ['node', 'scripts/restore.ts'], 'npm run restore\'s command');
  assert.deepEqual(main.args, ['--reconcile-only', '--to', '$(RESTORE_TO)'], 'the reconciliation alone, to the time of the ConfigMap');
  const env = containerEnv(objects, job);
  // The kubelet expands $(RESTORE_TO) in args from the container's environment, envFrom's included.
  const args = (main.args as string[]).map((a) => a.replace(/\$\(([A-Z0-9_]+)\)/g, (_all, variable: string) => env[variable] ?? `$(${variable})`));
  const script = fs.readFileSync(path.join(root, 'scripts', 'restore.ts'), 'utf8');
  const isoWithOffset = new RegExp(/^const ISO_WITH_OFFSET = \/(.+)\/;$/m.exec(script)![1]!);
  assert.match(args[2]!, isoWithOffset, `RESTORE_TO (${args[2]}) is a time scripts/restore.ts accepts: ISO 8601 with its offset`);
  // A wrong use (a bad --to, a service still running: exit code 2) fails the Job at once; a
  // failure that a retry may cure (exit code 1) is retried, within bounds.
  assert.match(script, /process\.exit\(error instanceof UsageError \? 2 : 1\)/, 'scripts/restore.ts exits 2 on a wrong use');
  assert.deepEqual(job.spec.podFailurePolicy?.rules, [{ action: 'FailJob', onExitCodes: { containerName: main.name, operator: 'In', values: [2] } }], 'exit code 2 is not retried');
  assert.ok(job.spec.backoffLimit > 0 && job.spec.backoffLimit <= 10, 'backoffLimit');
  assert.ok(job.spec.activeDeadlineSeconds > 0, 'a deadline');
  assert.ok(job.spec.ttlSecondsAfterFinished > 0, 'cleaned up, after its log (the report) has been read');

  // Locked down as the services are, a Job that ends.
  const pod = job.spec.template.spec;
  assert.equal(job.spec.template.metadata.annotations?.['sidecar.istio.io/inject'], 'false', 'no sidecar, so the Job ends');
  assert.equal(pod.restartPolicy, 'Never', 'a podFailurePolicy needs Never');
  assert.equal(pod.automountServiceAccountToken, false, 'no service account token');
  assert.ok(main.resources.requests.cpu && main.resources.requests.memory && main.resources.limits.cpu && main.resources.limits.memory, 'resources');
  const tmp = main.volumeMounts.find((m: Obj) => m.mountPath === '/tmp');
  assert.ok(tmp && pod.volumes.find((v: Obj) => v.name === tmp.name).emptyDir, 'a writable /tmp');

  const groupPrefix = restoreGroupPrefix();
  assert.equal(main.envFrom.length, 1, 'its own ConfigMap only');
  const settings = one(objects, 'ConfigMap', main.envFrom[0].configMapRef.name).data as Record<string, string>;
  for (const name of overlays) {
    const applied = overlay(name);
    const reception = one(applied, 'Deployment', 'reception');
    assert.deepEqual(pod.securityContext, reception.spec.template.spec.securityContext, `${name}: the services' pod security context`);
    assert.deepEqual(main.securityContext, container(reception).securityContext, `${name}: the services' container security context`);

    // As the owner, exactly as the migration Job (the PostgreSQL TLS test checks the CA).
    assert.equal(ownerConnection(main).length, 2, 'POSTGRES_APP_URI and DATABASE_URL');
    assert.deepEqual(ownerConnection(main), ownerConnection(container(migrateJob(applied))), `${name}: the migration Job's owner URI and TLS settings`);
    const owner = one(applied, 'Cluster', 'postgres').spec.bootstrap.initdb.owner;
    // Its settings are the overlay's (a kustomization of its own cannot name medical-config).
    const medicalConfig = one(applied, 'ConfigMap', container(reception).envFrom[0].configMapRef.name).data as Record<string, string>;
    for (const [key, value] of Object.entries(settings)) if (key !== 'RESTORE_TO') assert.equal(value, medicalConfig[key], `${name}: ${key} as the overlay's medical-config has it`);
    assert.equal(env.DATABASE_SCHEMA, undefined, 'no DATABASE_SCHEMA: each service\'s own schema');

    const [kafka] = find(applied, 'Kafka');
    const secretPrefix = kafka!.spec.entityOperator.userOperator.secretPrefix ?? '';
    const user = one(objects, 'KafkaUser', 'medical-restore');
    const configs = restoredServices().map((service) => {
      const where = `${name}/restore as ${service}`;
      const config = loadConfig(service, 8080, env);
      const serviceConfig = loadConfig(service, 8080, containerEnv(applied, one(applied, 'Deployment', service)));
      assert.equal(new URL(config.postgres!.url).username, owner, `${where}: as the owner`);
      assert.equal(config.postgres!.schema, serviceConfig.postgres!.schema, `${where}: the service's schema`);
      // The service's Kafka, topics and consumer group: the ones it reconciles with and checks.
      const kafkaOf = (c: typeof config) => ({ brokers: c.kafka?.brokers, topic: c.topic, deadLetterTopic: c.deadLetterTopic, accessLogTopic: c.accessLogTopic, consumerGroup: c.consumerGroup });
      assert.deepEqual(kafkaOf(config), kafkaOf(serviceConfig), `${where}: the service's brokers, topics and consumer group`);
      assert.deepEqual(config.kafka?.tls, { caFile: env.KAFKA_TLS_CA_FILE, certFile: env.KAFKA_TLS_CERT_FILE, keyFile: env.KAFKA_TLS_KEY_FILE }, `${where}: TLS with its certificate`);
      // It opens each service's transport to see whether its group is active: every topic that
      // transport checks at start must be one this user may describe.
      for (const topic of topicsCheckedAtStart(config)) assert.ok(describableTopics(user).includes(topic), `${where}: may describe ${topic}, which the transport checks at start`);
      return config;
    });

    // Kafka over TLS as a service connects, with its own certificate, never a service's.
    assert.equal(env.KAFKA_TLS, 'true', 'KAFKA_TLS');
    assert.deepEqual(fileSource(job, env.KAFKA_TLS_CA_FILE!), { secret: `${kafka!.metadata.name}-cluster-ca-cert`, key: 'ca.crt' }, `${name}: brokers verified against Strimzi's cluster CA`);
    assert.deepEqual(fileSource(job, env.KAFKA_TLS_CERT_FILE!), { secret: `${secretPrefix}${user.metadata.name}`, key: 'user.crt' }, `${name}: its own certificate`);
    assert.deepEqual(fileSource(job, env.KAFKA_TLS_KEY_FILE!), { secret: `${secretPrefix}${user.metadata.name}`, key: 'user.key' }, `${name}: its own key`);
    for (const service of services) assert.doesNotMatch(JSON.stringify(pod.volumes), new RegExp(`"${secretPrefix}${service}"`), `${name}: never ${service}'s certificate`);

    // Its user: a client certificate, and the least ACLs: read the event topic (in throwaway
    // groups it may delete), describe the other two topics and the services' groups; no Write,
    // no other group, nothing of the cluster.
    assert.equal(user.metadata.labels?.['strimzi.io/cluster'], kafka!.metadata.name, `${name}: the user of this Kafka cluster`);
    assert.deepEqual(user.spec.authentication, { type: 'tls' }, 'a client certificate');
    assert.equal(user.spec.authorization.type, 'simple');
    const config = configs[0]!;
    assert.deepEqual(aclLines(user, 'medical-restore'), [
      `topic ${config.topic} literal: Describe,Read`,
      `topic ${config.deadLetterTopic} literal: Describe`,
      `topic ${config.accessLogTopic} literal: Describe`,
      `group ${groupPrefix} prefix: Delete,Describe,Read`,
      ...configs.map((c) => `group ${c.consumerGroup} literal: Describe`),
    ].sort(), `${name}: the least the reconciliation needs`);
    // The prefix covers its own groups only, never a service's.
    for (const c of configs) assert.ok(!c.consumerGroup.startsWith(groupPrefix) && !`${c.consumerGroup}.access-log`.startsWith(groupPrefix), `${name}: ${groupPrefix}* is no service's group`);
  }
});

test('every pod template (Deployments, Jobs, the CronJobs, the restore Job, the load test) runs restricted: non-root, no escalation, read-only root with a writable /tmp, no capabilities, RuntimeDefault seccomp, resources; a token only where the API is called', { skip }, () => {
  for (const name of overlays) {
    const templates = podTemplates([...overlay(name), ...loadObjects(), ...restore()]);
    assert.ok(templates.length >= services.length + 3, name);
    for (const expected of ['Job medical-migrate', 'CronJob medical-purge', 'Job medical-restore-reconcile']) assert.ok(templates.some((t) => t.what === expected), `${name}: ${expected} checked`);
    for (const { what, spec } of templates) {
      const where = `${name}: ${what}`;
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
      assert.ok(Number.isInteger(spec.securityContext?.runAsUser) && spec.securityContext.runAsUser > 0, `${where}: a numeric user other than root`);
      for (const main of spec.containers as Obj[]) {
        const at = `${where}/${main.name}`;
        assert.equal(main.securityContext?.allowPrivilegeEscalation, false, at);
        assert.equal(main.securityContext?.readOnlyRootFilesystem, true, at);
        assert.deepEqual(main.securityContext?.capabilities?.drop, ['ALL'], at);
        assert.equal(main.securityContext?.capabilities?.add, undefined, at);
        assert.notEqual(main.securityContext?.privileged, true, at);
        assert.equal((main.securityContext?.seccompProfile ?? spec.securityContext?.seccompProfile)?.type, 'RuntimeDefault', at);
        assert.ok(main.resources?.requests?.cpu && main.resources?.requests?.memory && main.resources?.limits?.memory, `${at}: resources`);
        const tmp = (main.volumeMounts as Obj[] | undefined)?.find((m) => m.mountPath === '/tmp');
        assert.ok(tmp && (spec.volumes as Obj[]).find((v) => v.name === tmp.name)?.emptyDir, `${at}: a writable /tmp`);
      }
      // Only the snapshot CronJob calls the Kubernetes API; every other pod goes without a token.
      if (what !== 'CronJob attachments-snapshots') assert.equal(spec.automountServiceAccountToken, false, `${where}: no service account token`);
      else assert.ok(spec.serviceAccountName && spec.serviceAccountName !== 'default', `${where}: its own service account`);
    }
  }
});

// ---- the hospital's catalog ------------------------------------------------------------------

/** What loads the services' configuration, and with it the hospital's catalog, at start: the six Deployments, the migration Job, the purge. */
function catalogReaders(objects: Obj[]): Array<[string, Obj]> {
  return [
    ...services.map((service): [string, Obj] => [`Deployment ${service}`, one(objects, 'Deployment', service)]),
    ['Job medical-migrate', migrateJob(objects)],
    ['CronJob medical-purge', jobOf(purgeCronJob(objects))],
  ];
}

test('the hospital\'s catalog: the ConfigMap hospital-catalog, with no hash suffix, holds the default catalog, mounted whole as the directory of HOSPITAL_CATALOG_FILE in the six Deployments, the migration Job and the purge; the Job runs catalog:migrate after migrate', { skip }, () => {
  const hashed = /-[a-z0-9]{10}$/;
  for (const name of overlays) {
    const objects = overlay(name);

    // One ConfigMap, by its own name: an edit must not roll the pods (they read the file again
    // and put it in force themselves), and `kubectl edit configmap hospital-catalog` finds it.
    const catalogs = find(objects, 'ConfigMap').filter((c) => c.metadata.name.replace(hashed, '') === 'hospital-catalog');
    assert.deepEqual(catalogs.map((c) => c.metadata.name), ['hospital-catalog'], `${name}: one ConfigMap hospital-catalog, its name without a hash suffix`);
    const configMap = catalogs[0]!;
    assert.equal(configMap.metadata.namespace, 'medical', name);
    // The settings keep theirs: a changed setting rolls the pods, as config.env says.
    for (const settings of ['medical-config', 'gateway-config']) {
      assert.equal(find(objects, 'ConfigMap').filter((c) => c.metadata.name.replace(hashed, '') === settings && hashed.test(c.metadata.name)).length, 1, `${name}: ${settings} keeps its hash suffix`);
    }
    // catalog.json, alone, the contracts' default catalog, which the loader accepts as it is.
    assert.deepEqual(Object.keys(configMap.data ?? {}), ['catalog.json'], `${name}: hospital-catalog holds catalog.json alone`);
    assert.equal(configMap.binaryData, undefined, name);
    const text = configMap.data['catalog.json'] as string;
    assert.deepEqual(parseCatalog(text), defaultHospitalCatalog, `${name}: catalog.json checks (parseCatalog) and is the default catalog`);
    assert.deepEqual(JSON.parse(text), defaultHospitalCatalog, `${name}: the default catalog as it is written, nothing left for the loader to fill in`);

    for (const [what, workload] of catalogReaders(objects)) {
      const where = `${name}: ${what}`;
      // The setting every one of them shares (config.env), an absolute path.
      assert.ok(container(workload).envFrom.some((source: Obj) => source.configMapRef?.name === container(one(objects, 'Deployment', 'reception')).envFrom[0].configMapRef.name), `${where}: reads medical-config`);
      const file = declaredEnv(objects, workload).HOSPITAL_CATALOG_FILE;
      assert.ok(file && path.posix.isAbsolute(file), `${where}: HOSPITAL_CATALOG_FILE names an absolute path`);
      assert.equal(declaredEnv(objects, workload).HOSPITAL_DEPARTMENTS_FILE, undefined, `${where}: not the older name too, which the loader refuses`);
      // Mounted whole (no subPath), read-only, at the file's directory, from hospital-catalog.
      const source = configMapFileSource(workload, file);
      assert.deepEqual({ configMap: source.configMap, key: source.key }, { configMap: 'hospital-catalog', key: 'catalog.json' }, `${where}: ${file} is hospital-catalog's catalog.json`);
      assert.equal(source.mount.mountPath, path.posix.dirname(file), `${where}: hospital-catalog is mounted as ${path.posix.dirname(file)}`);
      // Its loader opens the file it names and accepts it: the process starts with the catalog.
      const env = containerEnv(objects, workload);
      const catalog = loadCatalog(env);
      assert.equal(catalog.source?.file, env.HOSPITAL_CATALOG_FILE, `${where}: the catalog comes from the mounted file, not the built-in default`);
      assert.deepEqual(catalog.departments, defaultHospitalCatalog.departments, where);
      assert.deepEqual(catalog.examinations, defaultHospitalCatalog.examinations, where);
    }

    // Nothing mounts it by subPath, where an edit would never arrive.
    for (const { what, spec } of podTemplates(objects)) {
      const volumes = ((spec.volumes ?? []) as Obj[]).filter((v) => v.configMap?.name === configMap.metadata.name || v.projected?.sources?.some((p: Obj) => p.configMap?.name === configMap.metadata.name));
      for (const c of [...((spec.initContainers ?? []) as Obj[]), ...(spec.containers as Obj[])]) {
        for (const mount of ((c.volumeMounts ?? []) as Obj[]).filter((m) => volumes.some((v) => v.name === m.name))) {
          assert.equal(mount.subPath ?? mount.subPathExpr, undefined, `${name}: ${what}/${c.name} mounts hospital-catalog by subPath, which the kubelet never updates`);
        }
      }
    }

    // The migration Job: npm run migrate, then npm run catalog:migrate (the old free text to the
    // catalog's codes), only if the migration succeeded.
    assert.equal(rootScripts['catalog:migrate'], 'node scripts/catalog-migrate.ts');
    const programs = programsOf(container(migrateJob(objects))).map((words) => words.join(' '));
    assert.deepEqual(programs, [rootScripts.migrate, rootScripts['catalog:migrate']], `${name}: the migration Job runs catalog:migrate after migrate, in the same container`);
  }
});

// ---- interop (issue 22): FHIR through the gateway, HL7 v2 over MLLP from the hospital's network -

test('interop: its settings are accepted by its own loader (the examination service by its Service, its OAuth client from an optional Secret, the FHIR base on the public host, no HL7 or subscriber until the hospital names them)', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const where = `${name}/interop`;
    const deployment = one(objects, 'Deployment', 'interop');
    const env = containerEnv(objects, deployment);
    const config = loadInteropConfig(env);
    // The laboratories' listener on the container port the Service's tcp-hl7 names.
    const mllp = (container(deployment).ports as Obj[]).find((p) => p.name === 'hl7-mllp');
    assert.ok(config.hl7.inbound, `${where}: the MLLP listener is on (HL7_LISTEN_PORT)`);
    assert.equal(config.hl7.inbound.port, mllp?.containerPort, `${where}: HL7_LISTEN_PORT is the container port hl7-mllp`);
    // A result is performed on the examination service through its Kubernetes Service, as the
    // gateway reaches it, by a token of the issuer every service trusts.
    assert.equal(config.hl7.inbound.examinationUrl, 'http://examination:8080', `${where}: EXAMINATION_URL`);
    assert.deepEqual(one(objects, 'Service', 'examination').spec.ports.map((p: Obj) => p.port), [8080], `${where}: the examination Service on 8080`);
    assert.equal(config.hl7.inbound.issuer, loadAuthConfig(containerEnv(objects, one(objects, 'Deployment', 'examination'))).issuer, `${where}: its token from the issuer the examination service trusts`);
    // Its client: the Secret interop-client, optional (the development provider has a client of
    // its own for it), never in the repository.
    for (const [variable, key] of [['INTEROP_CLIENT_ID', 'client-id'], ['INTEROP_CLIENT_SECRET', 'client-secret']] as const) {
      const reference = (container(deployment).env as Obj[]).find((v) => v.name === variable)?.valueFrom?.secretKeyRef;
      assert.deepEqual(reference, { name: 'interop-client', key, optional: true }, `${where}: ${variable} from the Secret interop-client`);
    }
    assert.deepEqual(find(objects, 'Secret', 'interop-client'), [], `${where}: the Secret interop-client is made by hand, never committed`);
    // Without the Secret: locally the development provider's own client for the service; on AKS
    // the start fails and says what is missing.
    const withoutSecret = Object.fromEntries(Object.entries(env).filter(([variable]) => !variable.startsWith('INTEROP_CLIENT_')));
    if (name === 'local') assert.equal(loadInteropConfig(withoutSecret).hl7.inbound?.client.clientId, 'interop', `${where}: the development provider's client interop`);
    else assert.throws(() => loadInteropConfig(withoutSecret), /INTEROP_CLIENT_ID/, `${where}: without the Secret interop-client, the start fails naming it`);
    // The links of its answers on the public host, the VirtualService's.
    const [virtualService] = find(objects, 'VirtualService');
    assert.equal(config.fhirBaseUrl, `https://${virtualService!.spec.hosts[0]}/fhir/R4`, `${where}: FHIR_BASE_URL on the public host`);
    // Nothing goes to another system until the hospital says where (interop.env): no interface
    // engine, and subscribers only on the pod's own loopback, which none is.
    assert.equal(config.hl7.outbound, undefined, `${where}: no HL7_OUTBOUND_ADDRESS in the repository`);
    assert.deepEqual(config.subscriptionEndpoints, loadInteropConfig({}).subscriptionEndpoints, `${where}: SUBSCRIPTION_ENDPOINT_PREFIXES unset, the loopback default`);
    // Its settings are its own ConfigMap, beside the shared one; never the purge's or the migration Job's.
    assert.deepEqual(container(deployment).envFrom.map((source: Obj) => source.configMapRef.name.replace(/-[a-z0-9]{10}$/, '')), ['medical-config', 'interop-config'], `${where}: envFrom`);
    for (const job of [migrateJob(objects), jobOf(purgeCronJob(objects))]) {
      assert.doesNotMatch(JSON.stringify(container(job).envFrom), /interop-config/, `${name}: ${job.metadata.name} reads the shared settings only`);
    }
  }
});

test('interop: the MLLP port is plain TCP for Istio, PERMISSIVE on that port alone, allowed from the laboratories\' network only (network policy and mesh alike), reached on AKS through an internal load balancer that keeps their addresses', { skip }, () => {
  for (const name of overlays) {
    const objects = overlay(name);
    const where = `${name}/interop`;
    const service = one(objects, 'Service', 'interop');
    const tcp = (service.spec.ports as Obj[]).find((p) => p.targetPort === 'hl7-mllp');
    assert.ok(tcp, `${where}: the Service exposes the container port hl7-mllp`);
    assert.match(tcp.name, /^tcp(-|$)/, `${where}: the port's name makes Istio treat it as opaque TCP, not sniff it`);
    const port = (container(one(objects, 'Deployment', 'interop')).ports as Obj[]).find((p) => p.name === 'hl7-mllp')!.containerPort as number;

    // mTLS: STRICT for the pod, PERMISSIVE on the MLLP port alone (PeerAuthentication's ports are the container's).
    const peer = one(objects, 'PeerAuthentication', 'interop-mllp');
    assert.deepEqual(deploymentsSelected(objects, peer.spec.selector), ['interop'], `${where}: the exception selects interop's pods only`);
    assert.equal(peer.spec.mtls.mode, 'STRICT', `${where}: the rest of interop's pod stays STRICT`);
    assert.deepEqual(peer.spec.portLevelMtls, { [String(port)]: { mode: 'PERMISSIVE' } }, `${where}: plain text on the MLLP port, and only there`);

    // The mesh: a TCP rule of its own (the token rules are HTTP's, which a TCP connection never
    // matches), from the laboratories' network to that port, nothing else.
    const mllp = one(objects, 'AuthorizationPolicy', 'allow-laboratories-mllp');
    assert.equal(mllp.spec.action, 'ALLOW', where);
    assert.deepEqual(deploymentsSelected(objects, mllp.spec.selector), ['interop'], `${where}: for interop's pods only`);
    const laboratories = hospitalNetwork(objects, 'allow-laboratories-to-interop');
    assert.deepEqual(mllp.spec.rules, [{ from: [{ source: { ipBlocks: [laboratories] } }], to: [{ operation: { ports: [String(port)] } }] }], `${where}: the laboratories' network (as the network policy says) to the MLLP port, and nothing else`);
    const policy = one(objects, 'NetworkPolicy', 'allow-laboratories-to-interop');
    assert.deepEqual(policy.spec.ingress[0].ports, [{ protocol: 'TCP', port }], `${where}: the network policy opens the MLLP port only`);
    // A placeholder until the hospital replaces it: RFC 5737's documentation range, no real address.
    // The hospital's networks are networks of its own, never "anywhere".
    for (const network of [laboratories, hospitalNetwork(objects, 'allow-interop-to-hospital-systems')]) {
      assert.ok(Number(network.split('/')[1]) >= 8, `${where}: ${network} is a network of the hospital's, not the whole internet`);
    }

    // From outside the cluster only through the MLLP load balancer (AKS), on that port alone.
    const exposed = find(objects, 'Service').filter((s) => ['LoadBalancer', 'NodePort'].includes(s.spec.type));
    if (name === 'local') {
      assert.deepEqual(exposed.map((s) => s.metadata.name), [], 'local: nothing exposed beside the ingress gateway (kubectl port-forward svc/interop 2575)');
    } else {
      assert.deepEqual(exposed.map((s) => s.metadata.name), ['interop-hl7'], 'azure: one Service reachable from outside, the laboratories\' MLLP');
      const balancer = exposed[0]!;
      assert.equal(balancer.spec.type, 'LoadBalancer', where);
      assert.equal(balancer.metadata.annotations?.['service.beta.kubernetes.io/azure-load-balancer-internal'], 'true', `${where}: an internal load balancer, an address of the virtual network, never a public one`);
      assert.equal(balancer.spec.externalTrafficPolicy, 'Local', `${where}: the laboratories' own addresses arrive, which the policies check`);
      assert.deepEqual(balancer.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]), [[tcp.name, tcp.port, 'hl7-mllp']], `${where}: the MLLP port alone`);
      assert.deepEqual(balancer.spec.selector, service.spec.selector, `${where}: interop's pods`);
    }
  }
});

// ---- network policies -----------------------------------------------------------------------

/** A workload of the model: the pods of one kind (their namespace and labels), or an address outside the pod network. */
type Workload = { name: string; namespace?: string; labels?: Record<string, string>; ip?: string; ports: string[] };

/** Label selector semantics: matchLabels and matchExpressions, all of them. */
function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of (selector.matchExpressions ?? []) as Obj[]) {
    const has = Object.hasOwn(labels, expression.key);
    const ok = { In: has && expression.values.includes(labels[expression.key]), NotIn: !has || !expression.values.includes(labels[expression.key]), Exists: has, DoesNotExist: !has }[expression.operator as string];
    assert.notEqual(ok, undefined, `operator ${expression.operator}`);
    if (!ok) return false;
  }
  return true;
}

function inCidr(ip: string, cidr: string): boolean {
  const value = (address: string) => address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(value(ip) / size) === Math.floor(value(base!) / size);
}

/** Whether a peer of a rule (podSelector, namespaceSelector, ipBlock) is this workload. */
function peerIs(peer: Obj, policyNamespace: string, workload: Workload): boolean {
  if (peer.ipBlock) {
    // Only addresses outside the pod network are meant: what an ipBlock does to pod addresses is
    // up to the network plugin, and no policy here relies on it.
    return workload.ip !== undefined && inCidr(workload.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(workload.ip!, c));
  }
  if (workload.namespace === undefined) return false;
  const namespaceMatches = peer.namespaceSelector ? selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': workload.namespace }) : workload.namespace === policyNamespace;
  return namespaceMatches && selects(peer.podSelector, workload.labels ?? {});
}

function portIn(rulePorts: Obj[] | undefined, port: string): boolean {
  if (!rulePorts || rulePorts.length === 0) return true;
  const [number, protocol] = port.split('/');
  return rulePorts.some((p) => {
    assert.ok(p.port === undefined || typeof p.port === 'number', `port ${p.port}: numbers only, so the policy says what it opens`);
    return (p.protocol ?? 'TCP') === protocol && (p.port === undefined || (p.endPort ? Number(number) >= p.port && Number(number) <= p.endPort : p.port === Number(number)));
  });
}

/** One side of a connection: allowed when no policy isolates the pod that way, else by the policies whose rules allow it. */
function side(policies: Obj[], type: 'Ingress' | 'Egress', pod: Workload, peer: Workload, port: string): { allowed: boolean; by: string[] } {
  if (pod.namespace === undefined) return { allowed: true, by: [] };
  const isolating = policies.filter((p) => p.metadata.namespace === pod.namespace && (p.spec.policyTypes as string[]).includes(type) && selects(p.spec.podSelector, pod.labels ?? {}));
  if (isolating.length === 0) return { allowed: true, by: [] };
  const by = isolating.filter((p) => ((type === 'Ingress' ? p.spec.ingress : p.spec.egress) ?? []).some((rule: Obj) => {
    const peers = (type === 'Ingress' ? rule.from : rule.to) as Obj[] | undefined;
    return portIn(rule.ports, port) && (!peers || peers.length === 0 || peers.some((candidate) => peerIs(candidate, p.metadata.namespace!, peer)));
  }));
  return { allowed: by.length > 0, by: by.map((p) => `${p.metadata.name} (${type.toLowerCase()})`) };
}

/**
 * The cluster around the workflow: the pods of the namespace, as the operators and Istio's injector
 * label them, the pods of the other namespaces the workflow talks to (their standard installs'
 * labels), a stranger in each, and addresses outside the pod network.
 */
function clusterModel(objects: Obj[]): Record<string, Workload> {
  const sidecar = (template: Obj) => (template.metadata?.annotations?.['sidecar.istio.io/inject'] === 'false' ? {} : { 'security.istio.io/tlsMode': 'istio' });
  const kafka = find(objects, 'Kafka')[0]!.metadata.name;
  const pool = find(objects, 'KafkaNodePool')[0]!;
  const postgres = one(objects, 'Cluster', 'postgres').metadata.name;
  const model: Record<string, Workload> = {};
  for (const deployment of find(objects, 'Deployment')) {
    const template = deployment.spec.template;
    // Its containers' ports (8080; interop's MLLP 2575 too), and the sidecar's.
    const declared = (template.spec.containers as Obj[]).flatMap((c) => ((c.ports ?? []) as Obj[]).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`));
    model[deployment.metadata.name] = { name: deployment.metadata.name, namespace: 'medical', labels: { ...template.metadata.labels, ...sidecar(template) }, ports: [...declared, '15020/TCP', '15090/TCP', '15021/TCP'] };
  }
  for (const job of find(objects, 'Job')) {
    model[job.metadata.name] = { name: job.metadata.name, namespace: 'medical', labels: { ...job.spec.template.metadata.labels, ...sidecar(job.spec.template) }, ports: [] };
  }
  for (const cronJob of find(objects, 'CronJob')) {
    const template = cronJob.spec.jobTemplate.spec.template;
    model[cronJob.metadata.name] = { name: cronJob.metadata.name, namespace: 'medical', labels: { ...template.metadata.labels, ...sidecar(template) }, ports: [] };
  }
  const strimzi = { 'strimzi.io/cluster': kafka, 'strimzi.io/kind': 'Kafka' };
  const listenerPorts = (find(objects, 'Kafka')[0]!.spec.kafka.listeners as Obj[]).map((l) => `${l.port}/TCP`);
  model['kafka'] = {
    name: 'kafka', namespace: 'medical', labels: { ...strimzi, 'strimzi.io/name': `${kafka}-kafka`, 'strimzi.io/pool-name': pool.metadata.name, 'strimzi.io/broker-role': 'true', 'strimzi.io/controller-role': 'true' },
    ports: ['9090/TCP', '9091/TCP', '8443/TCP', ...listenerPorts],
  };
  model['entity-operator'] = { name: 'entity-operator', namespace: 'medical', labels: { ...strimzi, 'strimzi.io/name': `${kafka}-entity-operator` }, ports: ['8080/TCP', '8081/TCP'] };
  model['postgres'] = { name: 'postgres', namespace: 'medical', labels: { 'cnpg.io/cluster': postgres, 'cnpg.io/podRole': 'instance', 'cnpg.io/instanceRole': 'primary', role: 'primary' }, ports: ['5432/TCP', '8000/TCP', '9187/TCP'] };
  model['postgres-join-job'] = { name: 'postgres-join-job', namespace: 'medical', labels: { 'cnpg.io/cluster': postgres, 'cnpg.io/jobRole': 'join' }, ports: [] };
  // `kubectl run` in the namespace: injected, otherwise nobody.
  model['stranger'] = { name: 'stranger', namespace: 'medical', labels: { run: 'debug', 'security.istio.io/tlsMode': 'istio' }, ports: ['8080/TCP'] };
  const elsewhere: Workload[] = [
    { name: 'ingress-gateway', namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, ports: ['8080/TCP', '8443/TCP', '15021/TCP'] },
    { name: 'istiod', namespace: 'istio-system', labels: { app: 'istiod', istio: 'pilot' }, ports: ['15010/TCP', '15012/TCP', '15014/TCP', '15017/TCP'] },
    { name: 'prometheus', namespace: 'istio-system', labels: { 'app.kubernetes.io/name': 'prometheus', 'app.kubernetes.io/component': 'server' }, ports: ['9090/TCP'] },
    { name: 'jaeger', namespace: 'istio-system', labels: { app: 'jaeger' }, ports: ['4317/TCP', '4318/TCP', '9411/TCP', '16686/TCP'] },
    { name: 'kiali', namespace: 'istio-system', labels: { app: 'kiali', 'app.kubernetes.io/name': 'kiali' }, ports: ['20001/TCP'] },
    { name: 'grafana', namespace: 'istio-system', labels: { 'app.kubernetes.io/name': 'grafana' }, ports: ['3000/TCP'] },
    { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, ports: ['53/UDP', '53/TCP', '9153/TCP'] },
    { name: 'strimzi-operator', namespace: 'strimzi', labels: { name: 'strimzi-cluster-operator', 'strimzi.io/kind': 'cluster-operator' }, ports: ['8080/TCP'] },
    { name: 'cnpg-operator', namespace: 'cnpg-system', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' }, ports: ['9443/TCP', '8080/TCP'] },
    { name: 'stranger-elsewhere', namespace: 'default', labels: { app: 'stranger', 'strimzi.io/kind': 'Kafka', istio: 'pilot' }, ports: ['8080/TCP'] },
    // Outside the pod network: the API server (AKS: a public address), the internet (Entra ID
    // among it), and a private address of the hospital's network.
    { name: 'kube-apiserver', ip: '203.0.113.10', ports: ['443/TCP', '6443/TCP', '8443/TCP'] },
    { name: 'internet', ip: '198.51.100.20', ports: ['80/TCP', '443/TCP', '5432/TCP', '9093/TCP'] },
    { name: 'private-network', ip: '10.1.2.3', ports: ['443/TCP', '5432/TCP', '22/TCP'] },
    // The hospital's network as interop knows it, wherever the overlay puts it: a laboratory that
    // sends results (a client only), and a system interop sends to (the interface engine's MLLP
    // listener, a FHIR subscriber's HTTPS endpoint).
    { name: 'laboratory', ip: addressIn(hospitalNetwork(objects, 'allow-laboratories-to-interop')), ports: [] },
    { name: 'hospital-system', ip: addressIn(hospitalNetwork(objects, 'allow-interop-to-hospital-systems')), ports: ['2575/TCP', '443/TCP'] },
  ];
  for (const workload of elsewhere) model[workload.name] = workload;
  return model;
}

/** The one CIDR of a network policy about the hospital's network (its single rule's single ipBlock). */
function hospitalNetwork(objects: Obj[], policyName: string): string {
  const policy = one(objects, 'NetworkPolicy', policyName);
  const rules = (policy.spec.ingress ?? policy.spec.egress) as Obj[];
  const peers = rules.flatMap((rule) => (rule.from ?? rule.to) as Obj[]);
  assert.equal(peers.length, 1, `${policyName}: one peer, the hospital's network`);
  assert.ok(peers[0]!.ipBlock?.cidr && !peers[0]!.ipBlock.except, `${policyName}: an ipBlock, the hospital's network, whole`);
  return peers[0]!.ipBlock.cidr as string;
}
/** An address inside a CIDR (the tenth of its block). */
function addressIn(cidr: string): string {
  const [base] = cidr.split('/');
  const value = base!.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0) + 10;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
/** The private ranges allow-services-to-oidc-issuer (azure) leaves out: Entra ID is on public addresses. */
const privateRanges = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

type Flow = { name: string; from: Workload[]; to: Workload[]; ports: string[] };

/** Every flow the workflow has, from what each part talks to (README "Deploy to Kubernetes", base/network-policies.yaml). */
function realFlows(overlayName: string, m: Record<string, Workload>): Flow[] {
  const backendPods = backends.map((b) => m[b]!);
  const servicePods = services.map((s) => m[s]!);
  const medical = Object.values(m).filter((w) => w.namespace === 'medical');
  const injected = medical.filter((w) => w.labels?.['security.istio.io/tlsMode'] === 'istio');
  // Every address outside the pod network, the hospital's systems among them.
  const outside = [m['kube-apiserver']!, m['internet']!, m['private-network']!, m['hospital-system']!];
  const apiPorts = ['443/TCP', '6443/TCP', '8443/TCP'];
  const flows: Flow[] = [
    { name: 'allow-dns', from: medical, to: [m['kube-dns']!], ports: ['53/UDP', '53/TCP'] },
    { name: 'allow-istiod', from: injected, to: [m['istiod']!], ports: ['15012/TCP'] },
    { name: 'allow-ingress-gateway-to-gateway', from: [m['ingress-gateway']!], to: [m['gateway']!], ports: ['8080/TCP'] },
    { name: 'allow-gateway-to-services', from: [m['gateway']!], to: backendPods, ports: ['8080/TCP'] },
    { name: 'allow-services-to-kafka', from: backendPods, to: [m['kafka']!], ports: ['9093/TCP'] },
    // The access records of the refusals the gateway answers itself (its Kafka user writes the access-log topic only).
    { name: 'allow-gateway-to-kafka', from: [m['gateway']!], to: [m['kafka']!], ports: ['9093/TCP'] },
    { name: 'allow-services-to-postgres', from: backendPods, to: [m['postgres']!], ports: ['5432/TCP'] },
    { name: 'allow-services-to-jaeger', from: servicePods, to: [m['jaeger']!], ports: ['4318/TCP'] },
    { name: 'allow-prometheus-scrape', from: [m['prometheus']!], to: injected, ports: ['15020/TCP', '15090/TCP'] },
    { name: 'allow-kafka-to-kafka', from: [m['kafka']!], to: [m['kafka']!], ports: ['9090/TCP', '9091/TCP'] },
    { name: 'allow-entity-operator-to-kafka', from: [m['entity-operator']!], to: [m['kafka']!], ports: ['9091/TCP'] },
    { name: 'allow-strimzi-operator-to-kafka', from: [m['strimzi-operator']!], to: [m['kafka']!], ports: ['9090/TCP', '9091/TCP', '8443/TCP'] },
    { name: 'allow-postgres-to-postgres', from: [m['postgres']!, m['postgres-join-job']!], to: [m['postgres']!], ports: ['5432/TCP', '8000/TCP'] },
    { name: 'allow-cnpg-operator-to-postgres', from: [m['cnpg-operator']!], to: [m['postgres']!], ports: ['5432/TCP', '8000/TCP'] },
    // interop performs a laboratory's result on the examination service; the laboratories send
    // their results to its MLLP listener; it sends HL7 to the interface engine and notifications
    // to the FHIR subscribers, all in the hospital's network.
    { name: 'allow-interop-to-examination', from: [m['interop']!], to: [m['examination']!], ports: ['8080/TCP'] },
    { name: 'allow-laboratories-to-interop', from: [m['laboratory']!], to: [m['interop']!], ports: ['2575/TCP'] },
    { name: 'allow-interop-to-hospital-systems', from: [m['interop']!], to: [m['hospital-system']!], ports: ['2575/TCP', '443/TCP'] },
    // NetworkPolicy cannot name the API server: these open its ports to any address.
    { name: 'allow-entity-operator-to-kube-apiserver', from: [m['entity-operator']!], to: outside, ports: apiPorts },
    { name: 'allow-postgres-to-kube-apiserver', from: [m['postgres']!, m['postgres-join-job']!], to: outside, ports: apiPorts },
  ];
  if (m['load']) flows.push({ name: 'allow-load-test-to-gateway', from: [m['load']!], to: [m['gateway']!], ports: ['8080/TCP'] });
  // The migration Job of each release: PostgreSQL as the schemas' owner, and nothing else.
  assert.ok(m['medical-migrate'], 'the migration Job is a workload of the namespace');
  flows.push({ name: 'allow-migrate-to-postgres', from: [m['medical-migrate']!], to: [m['postgres']!], ports: ['5432/TCP'] });
  // The nightly purge: PostgreSQL as the owner too, and nothing else (no Kafka, no traces).
  assert.ok(m['medical-purge'], 'the purge CronJob is a workload of the namespace');
  flows.push({ name: 'allow-purge-to-postgres', from: [m['medical-purge']!], to: [m['postgres']!], ports: ['5432/TCP'] });
  // A restore's reconciliation (deploy/k8s/restore, with its own policies): PostgreSQL as the
  // owner and Kafka's TLS listener, nothing else.
  const restoring = m['medical-restore-reconcile'];
  if (restoring) {
    flows.push({ name: 'allow-restore-to-postgres', from: [restoring], to: [m['postgres']!], ports: ['5432/TCP'] });
    flows.push({ name: 'allow-restore-to-kafka', from: [restoring], to: [m['kafka']!], ports: ['9093/TCP'] });
  }
  if (overlayName === 'local') {
    // The gateway is the identity provider: every service and the gateway itself fetch its keys, and istiod the mesh's.
    flows.push({ name: 'allow-services-to-dev-identity-provider', from: servicePods, to: [m['gateway']!], ports: ['8080/TCP'] });
    flows.push({ name: 'allow-istiod-to-dev-identity-provider', from: [m['istiod']!], to: [m['gateway']!], ports: ['8080/TCP'] });
  } else {
    // Entra ID on the internet: HTTPS to public addresses (AKS's API server has one too), never
    // to private ones. A hospital system's placeholder address (RFC 5737's documentation range)
    // is public to NetworkPolicy, so the rules to public addresses reach it too; a real, private
    // one they do not.
    const publicAddresses = outside.filter((w) => !privateRanges.some((range) => inCidr(w.ip!, range)));
    assert.ok(publicAddresses.includes(m['internet']!) && publicAddresses.includes(m['kube-apiserver']!) && !publicAddresses.includes(m['private-network']!));
    flows.push({ name: 'allow-services-to-oidc-issuer', from: servicePods, to: publicAddresses, ports: ['443/TCP'] });
    // Rack awareness: each broker's init container reads its node's zone.
    flows.push({ name: 'allow-kafka-to-kube-apiserver', from: [m['kafka']!], to: outside, ports: ['443/TCP'] });
    // PostgreSQL's backups: the Barman Cloud plugin's sidecar (and a restore's Job) to Azure Blob
    // Storage and Entra ID, public addresses on 443.
    flows.push({ name: 'allow-postgres-to-backup-store', from: [m['postgres']!, m['postgres-join-job']!], to: publicAddresses, ports: ['443/TCP'] });
    // The attachments' snapshot CronJob: the API server, and nothing else.
    assert.ok(m['attachments-snapshots'], 'the snapshot CronJob is a workload of the namespace');
    flows.push({ name: 'allow-attachments-snapshots-to-kube-apiserver', from: [m['attachments-snapshots']!], to: outside, ports: ['443/TCP'] });
  }
  return flows;
}

test('network policies: everything in the namespace denied both ways, then exactly the real flows, each allowed by policies named after it', { skip }, () => {
  // With the restore's Job and policies: what the namespace holds during a restore.
  for (const name of overlays) {
    const objects = [...overlay(name), ...loadObjects(), ...restore()];
    const policies = find(objects, 'NetworkPolicy');
    for (const policy of policies) {
      assert.equal(policy.metadata.namespace, 'medical', `${name}: ${policy.metadata.name}`);
      assert.ok(Array.isArray(policy.spec.policyTypes) && policy.spec.policyTypes.length > 0, `${name}: ${policy.metadata.name} states its policyTypes`);
    }
    const deny = one(objects, 'NetworkPolicy', 'default-deny');
    assert.deepEqual([deny.spec.podSelector, [...deny.spec.policyTypes].sort(), deny.spec.ingress, deny.spec.egress], [{}, ['Egress', 'Ingress'], undefined, undefined], `${name}: default-deny isolates every pod both ways`);

    const model = clusterModel(objects);
    const flows = realFlows(name, model);
    const key = (from: Workload, to: Workload, port: string) => `${from.name} -> ${to.name}:${port}`;
    const expected = new Map<string, string[]>();
    for (const flow of flows) {
      for (const from of flow.from) {
        for (const to of flow.to) {
          for (const port of flow.ports.filter((p) => to.ports.includes(p))) expected.set(key(from, to, port), [...(expected.get(key(from, to, port)) ?? []), flow.name]);
        }
      }
      assert.ok(flow.to.some((to) => flow.ports.some((p) => to.ports.includes(p))), `${name}: ${flow.name} reaches a port`);
    }

    const allowed = new Map<string, string[]>();
    // Each half on its own too: an ingress policy open to more than its flow is a hole the day
    // the other side's egress policy widens (or a pod without one appears), and the other way.
    const halfOpen: string[] = [];
    const used = new Set<string>();
    const workloads = Object.values(model);
    for (const from of workloads) {
      for (const to of workloads) {
        if (from.namespace !== 'medical' && to.namespace !== 'medical') continue;
        for (const port of to.ports) {
          const egress = from.namespace === 'medical' ? side(policies, 'Egress', from, to, port) : { allowed: true, by: [] };
          const ingress = to.namespace === 'medical' ? side(policies, 'Ingress', to, from, port) : { allowed: true, by: [] };
          const connection = key(from, to, port);
          if (egress.allowed && ingress.allowed) allowed.set(connection, [...egress.by, ...ingress.by]);
          if (!expected.has(connection) && ((from.namespace === 'medical' && egress.by.length > 0) || (to.namespace === 'medical' && ingress.by.length > 0))) {
            halfOpen.push(`${connection} (${[...egress.by, ...ingress.by].join(', ')})`);
          }
        }
      }
    }
    const unexpected = [...allowed.keys()].filter((k) => !expected.has(k));
    const missing = [...expected.keys()].filter((k) => !allowed.has(k));
    assert.deepEqual(unexpected, [], `${name}: allowed, but no flow of the workflow`);
    assert.deepEqual(missing, [], `${name}: a flow of the workflow the policies do not allow`);
    assert.deepEqual(halfOpen, [], `${name}: one half of a connection that is no flow of the workflow is open`);

    // Each connection is allowed by policies whose names say its flow (and the side they are on).
    for (const [connection, by] of allowed) {
      const flowNames = expected.get(connection)!;
      for (const policy of by) {
        const [policyName, sideName] = policy.split(' ') as [string, string];
        const named = flowNames.some((f) => policyName === f || policyName === `${f}-${sideName.slice(1, -1)}`);
        assert.ok(named, `${name}: ${connection} is allowed by ${policy}, which is not named after its flow (${flowNames.join(', ')})`);
        used.add(policyName);
      }
    }
    // No policy that allows nothing of the model (a leftover, or a selector that matches no pod).
    for (const policy of policies) if (policy.metadata.name !== 'default-deny') assert.ok(used.has(policy.metadata.name), `${name}: ${policy.metadata.name} allows no flow`);
  }
});
