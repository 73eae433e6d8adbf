import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import { addFormats, assertEventData, eventConsumers, eventProducers, eventsConsumedBy, eventTypes, type EventType } from '@medical/contracts';
import { asyncApiDocument } from '@medical/contracts/asyncapi';
import { diagnosisService } from '../services/diagnosis/src/service.ts';
import { examinationService } from '../services/examination/src/service.ts';
import { patientManagementService } from '../services/patient-management/src/service.ts';
import { receptionService } from '../services/reception/src/service.ts';
import { REPOSITORY_ROOT } from '../scripts/lib/processes.ts';

/**
 * The AsyncAPI 3.0 document of the events (packages/contracts/src/asyncapi.ts): it parses with the
 * AsyncAPI project's own parser with no error or warning, it names every event type of the
 * contracts with its producers and consumers, the services consume exactly what it says, and
 * docs/asyncapi.json is the document (`npm run asyncapi`, exactly as the README writes it, changes
 * nothing in an up-to-date checkout).
 */

const COPY = path.join(REPOSITORY_ROOT, 'docs', 'asyncapi.json');
const { version } = JSON.parse(fs.readFileSync(path.join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { version: string };
const document = asyncApiDocument({ version });

test('the document parses with @asyncapi/parser: no error, no warning', async () => {
  const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
  // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
  const serious = diagnostics.filter((d) => Number(d.severity) <= 1).map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`);
  assert.deepEqual(serious, []);
  assert.ok(parsed, 'a document');
  assert.equal(parsed.version(), '3.0.0');
  assert.deepEqual(parsed.allMessages().all().map((m) => m.name()).sort(), [...eventTypes].sort(), 'every event type of the contracts, once');
  assert.deepEqual(parsed.channels().all().map((c) => c.address()).sort(), ['medical', 'medical.dlq']);
});

test('each event\'s producers send it and each of its consumers receives it, as the contracts say', async () => {
  const { document: parsed } = await new Parser().parse(JSON.stringify(document));
  assert.ok(parsed);
  const operations = new Map(parsed.operations().all().map((o) => [o.id(), o]));
  const sources = { '/reception': 'reception', '/diagnosis': 'diagnosis', '/examination': 'examination' } as const;
  let expected = 0;
  for (const type of eventTypes) {
    for (const source of eventProducers[type]) {
      const operation = operations.get(`${sources[source]}.sends.${type}`);
      assert.ok(operation && operation.isSend(), `${sources[source]} sends ${type}`);
      assert.deepEqual(operation.messages().all().map((m) => m.name()), [type]);
      expected++;
    }
    for (const service of eventConsumers[type]) {
      assert.ok(operations.get(`${service}.receives.${type}`)?.isReceive(), `${service} receives ${type}`);
      expected++;
    }
  }
  assert.equal(operations.size, expected, 'no other operation');
  // A call is the doctor's or the examiners': both send it, and the header says which one did.
  const called = parsed.messages().all().find((m) => m.name() === 'PatientCalled') ?? parsed.allMessages().all().find((m) => m.name() === 'PatientCalled');
  assert.deepEqual((called?.headers()?.json() as { properties: { ce_source: { enum: string[] } } }).properties.ce_source.enum, ['/diagnosis', '/examination']);
});

test('the services consume exactly the types the document says they receive', () => {
  for (const service of [receptionService, diagnosisService, examinationService]) {
    assert.deepEqual(service.consumer?.handles, eventsConsumedBy(service.name as 'reception' | 'diagnosis' | 'examination'), service.name);
  }
  assert.equal(patientManagementService.consumer?.handles, 'all');
  assert.deepEqual(eventsConsumedBy('patient-management'), eventTypes, 'the read model receives every type');
});

test('each payload is the data schema producers and consumers validate against', () => {
  const samples: Partial<Record<EventType, Record<string, unknown>>> = {
    PatientCalled: { receptionId: 7, calledFor: 'DIAGNOSIS', diagnosisId: 3, department: 'surgery', queueNumber: 12, room: '3', callCount: 1, calledAt: '2026-12-07T01:02:03Z' },
    ReceptionCompleted: { receptionId: 7, patientId: '00000018', patientName: '김민지', department: 'surgery', receivedAt: '2026-12-07T01:02:03Z', queueNumber: 3, queueDay: '2026-12-07' },
    ReceptionCancelled: { receptionId: 7, reason: 'left' },
  };
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const messages = (document.components as { messages: Record<string, { payload: object; headers: { properties: { ce_type: { const: string } } } }> }).messages;
  for (const type of eventTypes) assert.equal(messages[type]!.headers.properties.ce_type.const, type);
  for (const [type, sample] of Object.entries(samples) as Array<[EventType, Record<string, unknown>]>) {
    const payload = ajv.compile(messages[type]!.payload);
    const wrong = { ...sample, receptionId: 'seven' };
    // The document's schema and the producers' check agree, on a good sample and on a bad one.
    assert.ok(payload(sample), `${type}: the sample is valid by the document`);
    assert.doesNotThrow(() => assertEventData(type, sample), `${type}: and by the producers' check`);
    assert.ok(!payload(wrong), `${type}: a wrong type is refused by the document`);
    assert.throws(() => assertEventData(type, wrong), `${type}: and by the producers' check`);
  }
});

test('docs/asyncapi.json is the document; npm run asyncapi, as the README writes it, finds it up to date', () => {
  assert.deepEqual(JSON.parse(fs.readFileSync(COPY, 'utf8')), document, 'docs/asyncapi.json differs from the contracts: run npm run asyncapi');
  const before = fs.readFileSync(COPY, 'utf8');
  const run = spawnSync('npm', ['run', 'asyncapi'], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /docs\/asyncapi\.json: up to date/);
  assert.equal(fs.readFileSync(COPY, 'utf8'), before);
});
