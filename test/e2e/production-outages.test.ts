import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import pg from 'pg';
import { SERVICE_NAMES } from '../../scripts/lib/processes.ts';
import {
  assertProblem,
  describeProduction,
  eventually,
  listAll,
  registerPatient,
  startTestSystem,
  waitForDiagnosis,
  waitForQuiescence,
  type HttpReply,
  type Reception,
  type TestSystem,
} from './helpers.ts';
import { readEventRecords } from './support/event-records.ts';
import { DedicatedKafkaBroker, dedicatedKafkaSkipReason } from './support/kafka-broker.ts';
import { DedicatedPostgres, dedicatedPostgresSkipReason } from './support/postgres-cluster.ts';
import {
  RecordingClient,
  assertEndState,
  commandBodies,
  describeExchanges,
  driveVisit,
  planFor,
  type DrivenVisit,
  type Exchange,
  type VisitPlan,
  type VisitStep,
} from './support/visits.ts';

/**
 * The production profile while its infrastructure fails (DESIGN.md section 1, "Nothing is lost
 * and nothing is applied twice"; section 4, the transactional outbox): Kafka away for a while,
 * PostgreSQL restarted, and a service killed between its commit and the publish.
 *
 * The system runs on a broker and a PostgreSQL cluster of this file's own (support/), started
 * on free ports, so that stopping them disturbs no other suite. The harness gives a production
 * system a fresh database and fresh topics on the servers named by DATABASE_URL and
 * KAFKA_BROKERS of this process, so this file points those at its own servers for its duration.
 *
 * The three tests run in order on one system, and each checks the whole system at its end: the
 * visits of the earlier tests must stay as they were.
 */

/** The deliberate outages. */
const KAFKA_OUTAGE_MS = 10_000;
const POSTGRES_OUTAGE_MS = 5_000;
/** How long a visit may wait for one step of the saga; covers an outage and the backoffs after it. */
const STEP_TIMEOUT_MS = 90_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A visit driven through its steps but held after `at` until `release()`. */
type HeldVisit = {
  plan: VisitPlan;
  at: VisitStep;
  /** Resolves with the visit so far once it is held at `at`. */
  reached: Promise<Partial<DrivenVisit>>;
  release(): void;
  /** The whole visit, once driven to its end. */
  done: Promise<DrivenVisit>;
};

function holdAt(client: RecordingClient, plan: VisitPlan, at: VisitStep): HeldVisit {
  let reach!: (visit: Partial<DrivenVisit>) => void;
  let release!: () => void;
  const reached = new Promise<Partial<DrivenVisit>>((resolve) => (reach = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const done = driveVisit(client, plan, {
    timeoutMs: STEP_TIMEOUT_MS,
    onStep: async (step, visit) => {
      if (step !== at) return;
      reach(visit);
      await released;
    },
  });
  // A visit that fails before it is held would leave `reached` pending forever.
  done.catch(() => undefined);
  return { plan, at, reached: Promise.race([reached, done.then(() => { throw new Error(`${plan.label} ended without reaching ${at}`); })]), release, done };
}

/** A plan with an explicit shape, for visits held at a chosen step. */
function plan(label: string, examinations: VisitPlan['examinations'], outcome: VisitPlan['outcome'], patientId?: string): VisitPlan {
  return { label, examinations, outcome, ...(patientId ? { patientId } : {}) };
}

function isSuccess(e: Exchange): boolean {
  return e.status >= 200 && e.status < 300;
}

async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(8_000) });
  return response.text();
}

async function readyz(url: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: (error as Error).message };
  }
}

/**
 * Receptionists at work: `desks` loops, each registering a visit and reading the worklist, over
 * and over, until `stop`. Keeps transactions and queries in flight at any moment, as a hospital's
 * traffic would when its database server goes away. Returns what was registered (201) and what
 * was refused (503), for the test to follow up on.
 */
function receptionistsAtWork(client: RecordingClient, prefix: string, desks: number, patients: readonly string[]) {
  let stopping = false;
  const registered: Array<{ plan: VisitPlan; reception: Reception }> = [];
  const refused: Array<{ plan: VisitPlan; status: number }> = [];
  let count = 0;
  const desk = async () => {
    while (!stopping) {
      const k = count++;
      const visitPlan = { ...planFor(k, prefix), patientId: patients[k % patients.length]! };
      try {
        const reply = await client.post<Reception>('/receptions', commandBodies.registration(visitPlan));
        if (reply.status === 201) registered.push({ plan: visitPlan, reception: reply.body });
        else refused.push({ plan: visitPlan, status: reply.status });
        await client.get('/receptions?page=0&size=20');
      } catch {
        // No answer: recorded by the client, judged by the test.
        refused.push({ plan: visitPlan, status: 0 });
      }
      await sleep(25);
    }
  };
  const running = Array.from({ length: desks }, desk);
  return {
    async stop() {
      stopping = true;
      await Promise.all(running);
      return { registered, refused };
    },
  };
}

describeProduction('production: Kafka and PostgreSQL outages (a dedicated broker and cluster)', () => {
  const cannotRun = dedicatedKafkaSkipReason() ?? dedicatedPostgresSkipReason();
  if (cannotRun) {
    test('outages', { skip: cannotRun }, () => {});
    return;
  }

  let broker: DedicatedKafkaBroker | undefined;
  let cluster: DedicatedPostgres | undefined;
  let running: TestSystem;
  let client: RecordingClient;
  /** Every visit driven by the tests so far: each test checks them all at its end. */
  const driven: DrivenVisit[] = [];
  /** Receptions of a test that failed: the later tests do not judge them again. */
  const abandoned = new Set<number>();
  const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, DATABASE_URL: process.env.DATABASE_URL };
  let failures = 0;

  const backends = () =>
    (['reception', 'diagnosis', 'examination', 'patient-management'] as const).map((name) => ({ name, url: running.system.services[name].url }));

  /**
   * Runs one test's body so that its failure does not become the next test's: on failure the
   * receptions it registered are set aside, and whatever it left down (the broker, the cluster,
   * a service that crashed or was killed) is started again.
   */
  async function chapter(body: () => Promise<void>): Promise<void> {
    const firstExchange = client.exchanges.length;
    const crashesBefore = running.system.unexpectedExits().length;
    let failed = false;
    try {
      await body();
      const crashed = running.system.unexpectedExits().slice(crashesBefore);
      assert.deepEqual(crashed, [], 'no service should end on its own');
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (!broker!.isRunning()) await broker!.start();
      if (!cluster!.isRunning()) await cluster!.start();
      for (const name of SERVICE_NAMES) {
        for (const [index, replica] of running.system.replicasOf(name).entries()) if (replica.exitInfo()) await running.system.restart(name, index);
      }
      if (failed) {
        // Every reception no passed test drove is this test's (some may have been committed
        // without their 201 reaching us, when a service crashed).
        const judged = new Set(driven.map((v) => v.receptionId));
        const all = await eventually(() => listAll<Reception>(client, '/receptions'), { timeoutMs: 30_000, intervalMs: 200 }).catch(() => []);
        for (const id of client.registeredReceptions(firstExchange)) abandoned.add(id);
        for (const r of all) if (!judged.has(r.id)) abandoned.add(r.id);
        // This test's visits that did get driven are not judged again either.
        for (let i = driven.length - 1; i >= 0; i--) if (abandoned.has(driven[i]!.receptionId)) driven.splice(i, 1);
      }
    }
  }

  /** The services that ended on their own since `from` (an index into unexpectedExits), with the end of their stderr. */
  function crashReport(from: number): string[] {
    return running.system
      .unexpectedExits()
      .slice(from)
      .map(({ name, index, pid, exit }) => {
        const handle = running.system.replicasOf(name)[index];
        const stderr = handle && handle.pid === pid ? handle.stderr() : '';
        // Not the JSON log lines: the crash's own report (Node prints the error, then its stack).
        const lines = stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
        const first = lines.findIndex((line) => /Unhandled|^\w*Error\b|^Error:/.test(line));
        const shown = first >= 0 ? lines.slice(first, first + 14) : lines.slice(-14);
        return `${name}[${index}] (pid ${pid}) ended on its own: ${JSON.stringify(exit)}; its stderr says:\n      ${shown.join('\n      ')}`;
      });
  }

  before(async () => {
    const started = Date.now();
    [broker, cluster] = await Promise.all([DedicatedKafkaBroker.create('outages'), DedicatedPostgres.create('outages')]);
    await broker.start();
    process.stderr.write(`# dedicated Kafka on ${broker.bootstrap} and PostgreSQL on 127.0.0.1:${cluster.port} in ${Date.now() - started} ms\n`);
    // The harness creates the system's database and topics on the servers of these two.
    process.env.KAFKA_BROKERS = broker.bootstrap;
    process.env.DATABASE_URL = cluster.url;
    running = await startTestSystem('outages', { profile: 'production' });
    client = new RecordingClient(running.system.gatewayUrl);
  });

  afterEach((t) => {
    const passed = (t as { passed?: boolean }).passed !== false;
    if (!passed) failures += 1;
    running?.recordOutcome({ passed });
  });

  after(async () => {
    try {
      if (running) {
        // A test that failed mid-outage leaves a server down; the services need both to stop cleanly.
        if (broker && !broker.isRunning()) await broker.start();
        if (cluster && !cluster.isRunning()) await cluster.start();
        await running.stop();
      }
    } finally {
      process.env.KAFKA_BROKERS = saved.KAFKA_BROKERS;
      process.env.DATABASE_URL = saved.DATABASE_URL;
      const keep = failures > 0 || Boolean(process.env.E2E_KEEP_DATA);
      await broker?.close({ keep });
      await cluster?.close({ keep });
      if (keep && broker && cluster) process.stderr.write(`# kept the dedicated broker's folder ${broker.dir} and the cluster's ${cluster.dir}\n`);
    }
  });

  test('a. Kafka stopped for 10 s mid-flow: every service stays ready and says the broker is down, commands and reads keep working, every flow completes after, nothing lost or doubled', () =>
    chapter(async () => {
      // Visits held just before a command whose effect is local to one service.
      const held = [
        holdAt(client, plan('a-prescribe', ['perform'], 'complete'), 'diagnosed'),
        holdAt(client, plan('a-examine', ['perform', 'cancel'], 'complete'), 'examinations requested'),
        holdAt(client, plan('a-complete', ['perform'], 'complete'), 'examinations done'),
        holdAt(client, plan('a-reject', ['perform', 'leave'], 'reject'), 'examined'),
        holdAt(client, plan('a-confirm', ['perform'], 'complete'), 'outcome received'),
      ];
      const positions = await Promise.all(held.map((h) => h.reached));
      await waitForQuiescence(running);

      // The outage.
      await broker!.kill();
      client.phase = 'a: kafka down';
      const outageStart = client.now();
      for (const h of held) h.release();
      const registeredDuringOutage: Array<Promise<DrivenVisit>> = [];
      // Every service stays ready all through the outage (the outbox holds the events): on
      // Kubernetes, a readiness probe that failed with the broker would take every pod out of its
      // Service and the whole API down. The broker's state is a gauge instead, which says 0.
      const unready: string[] = [];
      let watchingReadiness = true;
      const readinessWatch = (async () => {
        while (watchingReadiness) {
          for (const { name, url } of backends()) {
            const answer = await readyz(url);
            if (answer.status !== 200) unready.push(`${name} /readyz → ${answer.status || 'no answer'} ${answer.body} at +${client.now() - outageStart} ms`);
          }
          await sleep(200);
        }
      })();
      const transportDown = backends().map(({ name, url }) =>
        eventually(
          async () => assert.match(await metricsText(url), /^medical_transport_up\{[^}]*transport="kafka"[^}]*\} 0$/m, `${name} medical_transport_up`),
          { timeoutMs: KAFKA_OUTAGE_MS - 2_000, intervalMs: 200, message: `${name} reports medical_transport_up 0 while Kafka is away` },
        ),
      );
      // New visits registered while Kafka is away, one a second; and reads of the held visits.
      for (let k = 0; client.now() - outageStart < KAFKA_OUTAGE_MS - 1_000; k++) {
        registeredDuringOutage.push(driveVisit(client, planFor(k, 'a-new'), { timeoutMs: STEP_TIMEOUT_MS }));
        for (const v of positions) {
          for (const path of [`/receptions/${v.receptionId}`, `/diagnoses/${v.diagnosisId}`, `/patientManagements/${v.receptionId}`]) {
            const reply = await client.get(path);
            assert.equal(reply.status, 200, `${reply.request} while Kafka is away: ${reply.text}`);
          }
          for (const p of v.prescriptions ?? []) {
            const reply = await client.get(`/examinations/${p.examinationId}`);
            assert.equal(reply.status, 200, `${reply.request} while Kafka is away: ${reply.text}`);
          }
        }
        await sleep(1_000);
      }
      await Promise.all(transportDown);
      await sleep(Math.max(0, KAFKA_OUTAGE_MS - (client.now() - outageStart)));
      client.phase = 'a: kafka starting';
      await broker!.start();
      const outageEnd = client.now();
      client.phase = 'a: after kafka';
      watchingReadiness = false;
      await readinessWatch;
      assert.deepEqual(unready, [], 'every service stays ready while Kafka is away');

      // Every flow completes.
      const results = await Promise.allSettled([...held.map((h) => h.done), ...registeredDuringOutage]);
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      assert.deepEqual(errors, [], `every visit should complete once Kafka is back:\n${errors.join('\n')}`);
      const visits = results.map((r) => (r as PromiseFulfilledResult<DrivenVisit>).value);
      driven.push(...visits);

      // The commands were accepted while Kafka was away: sent and answered within the outage.
      const byLabel = new Map(visits.map((v) => [v.plan.label, v]));
      const prescribe = byLabel.get('a-prescribe')!;
      const examine = byLabel.get('a-examine')!;
      const expectedDuringOutage = [
        `POST /diagnoses/${prescribe.diagnosisId}/prescriptions`,
        `POST /examinations/${examine.prescriptions[0]!.examinationId}/perform`,
        `POST /examinations/${examine.prescriptions[1]!.examinationId}/cancel`,
        `POST /diagnoses/${byLabel.get('a-complete')!.diagnosisId}/complete`,
        `POST /diagnoses/${byLabel.get('a-reject')!.diagnosisId}/reject`,
        `POST /receptions/${byLabel.get('a-confirm')!.receptionId}/confirm`,
      ];
      for (const request of expectedDuringOutage) {
        const sent = client.exchanges.filter((e) => e.request === request);
        assert.equal(sent.length, 1, `${request} was sent once: ${describeExchanges(sent)}`);
        const [exchange] = sent;
        assert.ok(
          exchange!.at >= outageStart && exchange!.end < outageEnd && isSuccess(exchange!),
          `${request} should be accepted while Kafka is away (outage +${outageStart}..+${outageEnd} ms): ${describeExchanges(sent)}`,
        );
      }
      const registrations = client.exchanges.filter((e) => e.request === 'POST /receptions' && e.at >= outageStart && e.end < outageEnd && e.status === 201);
      assert.ok(registrations.length >= 5, `receptions should be registered (201) while Kafka is away; ${registrations.length} were`);
      const duringOutage = client.exchanges.filter((e) => e.phase === 'a: kafka down' || e.phase === 'a: kafka starting');
      const refused = duringOutage.filter((e) => !isSuccess(e));
      assert.equal(refused.length, 0, `every request while Kafka was away should succeed (${duringOutage.length} sent):\n${describeExchanges(refused)}`);
      const failed = client.failures();
      assert.equal(failed.length, 0, `no request should fail:\n${describeExchanges(failed)}`);

      for (const { name, url } of backends()) {
        await eventually(
          async () => assert.match(await metricsText(url), /^medical_transport_up\{[^}]*transport="kafka"[^}]*\} 1$/m),
          { timeoutMs: 30_000, intervalMs: 200, message: `${name} reports medical_transport_up 1 once Kafka is back` },
        );
      }
      await waitForQuiescence(running, { timeoutMs: 60_000 });
      await assertEndState(client, running, driven, abandoned);
    }));

  test('b. PostgreSQL stopped for 5 s: 503 problem+json (never 500) and /readyz 503 meanwhile; then the same commands succeed and every flow completes', () =>
    chapter(async () => {
      const firstExchange = client.exchanges.length;
      const registration = commandBodies.registration({ ...plan('b-register', ['perform'], 'complete'), patientId: await registerPatient(client, { name: 'Patient b-register' }) });
      const registerPlan = plan('b-register', ['perform'], 'complete', registration.patientId);
      const held = [
        holdAt(client, plan('b-prescribe', ['perform'], 'complete'), 'diagnosed'),
        holdAt(client, plan('b-perform', ['perform'], 'complete'), 'examinations requested'),
        holdAt(client, plan('b-cancel', ['cancel'], 'complete'), 'examinations requested'),
        holdAt(client, plan('b-complete', ['perform'], 'complete'), 'examinations done'),
        holdAt(client, plan('b-reject', ['leave'], 'reject'), 'examined'),
        holdAt(client, plan('b-confirm', ['perform'], 'complete'), 'outcome received'),
        // In flight when the server stops: each has just committed a command whose events the saga
        // is still carrying (ReceptionCompleted, ExaminationPrescribed, ExaminationPerformed).
        holdAt(client, plan('b-inflight-registered', ['perform'], 'complete'), 'registered'),
        holdAt(client, plan('b-inflight-prescribed', ['perform', 'perform'], 'complete'), 'prescribed'),
        holdAt(client, plan('b-inflight-examined', ['perform'], 'complete'), 'examined'),
      ];
      const positions = await Promise.all(held.map((h) => h.reached));
      const byLabel = new Map(positions.map((v) => [v.plan!.label, v]));

      // The same command a held visit sends next; and where the service itself answers it.
      const prescribeV = byLabel.get('b-prescribe')!;
      const performV = byLabel.get('b-perform')!;
      const cancelV = byLabel.get('b-cancel')!;
      const commands: Array<{ service: 'reception' | 'diagnosis' | 'examination'; path: string; body: unknown; label: string }> = [
        { service: 'reception', path: '/receptions', body: registration, label: 'b-register' },
        { service: 'diagnosis', path: `/diagnoses/${prescribeV.diagnosisId}/prescriptions`, body: commandBodies.prescription(prescribeV.plan!, 0), label: 'b-prescribe' },
        {
          service: 'examination',
          path: `/examinations/${performV.prescriptions![0]!.examinationId}/perform`,
          body: commandBodies.performance(performV.prescriptions![0]!.examinationType),
          label: 'b-perform',
        },
        { service: 'examination', path: `/examinations/${cancelV.prescriptions![0]!.examinationId}/cancel`, body: commandBodies.examinationCancellation(), label: 'b-cancel' },
        { service: 'diagnosis', path: `/diagnoses/${byLabel.get('b-complete')!.diagnosisId}/complete`, body: commandBodies.completion(byLabel.get('b-complete')!.plan!), label: 'b-complete' },
        { service: 'diagnosis', path: `/diagnoses/${byLabel.get('b-reject')!.diagnosisId}/reject`, body: commandBodies.rejection(byLabel.get('b-reject')!.plan!), label: 'b-reject' },
        { service: 'reception', path: `/receptions/${byLabel.get('b-confirm')!.receptionId}/confirm`, body: undefined, label: 'b-confirm' },
      ];
      const v = byLabel.get('b-perform')!;
      const reads: Array<{ service: 'reception' | 'diagnosis' | 'examination' | 'patient-management'; path: string }> = [
        { service: 'reception', path: `/receptions/${v.receptionId}` },
        { service: 'diagnosis', path: `/diagnoses/${v.diagnosisId}` },
        { service: 'examination', path: `/examinations/${v.prescriptions![0]!.examinationId}` },
        { service: 'patient-management', path: `/patientManagements/${v.receptionId}` },
        { service: 'reception', path: '/receptions?page=0&size=5' },
      ];

      // The outage, while receptionists keep working.
      const crashesBefore = running.system.unexpectedExits().length;
      // The desks' returning patients, registered while the database is up.
      const regulars = await Promise.all(Array.from({ length: 12 }, (_, i) => registerPatient(client, { name: `Regular patient ${i}` })));
      const desks = receptionistsAtWork(client, 'b-desk', 3, regulars);
      await eventually(() => assert.ok(client.registeredReceptions(firstExchange).length >= 6, 'the desks are busy'), { timeoutMs: 30_000, intervalMs: 20 });
      client.phase = 'b: postgres stopping';
      const stopStarted = Date.now();
      await cluster!.stop('fast');
      client.phase = 'b: postgres down';
      const downStart = client.now();
      const problems: string[] = [];
      const expect503 = async (send: () => Promise<HttpReply>, where: string) => {
        try {
          assertProblem(await send(), 503, { context: where });
        } catch (error) {
          problems.push(`${where}: ${(error as Error).message}`);
        }
      };
      for (const command of commands) {
        // Through the gateway, as users send it; and to the service itself, whose own answer it
        // must be (the gateway also answers 503 when the service is gone altogether).
        await expect503(() => client.post(command.path, command.body), `${command.label} through the gateway`);
        const direct = new RecordingClient(running.system.services[command.service].url);
        await expect503(() => direct.post(command.path, command.body), `${command.label} sent to ${command.service} itself`);
      }
      for (const read of reads) {
        await expect503(() => client.get(read.path), `GET ${read.path} through the gateway`);
        const direct = new RecordingClient(running.system.services[read.service].url);
        await expect503(() => direct.get(read.path), `GET ${read.path} sent to ${read.service} itself`);
      }
      for (const { name, url } of backends()) {
        const answer = await readyz(url);
        if (answer.status !== 503 || !/database/.test(answer.body)) problems.push(`${name} /readyz → ${answer.status || 'no answer'} ${answer.body} (expected 503 naming the database)`);
      }
      const work = await desks.stop();
      problems.push(...crashReport(crashesBefore));
      const downEnd = client.now();
      await sleep(Math.max(0, POSTGRES_OUTAGE_MS - (Date.now() - stopStarted)));
      client.phase = 'b: postgres starting';
      await cluster!.start();
      client.phase = 'b: after postgres';
      assert.deepEqual(problems, [], `while PostgreSQL was down (+${downStart}..+${downEnd} ms):\n${problems.join('\n')}\n`);

      // Back: the same commands, sent by the held visits now, succeed; every flow completes.
      const afterStart = client.now();
      for (const h of held) h.release();
      const registered = driveVisit(client, registerPlan, { timeoutMs: STEP_TIMEOUT_MS });
      const fromDesks = work.registered.map(({ plan: p, reception }) => driveVisit(client, p, { timeoutMs: STEP_TIMEOUT_MS, reception }));
      const results = await Promise.allSettled([...held.map((h) => h.done), registered, ...fromDesks]);
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      assert.deepEqual(errors, [], `every visit should complete once PostgreSQL is back:\n${errors.join('\n')}`);
      const visits = results.map((r) => (r as PromiseFulfilledResult<DrivenVisit>).value);
      driven.push(...visits);
      for (const command of commands) {
        const request = `POST ${command.path}`;
        const retried = client.exchanges.filter((e) => e.at >= afterStart && (command.label === 'b-register' ? e.request === request && e.body.includes(registration.patientId) : e.request === request));
        assert.ok(retried.length === 1 && isSuccess(retried[0]!), `${command.label}: ${request} should succeed once PostgreSQL is back, sent once: ${describeExchanges(retried)}`);
      }

      // A registration refused with 503 had no effect: the patient (a returning one, with other
      // visits) has no visit of its plan, whose label is the registration's symptom.
      assert.ok(work.refused.length > 0, 'the desks were refused while PostgreSQL was down');
      for (const { plan: p, status } of work.refused) {
        const visits = await listAll<Reception>(client, '/receptions', { patientId: p.patientId! });
        const applied = visits.filter((r) => r.symptom === p.label);
        assert.deepEqual(applied, [], `a registration answered ${status || 'nothing'} must not have been applied (patient ${p.patientId}, ${p.label})`);
      }

      // Nothing answered 500 or went unanswered at any time, only 503 while the server was away.
      const outOfPlace = client.exchanges.filter((e) => e.phase.startsWith('b:') && !isSuccess(e) && !(e.status === 503 && /problem\+json/.test(e.contentType)));
      assert.equal(outOfPlace.length, 0, `requests around the PostgreSQL outage answered neither 2xx nor 503 problem+json:\n${describeExchanges(outOfPlace)}`);
      const failedAfter = client.exchanges.filter((e) => e.phase === 'b: after postgres' && !isSuccess(e));
      assert.equal(failedAfter.length, 0, `requests after PostgreSQL was back should succeed:\n${describeExchanges(failedAfter)}`);

      for (const { name, url } of backends()) {
        await eventually(async () => assert.equal((await readyz(url)).status, 200), { timeoutMs: 30_000, intervalMs: 200, message: `${name} ready again` });
      }
      await waitForQuiescence(running, { timeoutMs: 60_000 });
      await assertEndState(client, running, driven, abandoned);
    }));

  test('c. reception SIGKILLed between its commit and the publish: the event waits in the outbox and is delivered exactly once after the restart', () =>
    chapter(async () => {
      const outbox = new pg.Client({ connectionString: running.database!.url });
      await outbox.connect();
      try {
        const pending = async (key: number) =>
          (await outbox.query<{ event_type: string }>(`select event_type from reception.outbox where message_key = $1 order by id`, [String(key)])).rows.map((r) => r.event_type);

        // The patient is registered first: the registry publishes nothing, the visit does.
        const c = { ...plan('c-killed', ['perform'], 'complete'), patientId: await registerPatient(client, { name: 'Patient c-killed' }) };
        await broker!.kill();
        client.phase = 'c: kafka down';
        const reply = await client.post<Reception>('/receptions', commandBodies.registration(c));
        assert.equal(reply.status, 201, `the reception is committed while Kafka is away: ${reply.text}`);
        const reception = reply.body;
        assert.deepEqual(await pending(reception.id), ['ReceptionCompleted'], 'the event waits in the outbox, unpublished');

        const exit = await running.system.kill('reception');
        assert.deepEqual(exit, { code: null, signal: 'SIGKILL' }, 'reception was killed');
        client.phase = 'c: kafka starting';
        await broker!.start();
        // Nobody else publishes reception's outbox: the event is still there, and nowhere else.
        assert.deepEqual(await pending(reception.id), ['ReceptionCompleted'], 'the event is still in the outbox after the kill');
        assert.equal((await running.events.eventTypesByKey()).get(String(reception.id)), undefined, 'nothing of the reception is on the log yet');

        client.phase = 'c: reception restarting';
        await running.system.restart('reception');
        client.phase = 'c: after restart';
        const diagnosis = await waitForDiagnosis(client, reception.id, () => true, { timeoutMs: 60_000, intervalMs: 100 });
        await eventually(async () => assert.deepEqual(await pending(reception.id), [], 'the outbox row is gone once published'), { timeoutMs: 30_000, intervalMs: 100 });
        assert.equal(diagnosis.receptionId, reception.id);

        // The visit goes on to its end like any other, and the whole system is checked.
        driven.push(await driveVisit(client, c, { timeoutMs: STEP_TIMEOUT_MS, reception }));
        await waitForQuiescence(running, { timeoutMs: 60_000 });
        await assertEndState(client, running, driven, abandoned);
        const completed = (await readEventRecords(running.env)).filter((r) => r.key === String(reception.id) && r.type === 'ReceptionCompleted');
        assert.equal(new Set(completed.map((r) => r.id)).size, 1, `one ReceptionCompleted event for the reception: ${JSON.stringify(completed, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
        const failed = client.exchanges.filter((e) => e.phase.startsWith('c:') && !isSuccess(e));
        assert.equal(failed.length, 0, `no request failed around the kill:\n${describeExchanges(failed)}`);
      } finally {
        await outbox.end().catch(() => undefined);
      }
    }));
});
