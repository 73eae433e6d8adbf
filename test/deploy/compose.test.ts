import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { loadAuthConfig, loadConfig } from '@medical/platform';
import { loadGatewayConfig } from '../../services/gateway/src/config.ts';
import { loadInteropConfig } from '../../services/interop/src/config.ts';

/**
 * No Docker engine runs here, so deploy/compose.yaml and the Dockerfile are checked for what can
 * be checked without one: every service is there, built from the one Dockerfile as its own
 * image, on the production profile, with settings the services accept.
 */
const root = path.resolve(import.meta.dirname, '..', '..');
const compose = parse(fs.readFileSync(path.join(root, 'deploy/compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, { build?: { context: string; dockerfile: string; args?: { SERVICE?: string } }; environment?: Record<string, string>; ports?: string[]; depends_on?: Record<string, unknown> }>;
};
const services = ['reception', 'diagnosis', 'examination', 'patient-management', 'interop', 'gateway'];

test('compose runs Kafka, PostgreSQL and every service built from the Dockerfile with its own SERVICE', () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ['diagnosis', 'examination', 'gateway', 'interop', 'kafka', 'patient-management', 'postgres', 'reception']);
  for (const name of services) {
    const service = compose.services[name]!;
    assert.equal(service.build?.args?.SERVICE, name, `${name} image`);
    assert.ok(fs.existsSync(path.join(root, 'deploy', service.build!.context, service.build!.dockerfile)), `${name} Dockerfile`);
    assert.ok(fs.existsSync(path.join(root, 'services', name, 'src', 'main.ts')), `${name} entry point`);
    // The services wait for Kafka and PostgreSQL; the gateway waits for the services.
    const waitsFor = name === 'gateway' ? services.filter((s) => s !== 'gateway') : ['kafka', 'postgres'];
    assert.deepEqual(Object.keys(service.depends_on ?? {}).sort(), waitsFor.sort(), `${name} start order`);
  }
});

test('every service gets production settings that its configuration accepts', () => {
  for (const name of services) {
    const environment = compose.services[name]!.environment ?? {};
    const config = loadConfig(name, 8080, { ...environment, PORT: '8080' });
    assert.deepEqual(config.kafka?.brokers, ['kafka:9092'], `${name} on Kafka`);
    assert.equal(config.postgres?.url, 'postgres://medical:medical@postgres:5432/medical', `${name} on PostgreSQL`);
    // A one-machine demo: the gateway's development provider, which the images' NODE_ENV=production would refuse.
    const auth = loadAuthConfig({ NODE_ENV: 'production', ...environment });
    assert.equal(auth.mode, 'dev', `${name}: AUTH_MODE`);
    assert.equal(auth.issuer, 'http://gateway:8080/auth', `${name}: the gateway's provider, as the services reach it`);
  }
});

test('the gateway reaches each service on the container port and is published on 8088', () => {
  const gateway = compose.services.gateway!;
  assert.deepEqual(gateway.ports, ['8088:8080']);
  const environment = gateway.environment ?? {};
  assert.equal(environment.RECEPTION_URL, 'http://reception:8080');
  assert.equal(environment.DIAGNOSIS_URL, 'http://diagnosis:8080');
  assert.equal(environment.EXAMINATION_URL, 'http://examination:8080');
  assert.equal(environment.PATIENT_MANAGEMENT_URL, 'http://patient-management:8080');
  assert.equal(environment.INTEROP_URL, 'http://interop:8080');
  // Every upstream the gateway's configuration knows, at its container.
  for (const upstream of loadGatewayConfig({ ...environment, PORT: '8080' }).upstreams) assert.deepEqual(upstream.origins, [`http://${upstream.service}:8080`], upstream.variable);
  // The demo users' gateway in a container: told it may listen beyond loopback, and its configuration accepts it.
  assert.equal(loadGatewayConfig({ ...environment, PORT: '8080' }).host, '0.0.0.0');
});

test('interop takes the laboratories\' results over MLLP, performing them on the examination service\'s container; its port published on this machine only', () => {
  const interop = compose.services.interop!;
  const config = loadInteropConfig({ ...interop.environment, PORT: '8080' });
  assert.equal(config.hl7.inbound?.examinationUrl, 'http://examination:8080');
  assert.equal(config.hl7.inbound?.client.clientId, 'interop', 'the development provider\'s client for the service');
  assert.equal(config.hl7.inbound?.issuer, 'http://gateway:8080/auth');
  assert.equal(config.hl7.outbound, undefined, 'no interface engine in a demo');
  assert.deepEqual(interop.ports, [`127.0.0.1:${config.hl7.inbound?.port}:${config.hl7.inbound?.port}`], 'MLLP reachable from this machine only');
});

test('the Dockerfile copies every workspace manifest, drops privileges and checks health', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const workspaces = ['packages/contracts', 'packages/platform', ...services.map((s) => `services/${s}`)];
  for (const workspace of workspaces) {
    assert.match(dockerfile, new RegExp(`COPY ${workspace}/package\\.json ${workspace}/`), `${workspace} manifest before npm ci`);
    assert.ok(fs.existsSync(path.join(root, workspace, 'package.json')));
  }
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^HEALTHCHECK /m);
  assert.match(dockerfile, /^EXPOSE 8080$/m);
});
