import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { codePoint } from '@medical/platform/testing';
import { validateCloudEvent, type EventDataOf, type EventType, type VisitStage } from '@medical/contracts';
import { project, type ProjectedEvent, type Visit } from '../src/domain/visit.ts';
import { DOCTORS_ENTRY } from '../src/domain/queue-entries.ts';
import { foldWaitingRoom } from './waiting-room-fold.ts';
// Only to produce realistic event logs: the three services' deciders, wired as their reactions wire them.
import * as reception from '../../reception/src/domain/reception.ts';
import * as diagnosis from '../../diagnosis/src/domain/diagnosis.ts';
import * as examination from '../../examination/src/domain/examination.ts';

/**
 * Property-based tests of the visit view (the CQRS projection). Two kinds of input:
 * - chaotic: any sequence of valid events of one visit, in any order, duplicated, for unknown
 *   prescriptions and of unknown types: the projection must stay idempotent and consistent;
 * - realistic: the event log that the reception, diagnosis and examination deciders publish
 *   under random user actions and random consumer progress (a choreography simulated in memory),
 *   delivered at least once: the view must converge on the services' own state, with the stage
 *   DESIGN describes, whatever the interleaving and the redeliveries.
 */

const RUNS = 300;

// ---- the stages (contracts' visitStages and DESIGN.md sections 1 and 5), written independently ----
/** How the stage may move as the events of a real visit arrive. */
const stageTransitions: Record<VisitStage, readonly VisitStage[]> = {
  RECEIVED: ['WAITING_FOR_DOCTOR', 'CANCELLED'],
  WAITING_FOR_DOCTOR: ['IN_EXAMINATION', 'DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED', 'CANCELLED'],
  IN_EXAMINATION: ['EXAMINATIONS_DONE', 'DIAGNOSIS_REJECTED', 'CANCELLED'],
  EXAMINATIONS_DONE: ['IN_EXAMINATION', 'DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED', 'CANCELLED'],
  // The desk may have cancelled before the doctor's outcome reached it.
  DIAGNOSIS_COMPLETED: ['CONFIRMED', 'CANCELLED'],
  DIAGNOSIS_REJECTED: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: [],
  CANCELLED: [],
};

/** The stage from the view's own fields, by the precedence of the stage list. */
function stageOf(v: Visit): VisitStage {
  if (v.receptionStatus === 'CANCELLED') return 'CANCELLED';
  if (v.receptionStatus === 'CONFIRMED') return 'CONFIRMED';
  if (v.diagnosisStatus === 'COMPLETED') return 'DIAGNOSIS_COMPLETED';
  if (v.diagnosisStatus === 'REJECTED') return 'DIAGNOSIS_REJECTED';
  const pending = v.examinations.filter((e) => e.status === 'REQUESTED').length;
  if (pending > 0) return 'IN_EXAMINATION';
  if (v.examinations.length > 0) return 'EXAMINATIONS_DONE';
  return v.diagnosisId !== undefined || v.diagnosisStatus !== undefined ? 'WAITING_FOR_DOCTOR' : 'RECEIVED';
}

// ---- helpers ----
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
/** Folds events one by one, returning the visit after each. */
function fold(events: ProjectedEvent[], from: Visit | null = null): Array<Visit | null> {
  const out: Array<Visit | null> = [];
  events.reduce<Visit | null>((v, e) => {
    const next = deepFreeze(project(v, deepFreeze(e)));
    out.push(next);
    return next;
  }, deepFreeze(from));
  return out;
}
const last = (vs: Array<Visit | null>, from: Visit | null = null) => (vs.length > 0 ? (vs[vs.length - 1] ?? null) : from);

// ---- chaotic events of one visit (reception 7) ----
const text = (max: number): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.string({ unit: codePoint, minLength: 1, maxLength: Math.min(max, 20) }).filter((s) => /\S/u.test(s)), weight: 6 },
    { arbitrary: fc.constantFrom('김민지', ' x ', 'é', '😀'), weight: 2 },
    { arbitrary: fc.constant('😀'.repeat(max)), weight: 1 },
  );
const time = fc
  .date({ min: new Date('2025-03-01T00:00:00.000Z'), max: new Date('2025-03-02T00:00:00.000Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const P = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];
const ids = fc.record({ receptionId: fc.constant(7), diagnosisId: fc.constantFrom(5, 5, 5, 6) });
const link = fc.record({
  receptionId: fc.constant(7),
  diagnosisId: fc.constantFrom(5, 5, 5, 6),
  prescriptionId: fc.oneof({ arbitrary: fc.constantFrom(...P), weight: 6 }, { arbitrary: fc.uuid(), weight: 1 }),
  examinationId: fc.constantFrom(101, 102, 103),
});
const patient = { patientId: fc.constant('P-001'), patientName: fc.constant('Kim Minji') };
const dataOf: Record<EventType, fc.Arbitrary<unknown>> = {
  ReceptionCompleted: fc.record({ receptionId: fc.constant(7), ...patient, receivedAt: time }),
  ReceptionCancelled: fc.record({ receptionId: fc.constant(7), reason: text(10_000) }),
  ReceptionConfirmed: fc.record({ receptionId: fc.constant(7), outcome: fc.constantFrom('COMPLETED', 'REJECTED') }),
  // Between a few patients (the visit's own among them), so that merges repeat, follow one another and come back.
  ReceptionPatientMerged: fc.record(
    {
      receptionId: fc.constant(7),
      patientId: fc.constantFrom('P-001', 'P-002', 'P-003'),
      patientName: fc.constantFrom('Kim Minji', 'Kim Min-ji'),
      birthDate: fc.constant('1990-05-01'),
      previousPatientId: fc.constantFrom('P-001', 'P-002', 'P-003'),
      mergedAt: time,
    },
    { requiredKeys: ['receptionId', 'patientId', 'patientName', 'previousPatientId', 'mergedAt'] },
  ),
  DiagnosisRegistered: ids.chain((i) => fc.record({ receptionId: fc.constant(i.receptionId), diagnosisId: fc.constant(i.diagnosisId), ...patient })),
  ExaminationPrescribed: link.chain(({ examinationId: _e, ...l }) =>
    fc.record({ ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, fc.constant(v)])), ...patient, examinationType: text(100) }),
  ),
  ExaminationRequested: link.chain((l) => fc.record({ ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, fc.constant(v)])), examinationType: text(100) })),
  ExaminationPerformed: link.chain((l) =>
    fc.record({ ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, fc.constant(v)])), result: text(10_000), performedAt: time }),
  ),
  ExaminationCancelled: link.chain((l) => fc.record({ ...Object.fromEntries(Object.entries(l).map(([k, v]) => [k, fc.constant(v)])), reason: text(10_000) })),
  DiagnosisCompleted: ids.chain((i) => fc.record({ receptionId: fc.constant(i.receptionId), diagnosisId: fc.constant(i.diagnosisId), opinion: text(10_000) })),
  DiagnosisRejected: ids.chain((i) => fc.record({ receptionId: fc.constant(i.receptionId), diagnosisId: fc.constant(i.diagnosisId), reason: text(10_000) })),
  DiagnosisCancelled: ids.chain((i) => fc.record({ receptionId: fc.constant(i.receptionId), diagnosisId: fc.constant(i.diagnosisId), reason: text(10_000) })),
  BreakGlassAccessed: ids.chain((i) => fc.record({ receptionId: fc.constant(i.receptionId), diagnosisId: fc.constant(i.diagnosisId), reason: text(500), accessedAt: time })),
  // The doctor's calls (with the diagnosis) and the examiners' (with an examination), recalls among them.
  PatientCalled: fc.oneof(
    ids.map((i) => ({ ...i, calledFor: 'DIAGNOSIS' as const, department: 'internal-medicine' })),
    link.map(({ prescriptionId: _p, ...l }) => ({ ...l, calledFor: 'EXAMINATION' as const, department: 'radiology', visitDepartment: 'internal-medicine', examinationType: 'CHEST_XRAY' })),
  ).chain((call) =>
    fc.record(
      { call: fc.constant(call), queueNumber: fc.integer({ min: 1, max: 99_999 }), room: fc.constantFrom('3', 'CT-1', '진료실 2'), callCount: fc.integer({ min: 1, max: 4 }), calledAt: time },
      { requiredKeys: ['call', 'callCount', 'calledAt'] },
    ).map(({ call: c, ...rest }) => ({ ...c, ...rest })),
  ),
  PatientNoShow: fc.oneof(
    ids.map((i) => ({ ...i, calledFor: 'DIAGNOSIS' as const, department: 'internal-medicine' })),
    link.map(({ prescriptionId: _p, ...l }) => ({ ...l, calledFor: 'EXAMINATION' as const, department: 'radiology' })),
  ).chain((noShow) => time.map((markedAt) => ({ ...noShow, markedAt }))),
};
const knownEvent: fc.Arbitrary<ProjectedEvent> = fc
  .constantFrom(...(Object.keys(dataOf) as EventType[]))
  .chain((type) => fc.record({ type: fc.constant(type as string), data: dataOf[type], time }));
const unknownEvent: fc.Arbitrary<ProjectedEvent> = fc.record({ type: fc.constantFrom('PatientMoved', 'toString', '__proto__'), data: fc.constant({ receptionId: 7 }), time });
/** Any order, with immediate duplicates (`again`), mostly starting with the reception. */
const chaos: fc.Arbitrary<ProjectedEvent[]> = fc
  .array(
    fc.oneof({ arbitrary: knownEvent, weight: 12 }, { arbitrary: unknownEvent, weight: 1 }, { arbitrary: fc.constant('again' as const), weight: 2 }),
    { maxLength: 25 },
  )
  .map((steps) =>
    steps.reduce<ProjectedEvent[]>((out, s) => {
      if (s !== 'again') out.push(s);
      else if (out.length > 0) out.push(out[out.length - 1]!);
      return out;
    }, []),
  )
  .chain((es) =>
    fc.oneof(
      { arbitrary: dataOf.ReceptionCompleted.chain((data) => time.map((t) => [{ type: 'ReceptionCompleted', data, time: t }, ...es])), weight: 6 },
      { arbitrary: fc.constant(es), weight: 1 },
    ),
  );

// ---- realistic logs: the choreography of DESIGN.md section 1, simulated with the real deciders ----
type Action =
  | { kind: 'consume'; by: 'reception' | 'diagnosis' | 'examination'; count: number }
  | { kind: 'cancelReception'; reason?: string }
  | { kind: 'confirmReception' }
  | { kind: 'prescribe'; prescriptionId: string; examinationType: string; breakGlassReason?: string }
  | { kind: 'openInEmergency'; reason: string }
  | { kind: 'mergePatient'; patientId: string; patientName: string }
  | { kind: 'completeDiagnosis'; opinion: string }
  | { kind: 'rejectDiagnosis'; reason: string }
  | { kind: 'performExamination'; which: number; result: string }
  | { kind: 'cancelExamination'; which: number; reason?: string }
  | { kind: 'callByDoctor'; room?: string }
  | { kind: 'doctorsNoShow' }
  | { kind: 'callForExamination'; which: number; room?: string }
  | { kind: 'examinationNoShow'; which: number };

const room = fc.constantFrom('3', 'CT-1', '진료실 2');

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      by: fc.constantFrom('reception' as const, 'diagnosis' as const, 'examination' as const),
      count: fc.integer({ min: 1, max: 4 }),
    }),
    weight: 30,
  },
  // Rare, so that most visits get far before the desk cancels.
  { arbitrary: fc.record({ kind: fc.constant('cancelReception' as const), reason: text(10_000) }, { requiredKeys: ['kind'] }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('confirmReception' as const) }), weight: 4 },
  {
    arbitrary: fc.record(
      { kind: fc.constant('prescribe' as const), prescriptionId: fc.uuid({ version: 4 }), examinationType: text(100), breakGlassReason: text(500) },
      { requiredKeys: ['kind', 'prescriptionId', 'examinationType'] },
    ),
    weight: 10,
  },
  // The registry merges the visit's patient into another (or into the one it already is: no event).
  {
    arbitrary: fc.record({ kind: fc.constant('mergePatient' as const), patientId: fc.constantFrom('P-001', 'P-002', 'P-003'), patientName: text(200) }),
    weight: 2,
  },
  // A doctor of another department opens the diagnosis in an emergency: a timeline step, no change.
  { arbitrary: fc.record({ kind: fc.constant('openInEmergency' as const), reason: text(500) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('completeDiagnosis' as const), opinion: text(10_000) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('rejectDiagnosis' as const), reason: text(10_000) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('performExamination' as const), which: fc.nat(4), result: text(10_000) }), weight: 10 },
  { arbitrary: fc.record({ kind: fc.constant('cancelExamination' as const), which: fc.nat(4), reason: text(10_000) }, { requiredKeys: ['kind', 'which'] }), weight: 4 },
  // The waiting room: calls (a recall without a room is to the room of the call before) and no-shows.
  { arbitrary: fc.record({ kind: fc.constant('callByDoctor' as const), room }, { requiredKeys: ['kind'] }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('doctorsNoShow' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('callForExamination' as const), which: fc.nat(4), room }, { requiredKeys: ['kind', 'which'] }), weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('examinationNoShow' as const), which: fc.nat(4) }), weight: 3 },
);

function is<T extends EventType>(e: ProjectedEvent, type: T): e is ProjectedEvent & { type: T; data: EventDataOf<T> } {
  return e.type === type;
}

type World = {
  log: ProjectedEvent[];
  reception: reception.State;
  diagnosis: diagnosis.State;
  examinations: examination.Examination[];
};

/** Runs the actions, then lets every consumer catch up (quiescence). Refused commands are simply refused. */
function simulate(actions: Action[]): World {
  let clock = Date.parse('2025-03-01T09:00:00.000Z');
  const now = () => new Date((clock += 1000)).toISOString();
  const log: ProjectedEvent[] = [];
  const offsets = { reception: 0, diagnosis: 0, examination: 0 };
  let rec: reception.State = null;
  let dia: diagnosis.State = null;
  const exams = new Map<string, examination.Examination>();
  let closedBecause: string | undefined;
  /** The examination service's memory of the visit's last merge (its visit_patients table). */
  let mergedPatient: { patientId: string; patientName: string } | undefined;
  let nextExaminationId = 101;

  const publish = (events: Array<{ type: string; data: unknown; at: string }>) => {
    for (const e of events) log.push({ type: e.type, data: e.data, time: e.at });
  };
  const onReception = (c: reception.Command) => {
    const d = reception.decide(c, rec);
    if (!d.ok) return;
    rec = d.events.reduce(reception.evolve, rec);
    publish(d.events.filter(reception.isPublished));
  };
  const onDiagnosis = (c: diagnosis.Command) => {
    const d = diagnosis.decide(c, dia);
    if (!d.ok) return;
    dia = d.events.reduce(diagnosis.evolve, dia);
    publish(d.events.filter(diagnosis.isPublished));
  };
  const onExamination = (state: examination.State, c: examination.Command) => {
    const d = examination.decide(c, state);
    if (!d.ok) return;
    const next = d.events.reduce(examination.evolve, state);
    if (next) exams.set(next.prescriptionId, next);
    publish(d.events.filter(examination.isPublished));
  };

  // What each service does with a consumed event (services/*/src/app/reactions.ts, commands.ts).
  const react = {
    reception(e: ProjectedEvent) {
      if (is(e, 'DiagnosisCompleted')) {
        onReception({ type: 'RecordDiagnosisCompleted', diagnosisId: e.data.diagnosisId, opinion: e.data.opinion, now: e.time });
      }
      if (is(e, 'DiagnosisRejected')) {
        onReception({ type: 'RecordDiagnosisRejected', diagnosisId: e.data.diagnosisId, reason: e.data.reason, now: e.time });
      }
    },
    diagnosis(e: ProjectedEvent) {
      if (is(e, 'ReceptionCompleted') && !dia) {
        const { receptionId, patientId, patientName, queueNumber } = e.data;
        onDiagnosis({ type: 'RegisterDiagnosis', diagnosisId: 5, receptionId, patientId, patientName, department: 'internal-medicine', ...(queueNumber ? { queueNumber } : {}), now: e.time });
      }
      if (is(e, 'ReceptionCancelled')) onDiagnosis({ type: 'CancelDiagnosis', reason: `Reception cancelled: ${e.data.reason}`, now: e.time });
      if (is(e, 'ReceptionPatientMerged')) onDiagnosis({ type: 'MovePatient', patientId: e.data.patientId, patientName: e.data.patientName, now: e.time });
      if (is(e, 'ExaminationRequested') || is(e, 'ExaminationPerformed') || is(e, 'ExaminationCancelled')) {
        const report = { examinationId: e.data.examinationId, prescriptionId: e.data.prescriptionId, now: e.time };
        if (is(e, 'ExaminationRequested')) onDiagnosis({ type: 'RecordExaminationRequested', ...report });
        if (is(e, 'ExaminationPerformed')) onDiagnosis({ type: 'RecordExaminationPerformed', ...report, result: e.data.result });
        if (is(e, 'ExaminationCancelled')) onDiagnosis({ type: 'RecordExaminationCancelled', ...report, reason: e.data.reason });
      }
    },
    examination(e: ProjectedEvent) {
      if (is(e, 'ExaminationPrescribed') && !exams.has(e.data.prescriptionId)) {
        const { prescriptionId, diagnosisId, receptionId, examinationType, visitDepartment, queueNumber } = e.data;
        // A prescription written before the diagnosis took a merge names the previous patient.
        const { patientId, patientName } = mergedPatient ?? e.data;
        onExamination(null, {
          type: 'RequestExamination',
          examinationId: nextExaminationId++,
          ...{ prescriptionId, diagnosisId, receptionId, patientId, patientName, examinationType },
          // Performed and called in radiology, under the visit's number.
          department: 'radiology',
          ...(visitDepartment ? { visitDepartment } : {}),
          ...(queueNumber ? { queueNumber } : {}),
          ...(closedBecause ? { closedBecause } : {}),
          now: e.time,
        });
      }
      if (is(e, 'DiagnosisRejected') || is(e, 'ReceptionCancelled')) {
        const reason = `${e.type === 'DiagnosisRejected' ? 'Diagnosis rejected' : 'Reception cancelled'}: ${e.data.reason}`;
        closedBecause ??= reason;
        for (const x of [...exams.values()].filter((x) => x.status === 'REQUESTED')) {
          onExamination(x, { type: 'CompensateExamination', reason, now: e.time });
        }
      }
      if (is(e, 'ReceptionPatientMerged')) {
        mergedPatient = { patientId: e.data.patientId, patientName: e.data.patientName };
        for (const x of [...exams.values()]) onExamination(x, { type: 'MovePatient', ...mergedPatient, now: e.time });
      }
    },
  };
  const consume = (by: keyof typeof offsets): boolean => {
    const e = log[offsets[by]];
    if (!e) return false;
    offsets[by] += 1;
    react[by](e);
    return true;
  };

  onReception({
    type: 'RegisterReception',
    receptionId: 7,
    patientId: 'P-001',
    patientName: 'Kim Minji',
    department: 'internal-medicine',
    queueNumber: 12,
    queueDay: '2025-03-01',
    ticket: 'AAAAAAAAAAAAAAAAAAAAAA',
    ticketDigest: 'a'.repeat(64),
    now: now(),
  });
  for (const a of actions) {
    const list = [...exams.values()];
    const exam = list.length > 0 ? list['which' in a ? a.which % list.length : 0] : undefined;
    switch (a.kind) {
      case 'consume':
        for (let i = 0; i < a.count; i++) consume(a.by);
        break;
      case 'cancelReception':
        onReception({ type: 'CancelReception', ...(a.reason ? { reason: a.reason } : {}), now: now() });
        break;
      case 'confirmReception':
        onReception({ type: 'ConfirmReception', now: now() });
        break;
      case 'prescribe':
        if (dia) {
          const breakGlass = a.breakGlassReason ? { breakGlass: { reason: a.breakGlassReason } } : {};
          onDiagnosis({ type: 'PrescribeExamination', prescriptionId: a.prescriptionId, examinationType: a.examinationType, ...breakGlass, now: now() });
        }
        break;
      case 'mergePatient':
        onReception({ type: 'MovePatient', patientId: a.patientId, patientName: a.patientName, now: now() });
        break;
      case 'openInEmergency':
        if (dia) onDiagnosis({ type: 'OpenInEmergency', breakGlass: { reason: a.reason }, now: now() });
        break;
      case 'completeDiagnosis':
        if (dia) onDiagnosis({ type: 'CompleteDiagnosis', opinion: a.opinion, now: now() });
        break;
      case 'rejectDiagnosis':
        if (dia) onDiagnosis({ type: 'RejectDiagnosis', reason: a.reason, now: now() });
        break;
      case 'performExamination':
        if (exam) onExamination(exam, { type: 'PerformExamination', result: a.result, now: now() });
        break;
      case 'cancelExamination':
        if (exam) onExamination(exam, { type: 'CancelExamination', ...(a.reason ? { reason: a.reason } : {}), now: now() });
        break;
      case 'callByDoctor':
        if (dia) onDiagnosis({ type: 'CallPatient', ...(a.room ? { room: a.room } : {}), defaultDepartment: 'internal-medicine', now: now() });
        break;
      case 'doctorsNoShow':
        if (dia) onDiagnosis({ type: 'MarkNoShow', defaultDepartment: 'internal-medicine', now: now() });
        break;
      case 'callForExamination':
        if (exam) onExamination(exam, { type: 'CallPatient', ...(a.room ? { room: a.room } : {}), now: now() });
        break;
      case 'examinationNoShow':
        if (exam) onExamination(exam, { type: 'MarkNoShow', now: now() });
        break;
    }
  }
  // Quiescence: every consumer reaches the end of the log.
  while (consume('reception') || consume('diagnosis') || consume('examination'));
  return { log, reception: rec, diagnosis: dia, examinations: [...exams.values()] };
}

/** At-least-once delivery: after event `at`, the consumer rewinds `back` events and gets them again. */
const rewinds = fc.array(fc.record({ at: fc.nat(200), back: fc.integer({ min: 1, max: 6 }) }), { maxLength: 4 });
function redeliver(log: ProjectedEvent[], rs: Array<{ at: number; back: number }>): ProjectedEvent[] {
  const out: ProjectedEvent[] = [];
  log.forEach((e, i) => {
    out.push(e);
    for (const r of rs) if (log.length > 0 && r.at % log.length === i) out.push(...log.slice(Math.max(0, i + 1 - r.back), i + 1));
  });
  return out;
}
/** Half of the visits start with the diagnosis service reading the reception, so that the doctor can act early. */
const actions = fc
  .array(action, { maxLength: 50, size: 'max' })
  .chain((as) => fc.constantFrom(as, [{ kind: 'consume', by: 'diagnosis', count: 1 } as const, ...as]));
const realistic = fc.record({ actions, rewinds });

describe('visit projection properties (chaotic event sequences)', () => {
  test('project is pure and deterministic: frozen inputs, deep-equal outputs', () => {
    fc.assert(
      fc.property(chaos, (events) => {
        let v: Visit | null = null;
        for (const e of events) {
          deepFreeze(e);
          const snapshot: Visit | null = structuredClone(v);
          const once = project(v, e);
          assert.deepEqual(project(v, e), once);
          assert.deepEqual(v, snapshot);
          v = deepFreeze(once);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('applying the same event twice equals applying it once (and the second leaves the very same visit)', () => {
    fc.assert(
      fc.property(chaos, (events) => {
        const visits = fold(events);
        events.forEach((e, i) => {
          const once = visits[i] ?? null;
          const twice = project(once, e);
          assert.deepEqual(twice, once, `duplicate ${e.type}`);
          assert.equal(twice, once, `duplicate ${e.type} rewrote the visit`);
        });
      }),
      { numRuns: RUNS },
    );
  });

  test('the stage always follows the stage rules; the visit keeps its identity, updatedAt never goes back, an examination ends once', () => {
    fc.assert(
      fc.property(chaos, (events) => {
        const visits = fold(events);
        let prev: Visit | null = null;
        events.forEach((e, i) => {
          const v = visits[i] ?? null;
          if (!prev) {
            // Nothing before the reception: only ReceptionCompleted opens a visit.
            assert.equal(v === null, e.type !== 'ReceptionCompleted');
          }
          if (v) {
            assert.equal(v.stage, stageOf(v));
            assert.equal(v.receptionId, 7);
            if (prev) {
              if (!Object.hasOwn(dataOf, e.type)) assert.equal(v, prev, `unknown ${e.type} changed the visit`);
              if (e.type === 'BreakGlassAccessed') assert.equal(v, prev, 'opening the record in an emergency changed the visit');
              // A call or a no-show moves the patient in the waiting room, never the visit's stage; the visit keeps its first call by the doctor.
              if (e.type === 'PatientCalled' || e.type === 'PatientNoShow') {
                assert.equal(v.stage, prev.stage);
                const d = e.data as EventDataOf<'PatientCalled'>;
                const first = prev.firstCalledAt ?? (e.type === 'PatientCalled' && d.calledFor === 'DIAGNOSIS' ? d.calledAt : undefined);
                assert.equal(v.firstCalledAt, first);
              }
              assert.equal(v.createdAt, prev.createdAt);
              // The patient changes only by a merge, to the merge's patient.
              const patient = e.type === 'ReceptionPatientMerged' ? (e.data as EventDataOf<'ReceptionPatientMerged'>) : prev;
              assert.deepEqual([v.patientId, v.patientName], [patient.patientId, patient.patientName]);
              assert.ok(Date.parse(v.updatedAt) >= Date.parse(prev.updatedAt));
              assert.deepEqual(v.examinations.slice(0, prev.examinations.length).map((x) => x.prescriptionId), prev.examinations.map((x) => x.prescriptionId));
              prev.examinations.forEach((x, k) => {
                if (x.status !== 'REQUESTED') assert.deepEqual(v.examinations[k], x);
                if (x.examinationId !== undefined) assert.equal(v.examinations[k]?.examinationId, x.examinationId);
              });
              if (prev.diagnosisStatus && ['COMPLETED', 'REJECTED', 'CANCELLED'].includes(prev.diagnosisStatus) && e.type.startsWith('Examination')) {
                assert.equal(v.diagnosisStatus, prev.diagnosisStatus, 'an examination report reopened an ended diagnosis');
              }
            }
          }
          prev = v;
        });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('visit projection properties (realistic logs from the deciders, delivered at least once)', () => {
  test('every logged event is a valid contract event, and the stage only moves along the visit stages', () => {
    fc.assert(
      fc.property(realistic, ({ actions, rewinds: rs }) => {
        const { log } = simulate(actions);
        log.forEach((e, i) => {
          const envelope = { specversion: '1.0', id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, type: e.type, source: '/test', time: e.time, subject: '7', datacontenttype: 'application/json', data: e.data };
          const checked = validateCloudEvent(envelope);
          assert.ok(checked.ok, checked.ok ? '' : checked.reason);
        });
        let stage: VisitStage | undefined;
        for (const v of fold(redeliver(log, rs))) {
          assert.ok(v);
          assert.equal(v.stage, stageOf(v));
          if (stage) assert.ok(v.stage === stage || stageTransitions[stage].includes(v.stage), `${stage} -> ${v.stage}`);
          stage = v.stage;
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('the view converges on the services own state whatever the interleaving, and redeliveries change nothing', () => {
    fc.assert(
      fc.property(realistic, ({ actions, rewinds: rs }) => {
        const world = simulate(actions);
        const exactlyOnce = last(fold(world.log));
        const atLeastOnce = last(fold(redeliver(world.log, rs)));
        assert.deepEqual(atLeastOnce, exactlyOnce);
        const view = exactlyOnce;
        assert.ok(view && world.reception);
        // A late redelivery of any event of the visit changes nothing, not even updatedAt; but for
        // an earlier merge of a patient merged again since, which the inbox's event ids keep out.
        const lastMerge = world.log.findLast((e) => e.type === 'ReceptionPatientMerged');
        for (const e of world.log) if (e.type !== 'ReceptionPatientMerged' || e === lastMerge) assert.deepEqual(project(view, e), view, `late ${e.type}`);

        assert.equal(view.receptionStatus, world.reception.status);
        // Merges of the visit's patient: the view, the diagnosis and every examination are the patient the reception kept.
        assert.deepEqual([view.patientId, view.patientName], [world.reception.patientId, world.reception.patientName]);
        if (world.diagnosis) assert.deepEqual([world.diagnosis.patientId, world.diagnosis.patientName], [world.reception.patientId, world.reception.patientName]);
        for (const x of world.examinations) assert.deepEqual([x.patientId, x.patientName], [world.reception.patientId, world.reception.patientName], `examination ${x.id}`);
        assert.equal(view.diagnosisStatus, world.diagnosis?.status);
        assert.equal(view.diagnosisId, world.diagnosis?.id);
        const prescriptions = world.diagnosis?.prescriptions ?? [];
        assert.deepEqual(
          view.examinations.map((x) => [x.prescriptionId, x.examinationType, x.status, x.examinationId, x.result]),
          prescriptions.map((p) => [p.prescriptionId, p.examinationType, p.status, p.examinationId, p.result]),
        );
        // The examination service agrees too.
        for (const x of world.examinations) {
          const seen: Visit['examinations'][number] | undefined = view.examinations.find((y) => y.prescriptionId === x.prescriptionId);
          assert.deepEqual([seen?.examinationId, seen?.status], [x.id, x.status]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('at quiescence the stage is what DESIGN says for the services states, and compensation has left nothing pending', () => {
    fc.assert(
      fc.property(realistic, ({ actions }) => {
        const world = simulate(actions);
        const view = last(fold(world.log));
        assert.ok(view && world.reception && world.diagnosis);
        const rec = world.reception.status;
        const dia = world.diagnosis.status;
        const want: VisitStage =
          rec === 'CANCELLED'
            ? 'CANCELLED'
            : rec === 'CONFIRMED'
              ? 'CONFIRMED'
              : ({
                  REGISTERED: 'WAITING_FOR_DOCTOR',
                  EXAMINATION_PRESCRIBED: 'IN_EXAMINATION',
                  EXAMINATION_DONE: 'EXAMINATIONS_DONE',
                  COMPLETED: 'DIAGNOSIS_COMPLETED',
                  REJECTED: 'DIAGNOSIS_REJECTED',
                  CANCELLED: 'CANCELLED',
                } as const)[dia];
        assert.equal(view.stage, want, `reception ${rec}, diagnosis ${dia}`);
        // The saga: a cancelled reception cancels an open diagnosis; the outcome reaches the desk.
        if (rec === 'CANCELLED') assert.ok(['CANCELLED', 'COMPLETED', 'REJECTED'].includes(dia));
        if (dia === 'CANCELLED') assert.equal(rec, 'CANCELLED');
        if (dia === 'COMPLETED' && rec !== 'CANCELLED') assert.ok(['DIAGNOSIS_COMPLETED', 'CONFIRMED'].includes(rec));
        if (dia === 'REJECTED' && rec !== 'CANCELLED') assert.ok(['DIAGNOSIS_REJECTED', 'CONFIRMED'].includes(rec));
        // Compensation (DESIGN 1 and 5): a rejected diagnosis or a cancelled reception leaves no examination pending.
        if (rec === 'CANCELLED' || dia === 'REJECTED' || dia === 'CANCELLED') {
          assert.ok(world.examinations.every((x) => x.status !== 'REQUESTED'), 'an examination is still pending');
          assert.ok(world.diagnosis.prescriptions.every((p) => p.status !== 'REQUESTED'), 'a prescription is still pending');
          assert.ok(view.examinations.every((x) => x.status !== 'REQUESTED'), 'the view shows a pending examination');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('waiting room properties (realistic logs from the deciders, delivered at least once)', () => {
  test("the queues and the waits converge whatever the redeliveries; every entry agrees with the services' calls; each wait is counted once, when its stage ended", () => {
    fc.assert(
      fc.property(realistic, ({ actions, rewinds: rs }) => {
        const world = simulate(actions);
        const exactlyOnce = foldWaitingRoom(world.log);
        assert.deepEqual(foldWaitingRoom(redeliver(world.log, rs)), exactlyOnce);
        const { visit, entries, waits } = exactlyOnce;
        assert.ok(visit && world.reception && world.diagnosis);
        const ended = ['CANCELLED', 'CONFIRMED'].includes(world.reception.status) || world.diagnosis.status === 'CANCELLED';

        // The doctor's entry: one, under the visit's number; done once the diagnosis or the visit ended, else the doctor's calls.
        const doctor = entries.filter((e) => e.item === DOCTORS_ENTRY);
        assert.equal(doctor.length, 1);
        assert.deepEqual([doctor[0]!.queueNumber, doctor[0]!.department, doctor[0]!.day], [12, 'internal-medicine', '2025-03-01']);
        if (ended || ['COMPLETED', 'REJECTED', 'CANCELLED'].includes(world.diagnosis.status)) assert.equal(doctor[0]!.state, 'DONE');
        else {
          assert.notEqual(doctor[0]!.state, 'DONE');
          assert.deepEqual([doctor[0]!.callCount, doctor[0]!.lastCalledAt, doctor[0]!.room], [world.diagnosis.callCount, world.diagnosis.calledAt, world.diagnosis.room]);
          if (doctor[0]!.state === 'NO_SHOW') assert.ok(world.diagnosis.noShowAt !== undefined);
        }

        // One entry per examination, in radiology's queue under the visit's number, in the state of the examiners' calls while it is pending.
        assert.equal(entries.length, 1 + world.examinations.length);
        for (const x of world.examinations) {
          const entry = entries.find((e) => e.item === x.prescriptionId);
          assert.ok(entry, `the entry of examination ${x.id}`);
          assert.deepEqual([entry.examinationId, entry.department, entry.visitDepartment, entry.queueNumber], [x.id, 'radiology', 'internal-medicine', 12]);
          const state = ended || x.status !== 'REQUESTED' ? 'DONE' : x.noShowAt !== undefined ? 'NO_SHOW' : x.calledAt !== undefined ? 'CALLED' : 'WAITING';
          assert.equal(entry.state, state, `examination ${x.id} ${x.status}`);
          if (state !== 'DONE') assert.deepEqual([entry.callCount, entry.lastCalledAt, entry.room], [x.callCount, x.calledAt, x.room]);
        }

        // The waits of the stages that ended, each once, never negative.
        const stagesOf = (stage: string) => waits.filter((w) => w.stage === stage);
        const confirmed = world.reception.status === 'CONFIRMED';
        assert.equal(stagesOf('VISIT').length, confirmed ? 1 : 0);
        assert.equal(stagesOf('COMPLETION_TO_CONFIRMATION').length, confirmed ? 1 : 0);
        assert.equal(stagesOf('RECEPTION_TO_CALL').length, world.diagnosis.callCount > 0 ? 1 : 0);
        assert.deepEqual(
          stagesOf('PRESCRIPTION_TO_EXAMINATION').map((w) => [w.item, w.department]).sort(),
          world.examinations.filter((x) => x.status === 'PERFORMED').map((x) => [String(x.id), 'radiology']).sort(),
        );
        for (const w of waits) {
          assert.ok(w.seconds >= 0 && Date.parse(w.endedAt) >= Date.parse(w.startedAt), `${w.stage} ${w.startedAt} -> ${w.endedAt}`);
          if (w.stage !== 'PRESCRIPTION_TO_EXAMINATION') assert.equal(w.department, 'internal-medicine');
        }
      }),
      { numRuns: RUNS },
    );
  });
});
