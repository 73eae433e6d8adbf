import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { EventLog } from '../event-log.ts';
import { readEventRecords, recordsByKey, type EventRecord } from './event-records.ts';
import {
  Client,
  cancelExamination,
  complete,
  confirm,
  listAll,
  perform,
  prescribe,
  registerVisit,
  reject,
  waitForDiagnosis,
  waitForExamination,
  waitForReception,
  type Diagnosis,
  type EventuallyOptions,
  type Examination,
  type HttpReply,
  type Reception,
  type RequestOptions,
  type Visit,
  registerPatient,
} from '../helpers.ts';

/**
 * What the production-profile resilience tests share: a client that records every exchange (so
 * a test can say which requests failed, when, and what they got), visits driven from a plan
 * through every step, and the check of the whole system's end state against those plans: the
 * services' own state, the patient-management view, the event log and the dead letters.
 */

// ---- a client that records every exchange ----------------------------------------------------

export type Exchange = {
  /** when the request was sent, in ms since the client was created (see `now`) */
  at: number;
  /** when the answer (or the failure) came, on the same clock */
  end: number;
  ms: number;
  request: string;
  /** the HTTP status, or 0 when no HTTP answer came (refused, reset, timed out) */
  status: number;
  contentType: string;
  /** the Location header (of a 201) */
  location?: string;
  body: string;
  /** what the test was doing when the request was sent (see `phase`) */
  phase: string;
};

export class RecordingClient extends Client {
  readonly exchanges: Exchange[] = [];
  /** A label stored with each exchange: lets a failure say "during the restart". */
  phase = 'steady';
  private readonly origin = Date.now();

  /** The client's clock: ms since it was created. */
  now(): number {
    return Date.now() - this.origin;
  }

  override async request<T = any>(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
    const at = this.now();
    const phase = this.phase;
    try {
      const reply = await super.request<T>(method, pathAndQuery, options);
      const end = this.now();
      const contentType = reply.headers.get('content-type') ?? '';
      const location = reply.headers.get('location') ?? undefined;
      this.exchanges.push({ at, end, ms: end - at, request: reply.request, status: reply.status, contentType, ...(location ? { location } : {}), body: reply.text.slice(0, 400), phase });
      return reply;
    } catch (error) {
      const end = this.now();
      this.exchanges.push({ at, end, ms: end - at, request: `${method} ${pathAndQuery}`, status: 0, contentType: '', body: (error as Error).message, phase });
      throw error;
    }
  }

  /** Exchanges with no HTTP answer or a 5xx: what a user would have seen fail. */
  failures(from = 0): Exchange[] {
    return this.exchanges.slice(from).filter((e) => e.status === 0 || e.status >= 500);
  }

  /** The ids of the receptions this client registered (201 with a Location), from exchange `from` on. */
  registeredReceptions(from = 0): number[] {
    return this.exchanges
      .slice(from)
      .filter((e) => e.request === 'POST /receptions' && e.status === 201 && e.location?.startsWith('/receptions/'))
      .map((e) => Number(e.location!.slice('/receptions/'.length)));
  }
}

/** How a RetryingClient retries: which statuses, how long one attempt waits, how long in all, the longest pause. */
export type RetryPolicy = { statuses: readonly number[]; attemptTimeoutMs: number; retryForMs: number; maxPauseMs: number; firstPauseMs: number };

/**
 * A client that behaves as the staff console after a failure: a command answered one of
 * `statuses`, or not answered at all, is sent again with the same Idempotency-Key (so it executes
 * once whatever happened to the first attempt), a read is simply sent again, with backoff, until
 * `retryForMs` has passed. Every attempt is recorded. `close()` makes every later request fail at
 * once, so a failed test's visits end instead of waiting on.
 */
export class RetryingClient extends RecordingClient {
  private closed = false;
  private readonly policy: RetryPolicy;

  constructor(baseUrl: string, policy: RetryPolicy) {
    super(baseUrl);
    this.policy = policy;
  }

  close(): void {
    this.closed = true;
  }

  override async request<T = any>(method: string, pathAndQuery: string, options: RequestOptions = {}): Promise<HttpReply<T>> {
    if (this.closed) throw new Error(`${method} ${pathAndQuery}: the client is closed (the test failed)`);
    const headers = method === 'GET' ? { ...options.headers } : { 'idempotency-key': randomUUID(), ...options.headers };
    const deadline = Date.now() + this.policy.retryForMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await super.request<T>(method, pathAndQuery, { ...options, headers, timeoutMs: this.policy.attemptTimeoutMs });
        if (!this.policy.statuses.includes(reply.status) || Date.now() > deadline) return reply;
      } catch (error) {
        if (Date.now() > deadline || this.closed) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.policy.maxPauseMs, this.policy.firstPauseMs * 2 ** attempt)));
    }
  }
}

export function describeExchanges(exchanges: Exchange[], limit = 30): string {
  const shown = exchanges.slice(0, limit).map((e) => `  +${e.at} ms [${e.phase}] ${e.request} → ${e.status || 'no answer'} ${e.contentType} after ${e.ms} ms: ${e.body}`);
  if (exchanges.length > limit) shown.push(`  … and ${exchanges.length - limit} more`);
  return shown.join('\n');
}

// ---- visits driven from a plan ---------------------------------------------------------------

/** What the examiner does with each prescription: perform it, cancel it, or leave it pending. */
export type ExaminationAction = 'perform' | 'cancel' | 'leave';

export type VisitPlan = {
  label: string;
  /** The registry's patient the visit is for (default: one registered for it), so a test can send the same registration itself. */
  patientId?: string;
  /**
   * The patient's name, sent with the registration when set: checked against the registry's, and
   * what a client of the release before the registry sends with a patient id of its own.
   */
  patientName?: string;
  /** One entry per prescription, in order. 'leave' only with outcome 'reject' (compensation). */
  examinations: ExaminationAction[];
  outcome: 'complete' | 'reject';
};

export type DrivenVisit = {
  plan: VisitPlan;
  patientId: string;
  receptionId: number;
  diagnosisId: number;
  prescriptions: Array<{ prescriptionId: string; examinationType: string; examinationId: number; action: ExaminationAction; result?: string }>;
};

/**
 * A plan for visit `i` of a stream: one or two prescriptions, most performed, one in five
 * visits with one cancelled by the examiner; one visit in four rejected with an examination still
 * pending, which the rejection cancels (compensation), half of them after another was performed.
 */
export function planFor(i: number, prefix: string): VisitPlan {
  const count = 1 + (i % 2);
  const outcome = i % 4 === 1 ? 'reject' : 'complete';
  const examinations: ExaminationAction[] = [];
  for (let j = 0; j < count; j++) {
    if (outcome === 'reject') examinations.push(i % 8 === 5 && j === 0 ? 'perform' : 'leave');
    else examinations.push(i % 5 === 3 && j === 0 ? 'cancel' : 'perform');
  }
  return { label: `${prefix}-${i}`, examinations, outcome };
}

/** The bodies driveVisit sends, so a test can send the very same command itself. */
export const commandBodies = {
  /** For the plan's patient, who must be registered already (registerPatient). */
  registration: (plan: VisitPlan & { patientId: string }) => ({ patientId: plan.patientId, ...(plan.patientName !== undefined ? { patientName: plan.patientName } : {}), symptom: plan.label }),
  // Codes of the default catalog, one per prescription of a visit (a plan has one or two).
  prescription: (_plan: VisitPlan, index: number) => ({ examinationType: (['CHEST_XRAY', 'CBC'] as const)[index % 2]! }),
  performance: (examinationType: string) => ({ result: `result of ${examinationType}` }),
  examinationCancellation: () => ({ reason: 'patient declined' }),
  completion: (plan: VisitPlan) => ({ opinion: `opinion on ${plan.label}` }),
  rejection: (plan: VisitPlan) => ({ reason: `referred elsewhere (${plan.label})` }),
};

/**
 * The steps after which driveVisit calls `onStep`, in order; each but the last is followed by a
 * command (or by waiting for the saga, then a command):
 * registered → (wait) diagnosed → prescribe → prescribed → (wait) examinations requested →
 * perform/cancel → examined → [complete: (wait) examinations done → complete | reject: reject] →
 * decided → (wait) outcome received → confirm → confirmed.
 */
export type VisitStep =
  | 'registered'
  | 'diagnosed'
  | 'prescribed'
  | 'examinations requested'
  | 'examined'
  | 'examinations done'
  | 'decided'
  | 'outcome received'
  | 'confirmed';

export type DriveOptions = EventuallyOptions & {
  /** Called after each step: lets a test hold a visit there, or act between steps (stop Kafka, …). */
  onStep?: (step: VisitStep, visit: Partial<DrivenVisit>) => void | Promise<void>;
  /** A reception registered already (by the test itself): the visit goes on from there. */
  reception?: Reception;
};

/**
 * Drives one visit through every step of DESIGN.md section 1 with the helpers' checks: register,
 * wait for the diagnosis, prescribe, wait for the examinations, perform / cancel, complete (after
 * EXAMINATION_DONE) or reject, wait for the outcome on the reception, confirm.
 */
export async function driveVisit(client: Client, plan: VisitPlan, options: DriveOptions = {}): Promise<DrivenVisit> {
  const { onStep, reception: registered, ...waitOptions } = options;
  const wait: EventuallyOptions = { intervalMs: 100, ...waitOptions };
  const step = async (name: VisitStep, visit: Partial<DrivenVisit>) => onStep?.(name, visit);
  const patientId = plan.patientId ?? (await registerPatient(client, { name: `Patient ${plan.label}` }));
  const reception = registered ?? (await registerVisit(client, commandBodies.registration({ ...plan, patientId })));
  const visit: Partial<DrivenVisit> = { plan, patientId: reception.patientId, receptionId: reception.id };
  await step('registered', visit);

  const diagnosis = await waitForDiagnosis(client, reception.id, () => true, wait);
  visit.diagnosisId = diagnosis.id;
  await step('diagnosed', visit);

  const prescribed: Array<{ prescriptionId: string; examinationType: string; action: ExaminationAction }> = [];
  for (const [j, action] of plan.examinations.entries()) {
    const { examinationType } = commandBodies.prescription(plan, j);
    const { prescription } = await prescribe(client, diagnosis.id, examinationType);
    prescribed.push({ prescriptionId: prescription.prescriptionId, examinationType, action });
  }
  await step('prescribed', visit);

  const prescriptions: DrivenVisit['prescriptions'] = [];
  for (const p of prescribed) {
    const examination = await waitForExamination(client, diagnosis.id, p.prescriptionId, () => true, wait);
    prescriptions.push({ ...p, examinationId: examination.id });
  }
  visit.prescriptions = prescriptions;
  await step('examinations requested', visit);

  for (const p of prescriptions) {
    if (p.action === 'perform') {
      p.result = commandBodies.performance(p.examinationType).result;
      await perform(client, p.examinationId, p.result);
    } else if (p.action === 'cancel') {
      await cancelExamination(client, p.examinationId, commandBodies.examinationCancellation().reason);
    }
  }
  await step('examined', visit);

  if (plan.outcome === 'complete') {
    await waitForDiagnosis(client, reception.id, (d) => d.status === 'EXAMINATION_DONE', { ...wait, message: `diagnosis ${diagnosis.id} EXAMINATION_DONE` });
    await step('examinations done', visit);
    await complete(client, diagnosis.id, commandBodies.completion(plan).opinion);
  } else {
    await reject(client, diagnosis.id, commandBodies.rejection(plan).reason);
  }
  await step('decided', visit);

  const outcome = plan.outcome === 'complete' ? 'DIAGNOSIS_COMPLETED' : 'DIAGNOSIS_REJECTED';
  await waitForReception(client, reception.id, (r) => r.status === outcome, { ...wait, message: `reception ${reception.id} ${outcome}` });
  await step('outcome received', visit);
  await confirm(client, reception.id);
  await step('confirmed', visit);
  return visit as DrivenVisit;
}

// ---- the end state the plans imply -----------------------------------------------------------

const DIAGNOSIS_STATUS = { complete: 'COMPLETED', reject: 'REJECTED' } as const;
const EXAMINATION_STATUS: Record<ExaminationAction, string> = { perform: 'PERFORMED', cancel: 'CANCELLED', leave: 'CANCELLED' };

/** The events one visit puts on the log, as a sorted list of types. */
export function expectedEventTypes(plan: VisitPlan): string[] {
  const types = ['ReceptionCompleted', 'DiagnosisRegistered'];
  for (const action of plan.examinations) {
    types.push('ExaminationPrescribed', 'ExaminationRequested', action === 'perform' ? 'ExaminationPerformed' : 'ExaminationCancelled');
  }
  types.push(plan.outcome === 'complete' ? 'DiagnosisCompleted' : 'DiagnosisRejected', 'ReceptionConfirmed');
  return types.sort();
}

export type SystemState = {
  receptions: Reception[];
  diagnoses: Diagnosis[];
  examinations: Examination[];
  visits: Visit[];
};

/**
 * Every resource of the system, read as admin: the one role that sees every department's
 * diagnoses and every clinical text (the desk and the manager see less: minimum necessary).
 */
export async function readSystemState(client: Client): Promise<SystemState> {
  const admin = client.as('admin');
  return {
    receptions: await listAll<Reception>(admin, '/receptions'),
    diagnoses: await listAll<Diagnosis>(admin, '/diagnoses'),
    examinations: await listAll<Examination>(admin, '/examinations'),
    visits: await listAll<Visit>(admin, '/patientManagements'),
  };
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/**
 * Every problem with the system's state against the visits driven (an empty list when there is
 * none), as readable lines. `state` must hold every resource of the system: each check is over
 * all of them, not only the driven ones, so a stray duplicate anywhere is found.
 *
 * - every reception has exactly one diagnosis, every prescription exactly one examination;
 * - every driven visit is in the end state its commands imply (reception CONFIRMED with the
 *   outcome, diagnosis COMPLETED/REJECTED, each prescription and examination PERFORMED with its
 *   result or CANCELLED);
 * - the patient-management view of every reception equals the services' own state;
 * - the event log holds, for each visit, exactly the events its steps imply (each type as often
 *   as the plan says: once, or once per prescription) and nothing else.
 */
export function endStateProblems(
  everything: SystemState,
  driven: DrivenVisit[],
  allRecordsByKey: Map<string, EventRecord[]>,
  ignored: ReadonlySet<number> = new Set(),
): string[] {
  const problems: string[] = [];
  // Visits a failed earlier test left behind are not judged again.
  const state: SystemState = {
    receptions: everything.receptions.filter((r) => !ignored.has(r.id)),
    diagnoses: everything.diagnoses.filter((d) => !ignored.has(d.receptionId)),
    examinations: everything.examinations.filter((e) => !ignored.has(e.receptionId)),
    visits: everything.visits.filter((v) => !ignored.has(v.receptionId)),
  };
  const eventsByKey = new Map([...allRecordsByKey].filter(([key]) => !ignored.has(Number(key))));
  const diagnosesByReception = groupBy(state.diagnoses, (d) => d.receptionId);
  const examinationsByPrescription = groupBy(state.examinations, (e) => e.prescriptionId);
  const receptionsById = new Map(state.receptions.map((r) => [r.id, r]));
  const visitsById = groupBy(state.visits, (v) => v.receptionId);
  const examinationsById = new Map(state.examinations.map((e) => [e.id, e]));

  // Nothing doubled, anywhere in the system.
  for (const reception of state.receptions) {
    const diagnoses = diagnosesByReception.get(reception.id) ?? [];
    if (diagnoses.length !== 1) problems.push(`reception ${reception.id} has ${diagnoses.length} diagnoses (${diagnoses.map((d) => d.id).join(', ')}), expected exactly 1`);
    const visits = visitsById.get(reception.id) ?? [];
    if (visits.length !== 1) problems.push(`reception ${reception.id} has ${visits.length} patient-management views, expected exactly 1`);
  }
  for (const diagnosis of state.diagnoses) {
    if (!receptionsById.has(diagnosis.receptionId)) problems.push(`diagnosis ${diagnosis.id} names reception ${diagnosis.receptionId}, which does not exist`);
    for (const p of diagnosis.prescriptions) {
      const examinations = examinationsByPrescription.get(p.prescriptionId) ?? [];
      if (examinations.length !== 1) {
        problems.push(`prescription ${p.prescriptionId} of diagnosis ${diagnosis.id} has ${examinations.length} examinations (${examinations.map((e) => e.id).join(', ')}), expected exactly 1`);
      }
    }
  }
  const prescriptionIds = new Set(state.diagnoses.flatMap((d) => d.prescriptions.map((p) => p.prescriptionId)));
  for (const examination of state.examinations) {
    if (!prescriptionIds.has(examination.prescriptionId)) problems.push(`examination ${examination.id} names prescription ${examination.prescriptionId}, which no diagnosis has`);
  }
  const drivenIds = new Set(driven.map((v) => v.receptionId));
  const strays = state.receptions.filter((r) => !drivenIds.has(r.id)).map((r) => r.id);
  if (strays.length > 0) problems.push(`receptions nobody registered in this test: ${strays.join(', ')}`);

  // Nothing lost: each driven visit in the end state its commands imply.
  for (const visit of driven) {
    const where = `visit ${visit.plan.label} (reception ${visit.receptionId}, diagnosis ${visit.diagnosisId})`;
    const reception = receptionsById.get(visit.receptionId);
    const diagnosis = diagnosesByReception.get(visit.receptionId)?.[0];
    if (!reception || !diagnosis) {
      problems.push(`${where}: reception or diagnosis missing`);
      continue;
    }
    const outcome = DIAGNOSIS_STATUS[visit.plan.outcome];
    if (reception.status !== 'CONFIRMED' || reception.diagnosisOutcome !== outcome || reception.diagnosisId !== visit.diagnosisId) {
      problems.push(`${where}: reception is ${reception.status} with outcome ${reception.diagnosisOutcome} of diagnosis ${reception.diagnosisId}, expected CONFIRMED with ${outcome} of ${visit.diagnosisId}`);
    }
    if (diagnosis.id !== visit.diagnosisId || diagnosis.status !== outcome) {
      problems.push(`${where}: diagnosis ${diagnosis.id} is ${diagnosis.status}, expected ${visit.diagnosisId} ${outcome}`);
    }
    if (diagnosis.prescriptions.length !== visit.prescriptions.length) {
      problems.push(`${where}: the diagnosis has ${diagnosis.prescriptions.length} prescriptions, ${visit.prescriptions.length} were prescribed`);
    }
    for (const p of visit.prescriptions) {
      const status = EXAMINATION_STATUS[p.action];
      const onDiagnosis = diagnosis.prescriptions.find((x) => x.prescriptionId === p.prescriptionId);
      const examination = examinationsById.get(p.examinationId);
      const expectedResult = p.action === 'perform' ? p.result : undefined;
      if (!onDiagnosis || onDiagnosis.status !== status || onDiagnosis.examinationId !== p.examinationId || onDiagnosis.result !== expectedResult) {
        problems.push(`${where}: prescription ${p.prescriptionId} (${p.action}) on the diagnosis is ${JSON.stringify(onDiagnosis)}, expected ${status}, examination ${p.examinationId}, result ${expectedResult}`);
      }
      if (!examination || examination.status !== status || examination.prescriptionId !== p.prescriptionId || examination.result !== expectedResult) {
        problems.push(`${where}: examination ${p.examinationId} (${p.action}) is ${JSON.stringify(examination)}, expected ${status} with result ${expectedResult}`);
      }
    }
  }

  // The read model equals the services' own state, for every reception.
  for (const reception of state.receptions) {
    const view = visitsById.get(reception.id)?.[0];
    const diagnosis = diagnosesByReception.get(reception.id)?.[0];
    if (!view) continue; // reported above
    const ownExaminations = (diagnosis?.prescriptions ?? [])
      .map((p) => {
        const examination = examinationsByPrescription.get(p.prescriptionId)?.[0];
        return {
          prescriptionId: p.prescriptionId,
          examinationId: examination?.id,
          examinationType: p.examinationType,
          status: examination?.status,
          result: examination?.result,
        };
      })
      .sort((a, b) => a.prescriptionId.localeCompare(b.prescriptionId));
    const viewExaminations = view.examinations
      .map((e) => ({ prescriptionId: e.prescriptionId, examinationId: e.examinationId, examinationType: e.examinationType, status: e.status, result: e.result }))
      .sort((a, b) => a.prescriptionId.localeCompare(b.prescriptionId));
    const own = {
      patientId: reception.patientId,
      patientName: reception.patientName,
      receptionStatus: reception.status,
      diagnosisId: diagnosis?.id,
      diagnosisStatus: diagnosis?.status,
      examinations: ownExaminations,
    };
    const seen = {
      patientId: view.patientId,
      patientName: view.patientName,
      receptionStatus: view.receptionStatus,
      diagnosisId: view.diagnosisId,
      diagnosisStatus: view.diagnosisStatus,
      examinations: viewExaminations,
    };
    try {
      assert.deepEqual(seen, own);
    } catch {
      problems.push(`patient-management view of reception ${reception.id} differs from the services' state:\n    view:     ${JSON.stringify(seen)}\n    services: ${JSON.stringify(own)}`);
    }
  }

  // The log: each visit's events exactly once each (once per prescription for those of one),
  // counted by event id: the same event published again (same ce_id) is at-least-once transport,
  // allowed by DESIGN.md section 4 and reported by `republications`; a second event where the
  // visit implies one is an effect applied twice.
  for (const visit of driven) {
    const records = eventsByKey.get(String(visit.receptionId)) ?? [];
    const typeOf = new Map<string, string>();
    for (const r of records) {
      const known = typeOf.get(r.id);
      if (known !== undefined && known !== r.type) problems.push(`visit ${visit.plan.label}: event id ${r.id} is on the log as ${known} and as ${r.type}`);
      typeOf.set(r.id, r.type);
    }
    const logged = [...typeOf.values()].sort();
    const expected = expectedEventTypes(visit.plan);
    try {
      assert.deepEqual(logged, expected);
    } catch {
      problems.push(`events of visit ${visit.plan.label} (key ${visit.receptionId}) on the log, one per event id:\n    logged:   ${logged.join(', ')}\n    expected: ${expected.join(', ')}`);
    }
  }
  const keys = [...eventsByKey.keys()].filter((key) => !drivenIds.has(Number(key)));
  if (keys.length > 0) problems.push(`events on the log for keys no driven visit has: ${keys.join(', ')}`);
  return problems;
}

/** Events that are on the log more than once (the same ce_id), as readable lines. */
export function republications(records: EventRecord[]): string[] {
  const byId = new Map<string, EventRecord[]>();
  for (const r of records) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
  return [...byId.values()]
    .filter((copies) => copies.length > 1)
    .map((copies) => `${copies[0]!.type} ${copies[0]!.id} of key ${copies[0]!.key}: ${copies.length} times (partition ${copies[0]!.partition}, offsets ${copies.map((c) => c.offset).join(', ')})`);
}

/**
 * Asserts the end state (see endStateProblems) and that nothing was dead-lettered. `ignored`:
 * receptions left behind by a failed earlier test on the same system. Returns the events
 * published more than once (allowed: see endStateProblems), for the test to report.
 */
export async function assertEndState(
  client: Client,
  system: { events: EventLog; env: Record<string, string | undefined> },
  driven: DrivenVisit[],
  ignored: ReadonlySet<number> = new Set(),
): Promise<{ republished: string[] }> {
  const state = await readSystemState(client);
  const records = await readEventRecords(system.env);
  const problems = endStateProblems(state, driven, recordsByKey(records), ignored);
  const deadLetters = await system.events.deadLetters();
  if (deadLetters.length > 0) problems.push(`dead letters: ${JSON.stringify(deadLetters)}`);
  const judged = state.receptions.filter((r) => !ignored.has(r.id)).length;
  assert.equal(judged, driven.length, `the system holds ${judged} receptions, ${driven.length} visits were driven`);
  assert.deepEqual(problems, [], `${problems.length} problem(s) in the end state:\n${problems.join('\n')}`);
  const republished = republications(records.filter((r) => !ignored.has(Number(r.key))));
  for (const line of republished) process.stderr.write(`# published again (same event id; at-least-once, absorbed by the consumers' inboxes): ${line}\n`);
  return { republished };
}

// ---- a service's own metrics -----------------------------------------------------------------

/** Sums the samples of a Prometheus counter or histogram `_count` at `url`/metrics whose labels include `labels`. */
export async function metricSum(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(response.status, 200, `${url}/metrics answered ${response.status}`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? '';
    const parsed = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => parsed[k] === v)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
