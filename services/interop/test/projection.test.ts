import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataSchemaOf, sourceOf, validateCloudEvent, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import { startService, type RunningService, type ServiceContext } from '@medical/platform';
import { P1, P2 } from '@medical/platform/testing';
import { interopService } from '../src/service.ts';
import { projectionEffect, type ChangeFollower } from '../src/app/projection.ts';
import { createSubscription, notifySubscribers, searchContextOf } from '../src/app/subscriptions.ts';
import { findEncounters, findPatients, findServiceRequests, findTasks, searchRecords } from '../src/db/fhir-reads.ts';
import type { InteropDatabase } from '../src/db/schema.ts';
import { encounterOf, patientOf, resultOf, serviceRequestOf, taskOf, type EncounterRecord, type Resource, type ServiceRequestRecord, type TaskRecord } from '../src/fhir/index.ts';
import { matchesFilters, parseSearch, searchValuesOf, type SearchableType } from '../src/fhir/search.ts';
import { startDevIssuer, serviceEngines, waitFor, type DevIssuer } from '../../../packages/platform/test/helpers.ts';
import { validateR4 } from './r4-validator.ts';
import { visitOf, visitPaths, type VisitEvent, type VisitIds } from './visit-events.ts';

/**
 * The projection (app/projection.ts) on an interop service started in process, on SQLite and on
 * PostgreSQL: the events of a visit become records whose FHIR resources are valid R4 and which
 * the searches (db/fhir-reads.ts) find as the in-memory matching of the subscriptions
 * (fhir/search.ts) says; the followers are handed only what changed, nothing for a redelivery.
 */

const engines = serviceEngines('interopproj');

/** The event as its producer publishes it, checked against the contract; a redelivery is the same content under a new id. */
function cloudEvent(e: VisitEvent): CloudEvent {
  const candidate = {
    specversion: '1.0',
    id: randomUUID(),
    type: e.type,
    source: sourceOf(e as MedicalEvent),
    time: e.time,
    subject: String(e.data.receptionId),
    datacontenttype: 'application/json',
    dataschema: dataSchemaOf(e.type),
    data: e.data,
  };
  const checked = validateCloudEvent(candidate);
  assert.ok(checked.ok, checked.ok ? '' : checked.reason);
  return checked.event;
}

/** What a follower was handed for one event, in short. */
type Handed = { stage?: string; requests: string[]; tasks: number[]; patients: string[] };

function recorder(): { follower: ChangeFollower; handed: Handed[] } {
  const handed: Handed[] = [];
  const follower: ChangeFollower = async (_trx, change) => {
    handed.push({
      ...(change.encounter ? { stage: change.encounter.stage } : {}),
      requests: change.requests.map((r) => r.prescriptionId),
      tasks: change.tasks.map((t) => t.examinationId),
      patients: change.patients.map((p) => p.patientId),
    });
  };
  return { follower, handed };
}

const nothing: Handed = { requests: [], tasks: [], patients: [] };

function assertValid(resource: Resource): void {
  assert.deepEqual(validateR4(resource).errors, [], `${resource.resourceType}/${resource.id} is not valid R4`);
}

for (const engine of engines) {
  describe(`the FHIR projection of the events (${engine.name})`, { skip: engine.skip }, () => {
    let issuer: DevIssuer;
    let service: RunningService;
    let context: ServiceContext<InteropDatabase>;
    let dataDir: string;
    let env: Record<string, string>;

    before(async () => {
      issuer = await startDevIssuer();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'interop-projection-'));
      env = { LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, KAFKA_BROKERS: '', DELIVERY_POLL_INTERVAL_MS: '20', ...engine.env(), ...issuer.env };
      service = await startService(interopService(env), env);
      context = service.context as ServiceContext<InteropDatabase>;
    });
    after(async () => {
      await service?.stop();
      await issuer?.close();
      await engine.drop(env);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Applies each event as the service's consumer does, in a transaction of its own, with these followers. */
    async function apply(events: readonly VisitEvent[], followers: readonly ChangeFollower[]): Promise<void> {
      const effect = projectionEffect(context, followers);
      for (const e of events) await context.execute((trx) => effect(trx, cloudEvent(e)));
    }

    const db = () => context.database.db;
    const search = async (type: SearchableType, query: string) => {
      const parsed = parseSearch(type, new URLSearchParams(query), searchContextOf(context), { paging: true });
      assert.ok(parsed.ok, `${type}?${query}: ${parsed.ok ? '' : parsed.issue.message}`);
      return { search: parsed.search, page: await searchRecords(db(), parsed.search) };
    };
    const keyOf = (type: SearchableType, record: unknown) =>
      type === 'Encounter' ? (record as EncounterRecord).receptionId : type === 'ServiceRequest' ? (record as ServiceRequestRecord).prescriptionId : (record as TaskRecord).examinationId;
    const found = async (type: SearchableType, query: string) => (await search(type, query)).page.items.map((r) => keyOf(type, r));

    test('a finished visit: the followers are handed what each event changed, and nothing when it is delivered again', async () => {
      const ids: VisitIds = { receptionId: 7, diagnosisId: 5, examinationId: 101, prescriptionId: P1, patientId: 'P-007' };
      const events = visitPaths(ids).finished;
      const { follower, handed } = recorder();
      await apply(events, [follower]);
      assert.deepEqual(handed, [
        { stage: 'RECEIVED', requests: [], tasks: [], patients: ['P-007'] },
        { stage: 'WAITING_FOR_DOCTOR', requests: [], tasks: [], patients: [] },
        // The doctor's call: the stage stays, the Encounter (calledAt, its doctor) changes.
        { stage: 'WAITING_FOR_DOCTOR', requests: [], tasks: [], patients: [] },
        { stage: 'IN_EXAMINATION', requests: [P1], tasks: [], patients: [] },
        { requests: [], tasks: [101], patients: [] },
        { requests: [], tasks: [101], patients: [] },
        { stage: 'EXAMINATIONS_DONE', requests: [P1], tasks: [101], patients: [] },
        { stage: 'DIAGNOSIS_COMPLETED', requests: [], tasks: [], patients: [] },
        { stage: 'CONFIRMED', requests: [], tasks: [], patients: [] },
      ]);

      // Every event again, as after a restore re-published them under new ids.
      const again = recorder();
      await apply(events, [again.follower]);
      assert.deepEqual(again.handed, events.map(() => nothing));

      const [encounter] = await findEncounters(db(), [7]);
      assert.deepEqual([encounter?.stage, encounter?.patientId, encounter?.doctor?.subject], ['CONFIRMED', 'P-007', 'doctor-1']);
      const [task] = await findTasks(db(), [101]);
      assert.deepEqual([task?.status, task?.result, task?.queueState], ['PERFORMED', 'No active lung lesion', 'CALLED']);
    });

    test('the FHIR resources of a finished, a rejected and a cancelled visit are valid R4', async () => {
      const paths = [
        visitPaths({ receptionId: 11, diagnosisId: 15, examinationId: 111, prescriptionId: randomUUID(), patientId: 'P-011' }).finished,
        visitPaths({ receptionId: 12, diagnosisId: 16, examinationId: 112, prescriptionId: randomUUID(), patientId: 'P-011' }).rejected,
        visitPaths({ receptionId: 13, diagnosisId: 17, examinationId: 113, prescriptionId: randomUUID(), patientId: 'P-011' }).cancelled,
      ];
      for (const events of paths) await apply(events, []);
      const { catalog } = context.config;
      const encounters = await findEncounters(db(), [11, 12, 13]);
      const tasks = await findTasks(db(), [111, 112]);
      const requests = await findServiceRequests(db(), tasks.map((t) => t.prescriptionId));
      const results = tasks.map((t) => resultOf(t, catalog)).filter((r) => r !== undefined);
      assert.deepEqual([encounters.length, tasks.length, requests.length, results.length], [3, 2, 2, 1]);
      const resources: Resource[] = [
        ...(await findPatients(db(), ['P-011'])).map(patientOf),
        ...encounters.map((r) => encounterOf(r, catalog)),
        ...requests.map((r) => serviceRequestOf(r, catalog)),
        ...tasks.map((r) => taskOf(r, catalog)),
        ...results.flatMap((r) => [r.report, r.observation]),
      ];
      for (const resource of resources) assertValid(resource);
      assert.deepEqual(encounters.map((r) => (encounterOf(r, catalog) as { status: string }).status), ['finished', 'finished', 'cancelled']);
      assert.deepEqual(tasks.map((r) => (taskOf(r, catalog) as { status: string }).status), ['completed', 'cancelled']);
    });

    test('searchRecords finds what matchesFilters says of each record, page by page', async () => {
      const patient = 'P-021';
      const prescriptions = [randomUUID(), randomUUID(), randomUUID()];
      const visits = [
        visitPaths({ receptionId: 21, diagnosisId: 25, examinationId: 121, prescriptionId: prescriptions[0]!, patientId: patient }).finished,
        visitPaths({ receptionId: 22, diagnosisId: 26, examinationId: 122, prescriptionId: prescriptions[1]!, patientId: patient }).rejected,
        visitPaths({ receptionId: 23, diagnosisId: 27, examinationId: 123, prescriptionId: prescriptions[2]!, patientId: patient }).cancelled,
      ];
      // Registered the evening before (23:59 in Seoul), and at the first minute of the day.
      const eve = visitOf({ receptionId: 24, diagnosisId: 28, examinationId: 124, prescriptionId: randomUUID(), patientId: 'P-024' });
      const midnight = visitOf({ receptionId: 25, diagnosisId: 29, examinationId: 125, prescriptionId: randomUUID(), patientId: 'P-024' });
      for (const events of [...visits, [eve.completed(-541)], [midnight.completed(-540), midnight.registered(-530), midnight.doctorCalled(-520)]]) await apply(events, []);

      // Every record of the database, the other tests' visits among them: a search must leave those out by itself.
      const records = async <T>(table: 'interop_encounters' | 'interop_service_requests' | 'interop_tasks') => (await db().selectFrom(table).select('record').execute()).map((r) => JSON.parse(r.record) as T);
      const all = {
        Encounter: await records<EncounterRecord>('interop_encounters'),
        ServiceRequest: await records<ServiceRequestRecord>('interop_service_requests'),
        Task: await records<TaskRecord>('interop_tasks'),
      };
      const expected = (type: SearchableType, query: string) => {
        const parsed = parseSearch(type, new URLSearchParams(query), searchContextOf(context), { paging: true });
        assert.ok(parsed.ok);
        const matching =
          type === 'Encounter' ? all.Encounter.filter((r) => matchesFilters(searchValuesOf.Encounter(r), parsed.search.filters))
          : type === 'ServiceRequest' ? all.ServiceRequest.filter((r) => matchesFilters(searchValuesOf.ServiceRequest(r), parsed.search.filters))
          : type === 'Task' ? all.Task.filter((r) => matchesFilters(searchValuesOf.Task(r), parsed.search.filters))
          : all.Task.filter((r) => resultOf(r, context.config.catalog) !== undefined && matchesFilters(searchValuesOf.DiagnosticReport(r), parsed.search.filters));
        // Newest first: by id, descending.
        return matching.map((r) => keyOf(type, r)).sort((x, y) => (x < y ? 1 : x > y ? -1 : 0));
      };
      const queries: [SearchableType, string][] = [
        ['Encounter', 'status=finished'],
        ['Encounter', `status=finished&patient=${patient}`],
        ['Encounter', 'status=cancelled'],
        ['Encounter', 'status=arrived,in-progress'],
        ['Encounter', `patient=${patient}`],
        ['Encounter', 'patient=Patient/P-024&status=in-progress'],
        ['Encounter', 'date=2026-12-07'],
        ['Encounter', 'date=2026-12-07&patient=P-024'],
        ['Encounter', 'date=2026-12-06'],
        ['Encounter', 'date=lt2026-12-07'],
        ['Encounter', 'date=ge2026-12-07T00:00:00%2B09:00&date=le2026-12-07T09:00:00%2B09:00'],
        ['Encounter', 'date=gt2026-12-06T23:59:00%2B09:00'],
        ['Encounter', ''],
        ['ServiceRequest', 'encounter=21,22'],
        ['ServiceRequest', 'encounter=Encounter/23'],
        ['Task', 'status=completed'],
        ['Task', 'status=cancelled,requested'],
        ['Task', `focus=ServiceRequest/${prescriptions[0]}`],
        ['Task', `focus=${prescriptions[1]}&encounter=21`],
        ['Task', 'encounter=21'],
        ['Task', 'encounter=Encounter/22,23'],
        ['Task', 'encounter=not-a-number'],
        ['DiagnosticReport', 'encounter=21,22'],
        ['DiagnosticReport', ''],
      ];
      for (const [type, query] of queries) {
        const want = expected(type, query);
        const { page } = await search(type, `${query}&_count=100`);
        assert.deepEqual([page.total, page.items.map((r) => keyOf(type, r))], [want.length, want], `${type}?${query}`);
      }
      // The matching was not empty where it mattered.
      assert.deepEqual(expected('Encounter', `status=finished&patient=${patient}`), [22, 21]);
      assert.deepEqual(expected('Task', `focus=ServiceRequest/${prescriptions[0]}`), [121]);
      assert.deepEqual(expected('Encounter', 'date=2026-12-07&patient=P-024'), [25]);
      assert.deepEqual(expected('Encounter', 'date=2026-12-06'), [24]);
      assert.ok(expected('Encounter', 'date=2026-12-07').length >= 4);

      // Pages of two of the patient's three visits: the total on each, the rest on the next.
      const pages = [];
      for (const page of [0, 1, 2]) pages.push((await search('Encounter', `patient=${patient}&_count=2&_page=${page}`)).page);
      assert.deepEqual(pages.map((p) => [p.total, p.items.map((r) => keyOf('Encounter', r))]), [[3, [23, 22]], [3, [21]], [3, []]]);
    });

    test("a merge moves the visit's records to the patient kept; both patients are handed on, the duplicate pointing to the kept", async () => {
      const v = visitOf({ receptionId: 31, diagnosisId: 35, examinationId: 131, prescriptionId: P2, patientId: 'P-DUP' });
      await apply([v.completed(), v.registered(), v.prescribed(), v.requested()], []);
      const { follower, handed } = recorder();
      await apply([v.merged('P-KEPT', 50, '김민지'), v.merged('P-KEPT', 51, '김민지')], [follower]);
      assert.deepEqual(handed, [{ stage: 'IN_EXAMINATION', requests: [P2], tasks: [131], patients: ['P-KEPT', 'P-DUP'] }, nothing]);
      assert.deepEqual(await found('Encounter', 'patient=P-KEPT'), [31]);
      assert.deepEqual(await found('Encounter', 'patient=P-DUP'), []);
      const [duplicate] = await findPatients(db(), ['P-DUP']);
      assert.equal(duplicate?.mergedInto, 'P-KEPT');
      const resource = patientOf(duplicate!);
      assertValid(resource);
      assert.deepEqual(resource.link, [{ other: { reference: 'Patient/P-KEPT' }, type: 'replaced-by' }]);
    });

    test('the subscriptions follower queues a notification for each matching change, none for a redelivery, and the endpoint gets them', async () => {
      const received: { authorization: string | undefined; body: { resourceType: string; id: string; status: string } }[] = [];
      const receiver = http.createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          received.push({ authorization: request.headers.authorization, body: JSON.parse(body) });
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      try {
        const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
        const subscribe = async (criteria: string) => {
          const body = { resourceType: 'Subscription', status: 'requested', reason: 'test', criteria, channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', header: ['Authorization: Bearer hook-secret'] } };
          const created = await createSubscription(context, 'ehr', body, ['http://127.0.0.1:']);
          assert.ok(created.ok);
          return `subscription:${created.subscription.id}`;
        };
        const [finished, completed, report] = [await subscribe('Encounter?status=finished&patient=P-041'), await subscribe('Task?status=completed&encounter=41'), await subscribe('DiagnosticReport?encounter=41')];
        const events = visitPaths({ receptionId: 41, diagnosisId: 45, examinationId: 141, prescriptionId: randomUUID(), patientId: 'P-041' }).finished;
        const notify = notifySubscribers(context, () => {});
        await apply(events, [notify]);
        await apply(events, [notify]);
        const queued = async (destination: string) => (await db().selectFrom('interop_deliveries').select('about').where('destination', '=', destination).orderBy('id').execute()).map((r) => r.about);
        // Finished when the doctor concluded, and again when the desk confirmed (the Encounter changed, still finished).
        assert.deepEqual(await queued(finished), ['Encounter/41', 'Encounter/41']);
        assert.deepEqual(await queued(completed), ['Task/141']);
        assert.deepEqual(await queued(report), ['DiagnosticReport/141']);

        await waitFor('the four notifications received', () => received.length >= 4);
        assert.deepEqual(received.map((r) => `${r.body.resourceType}/${r.body.id} ${r.body.status}`).sort(), ['DiagnosticReport/141 final', 'Encounter/41 finished', 'Encounter/41 finished', 'Task/141 completed']);
        assert.ok(received.every((r) => r.authorization === 'Bearer hook-secret'));
      } finally {
        receiver.closeAllConnections();
        await new Promise((resolve) => receiver.close(resolve));
      }
    });

    test('an event of a visit never received is an error (retried, then dead-lettered), not dropped', async () => {
      const v = visitOf({ receptionId: 99, diagnosisId: 95, examinationId: 199, prescriptionId: randomUUID(), patientId: 'P-099' });
      await assert.rejects(apply([v.registered()], []), /DiagnosisRegistered for visit 99 that has not been received/);
    });
  });
}
