import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { endOfHospitalDay, startOfHospitalDay } from '@medical/platform';
import { loadInteropConfig } from '../src/config.ts';
import { parseCriteria, parseSubscription, subscriptionResourceOf } from '../src/fhir/subscription.ts';
import type { SearchContext } from '../src/fhir/search.ts';
import { validateR4 } from './r4-validator.ts';

/**
 * What a system may register as a Subscription (fhir/subscription.ts), read strictly, each refusal
 * naming the element at fault; where notifications may go (the operator's allow-list); and the
 * resource answered for one, valid R4 and without the secrets of its headers.
 */

const zone = 'Asia/Seoul';
const search: SearchContext = { dayBounds: (day) => ({ start: startOfHospitalDay(day, zone), end: endOfHospitalDay(day, zone) }) };
/** By default only this machine's loopback addresses (config.ts). */
const loopback = loadInteropConfig({}).subscriptionEndpoints;

const valid = {
  resourceType: 'Subscription',
  status: 'requested',
  reason: '  Notify the EHR of finished visits ',
  criteria: 'Encounter?status=finished',
  channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9000/fhir-hook', payload: 'application/fhir+json', header: ['Authorization: Bearer s3cret'] },
};

function parse(body: unknown, allowedEndpoints: readonly string[] = loopback) {
  return parseSubscription(body, { allowedEndpoints, search });
}

function refused(body: unknown, expression: string, message: RegExp, allowedEndpoints: readonly string[] = loopback) {
  const result = parse(body, allowedEndpoints);
  assert.ok(!result.ok, `accepted: ${JSON.stringify(body)}`);
  assert.equal(result.issue.expression, expression, JSON.stringify(body));
  assert.match(result.issue.message, message, JSON.stringify(body));
}

const withChannel = (channel: Record<string, unknown>) => ({ ...valid, channel: { ...valid.channel, ...channel } });

describe('parseSubscription', () => {
  test('a rest-hook subscription: its reason trimmed, criteria parsed, endpoint and headers kept', () => {
    const result = parse(valid);
    assert.ok(result.ok);
    assert.deepEqual(result.subscription, {
      reason: 'Notify the EHR of finished visits',
      criteria: 'Encounter?status=finished',
      endpoint: 'http://127.0.0.1:9000/fhir-hook',
      payload: 'application/fhir+json',
      headers: ['Authorization: Bearer s3cret'],
    });
    assert.deepEqual(result.criteria, { type: 'Encounter', filters: [{ name: 'status', kind: 'token', values: ['finished'] }] });
    // Active already, without headers or a payload (the subscriber then reads the resource itself).
    const bare = parse({ ...valid, status: 'active', channel: { type: 'rest-hook', endpoint: 'http://localhost:8080/x' } });
    assert.ok(bare.ok);
    assert.deepEqual([bare.subscription.payload, bare.subscription.headers], [undefined, []]);
  });

  test('each refusal names its element', () => {
    const cases: [unknown, string, RegExp][] = [
      [null, 'Subscription', /must be a Subscription resource/],
      [[valid], 'Subscription', /must be a Subscription resource/],
      ['Subscription', 'Subscription', /must be a Subscription resource/],
      [{ ...valid, resourceType: 'Patient' }, 'Subscription.resourceType', /must be Subscription/],
      [{ ...valid, status: 'off' }, 'Subscription.status', /must be requested/],
      [{ ...valid, status: undefined }, 'Subscription.status', /must be requested/],
      [{ ...valid, end: '2027-01-01T00:00:00Z' }, 'Subscription.end', /not supported/],
      [{ ...valid, reason: '   ' }, 'Subscription.reason', /1 to 500 characters/],
      [{ ...valid, reason: 'x'.repeat(501) }, 'Subscription.reason', /1 to 500 characters/],
      [{ ...valid, reason: 7 }, 'Subscription.reason', /1 to 500 characters/],
      [{ ...valid, criteria: undefined }, 'Subscription.criteria', /must be a search/],
      [{ ...valid, criteria: `Encounter?status=${'finished,'.repeat(120)}finished` }, 'Subscription.criteria', /must be a search/],
      [{ ...valid, criteria: 'Patient?name=Kim' }, 'Subscription.criteria', /must be a search of Encounter, ServiceRequest, Task, DiagnosticReport/],
      [{ ...valid, criteria: 'Encounter?status=finished?x=1' }, 'Subscription.criteria', /must be a search of/],
      [{ ...valid, criteria: 'Encounter?status=done' }, 'Subscription.criteria', /^status: "done" is not one of/],
      [{ ...valid, criteria: 'Task?owner=x' }, 'Subscription.criteria', /^owner: Task cannot be searched by owner/],
      [{ ...valid, criteria: 'Encounter?_count=5' }, 'Subscription.criteria', /^_count: /],
      [{ ...valid, criteria: 'Encounter?date=2026-02-30' }, 'Subscription.criteria', /^date: must be a date/],
      [{ ...valid, channel: undefined }, 'Subscription.channel', /is required/],
      [{ ...valid, channel: null }, 'Subscription.channel', /is required/],
      [withChannel({ type: 'websocket' }), 'Subscription.channel.type', /must be rest-hook/],
      [withChannel({ type: 'email', endpoint: 'mailto:ehr@hospital.example' }), 'Subscription.channel.type', /must be rest-hook/],
      [withChannel({ endpoint: undefined }), 'Subscription.channel.endpoint', /must be an http\(s\) URL/],
      [withChannel({ endpoint: 'not a url' }), 'Subscription.channel.endpoint', /must be an http\(s\) URL/],
      [withChannel({ endpoint: 'ftp://127.0.0.1:21/x' }), 'Subscription.channel.endpoint', /must be an http\(s\) URL/],
      [withChannel({ endpoint: `http://127.0.0.1:9000/${'x'.repeat(2000)}` }), 'Subscription.channel.endpoint', /must be an http\(s\) URL/],
    ];
    for (const [body, expression, message] of cases) refused(body, expression, message);
  });

  test('the payload is the resource as FHIR JSON or plain JSON, or absent; nothing else', () => {
    for (const payload of ['application/fhir+json', 'application/json']) assert.ok(parse(withChannel({ payload })).ok, payload);
    for (const payload of ['application/fhir+xml', 'text/plain', '', 'application/fhir+json; charset=utf-8', 1]) {
      refused(withChannel({ payload }), 'Subscription.channel.payload', /must be application\/fhir\+json or application\/json, or absent/);
    }
  });

  test('headers: at most ten, each "Name: value" on one line, none of the transport\'s own', () => {
    assert.ok(parse(withChannel({ header: ['X-Api-Key:abc', 'Authorization: Basic dXNlcjpwYXNz'] })).ok);
    const shape = /at most 10 headers, each "Name: value"/;
    refused(withChannel({ header: Array.from({ length: 11 }, (_, i) => `X-${i}: v`) }), 'Subscription.channel.header', shape);
    refused(withChannel({ header: 'Authorization: Bearer x' }), 'Subscription.channel.header', shape);
    for (const header of ['Authorization', 'Authorization:', 'X-A: b\r\nHost: evil.test', 'X A: b', 'X-Ünicode: b', 7]) {
      refused(withChannel({ header: [header] }), 'Subscription.channel.header', shape);
    }
    for (const [header, name] of [['Host: evil.test', 'Host'], ['content-type: text/plain', 'content-type'], ['Content-Length: 0', 'Content-Length'], ['Transfer-Encoding: chunked', 'Transfer-Encoding'], ['CONNECTION: close', 'CONNECTION']]) {
      refused(withChannel({ header: ['X-Ok: 1', header] }), 'Subscription.channel.header', new RegExp(`^may not set ${name}$`));
    }
  });
});

describe('the endpoints a notification may go to', () => {
  const endpointOf = (endpoint: string, allowed: readonly string[]) => {
    const result = parse(withChannel({ endpoint }), allowed);
    return result.ok ? result.subscription.endpoint : result.issue;
  };

  test("by default this machine's loopback addresses, any port; nothing else", () => {
    assert.deepEqual(loopback, ['http://127.0.0.1:', 'http://localhost:', 'http://[::1]:']);
    for (const endpoint of ['http://127.0.0.1:9000/hook', 'http://localhost:8080/', 'http://[::1]:9000/fhir/hook?x=1']) assert.equal(endpointOf(endpoint, loopback), endpoint);
    for (const endpoint of ['http://127.0.0.1.attacker.test:9000/hook', 'https://127.0.0.1:9000/hook', 'http://10.0.0.5:9000/hook', 'http://127.0.0.2:9000/']) {
      const issue = endpointOf(endpoint, loopback);
      assert.equal(typeof issue, 'object', endpoint);
      assert.match((issue as { message: string }).message, /is not among the endpoints this hospital allows \(SUBSCRIPTION_ENDPOINT_PREFIXES: http:\/\/127\.0\.0\.1:, /);
    }
  });

  test('a listed origin is allowed with its host ended: a longer host that starts the same is not', () => {
    const allowed = loadInteropConfig({ SUBSCRIPTION_ENDPOINT_PREFIXES: 'https://hooks.hospital.example, http://10.0.0.5:8080' }).subscriptionEndpoints;
    assert.deepEqual(allowed, ['https://hooks.hospital.example/', 'http://10.0.0.5:8080/']);
    assert.equal(endpointOf('https://hooks.hospital.example/fhir/notify', allowed), 'https://hooks.hospital.example/fhir/notify');
    assert.equal(endpointOf('https://HOOKS.hospital.example', allowed), 'https://hooks.hospital.example/', 'as the URL reads it');
    assert.equal(endpointOf('http://10.0.0.5:8080/hook', allowed), 'http://10.0.0.5:8080/hook');
    for (const endpoint of ['https://hooks.hospital.example.attacker.test/', 'https://hooks.hospital.examples/', 'http://hooks.hospital.example/fhir', 'http://10.0.0.5:80801/', 'http://10.0.0.5/hook']) {
      assert.equal(typeof endpointOf(endpoint, allowed), 'object', `${endpoint} was allowed`);
    }
  });

  test('a listed path allows what is under it', () => {
    const allowed = loadInteropConfig({ SUBSCRIPTION_ENDPOINT_PREFIXES: 'https://ehr.hospital.example/fhir/' }).subscriptionEndpoints;
    assert.equal(endpointOf('https://ehr.hospital.example/fhir/hook', allowed), 'https://ehr.hospital.example/fhir/hook');
    assert.equal(typeof endpointOf('https://ehr.hospital.example/admin', allowed), 'object');
  });

  test('credentials in the URL are refused, even where they would make it start like an allowed prefix', () => {
    const allowed = ['https://hooks.hospital.example/', ...loopback];
    for (const endpoint of ['https://user:pass@hooks.hospital.example/x', 'https://token@hooks.hospital.example/x', 'http://127.0.0.1:9000@attacker.test/', 'http://127.0.0.1:@attacker.test/']) {
      assert.deepEqual(endpointOf(endpoint, allowed), { expression: 'Subscription.channel.endpoint', message: 'must not carry credentials (use a header)' }, endpoint);
    }
  });

  test('an empty allow-list allows nothing, and says so', () => {
    assert.deepEqual(endpointOf('http://127.0.0.1:9000/hook', []), { expression: 'Subscription.channel.endpoint', message: 'is not among the endpoints this hospital allows (SUBSCRIPTION_ENDPOINT_PREFIXES: none)' });
  });
});

describe('parseCriteria', () => {
  test('a search of a searchable type, with its filters; none is every change of that type', () => {
    const parsed = parseCriteria('Task?status=completed&focus=ServiceRequest/6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5', search);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.criteria, {
      type: 'Task',
      filters: [
        { name: 'status', kind: 'token', values: ['completed'] },
        { name: 'focus', kind: 'reference', values: ['6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5'] },
      ],
    });
    for (const criteria of ['DiagnosticReport', 'DiagnosticReport?', 'ServiceRequest?encounter=Encounter/7']) assert.ok(parseCriteria(criteria, search).ok, criteria);
    const dated = parseCriteria('Encounter?date=ge2026-12-07', search);
    assert.ok(dated.ok);
    assert.deepEqual(dated.criteria.filters, [{ name: 'date', kind: 'date', bounds: [{ comparator: 'ge', instant: '2026-12-06T15:00:00.000Z' }] }]);
  });

  test('a type this server does not search, or a full URL, is refused', () => {
    for (const criteria of ['Patient?name=Kim', 'encounter?status=finished', 'https://fhir.example/Encounter?status=finished', '', '?status=finished']) {
      const parsed = parseCriteria(criteria, search);
      assert.ok(!parsed.ok, criteria);
      assert.equal(parsed.issue.expression, 'Subscription.criteria');
    }
  });
});

describe('the Subscription resource answered', () => {
  const row = {
    id: '5d0c7c4e-2f8b-4c1a-9d1e-0f6a7b8c9d0e',
    status: 'active' as const,
    reason: 'Notify the EHR of finished visits',
    criteria: 'Encounter?status=finished',
    endpoint: 'http://127.0.0.1:9000/fhir-hook',
    payload: 'application/fhir+json',
    headers: ['Authorization: Bearer s3cret', 'X-Api-Key:k3y'],
    error: null,
    updatedAt: '2026-12-07T00:00:00.000Z',
  };

  test("shows the headers' names, never their values", () => {
    const resource = subscriptionResourceOf(row);
    assert.deepEqual(resource.channel, { type: 'rest-hook', endpoint: row.endpoint, payload: 'application/fhir+json', header: ['Authorization: (kept, not shown)', 'X-Api-Key: (kept, not shown)'] });
    assert.doesNotMatch(JSON.stringify(resource), /s3cret|k3y/);
  });

  test('is valid R4: active, in error with the reason of its last failure, without a payload or headers', () => {
    const resources = [
      subscriptionResourceOf(row),
      subscriptionResourceOf({ ...row, status: 'error', error: 'the endpoint answered 503' }),
      subscriptionResourceOf({ ...row, status: 'off', payload: null, headers: [] }),
    ];
    for (const resource of resources) {
      const { errors, checkedBindings } = validateR4(resource);
      assert.deepEqual(errors, [], `${resource.status}: ${errors.join('; ')}`);
      assert.ok(checkedBindings.includes('Subscription.status'), 'the status was checked against its value set');
      assert.ok(checkedBindings.includes('Subscription.channel.type'), 'the channel type was checked against its value set');
    }
    assert.equal(resources[1]!.error, 'the endpoint answered 503');
    assert.deepEqual(resources[2]!.channel, { type: 'rest-hook', endpoint: row.endpoint });
  });

  test('the validator would tell: a status outside R4\'s is an error', () => {
    const { errors } = validateR4({ ...subscriptionResourceOf(row), status: 'paused' } as never);
    assert.ok(errors.some((e) => /Subscription\.status/.test(e)), errors.join('; '));
  });
});
