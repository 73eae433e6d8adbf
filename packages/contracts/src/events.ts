import { Type, type Static, type TSchema } from 'typebox';
import { Actor } from './actor.ts';
import { BirthDate, ClinicalText, ExaminationType, Id, PatientId, PatientName, ShortText, Timestamp, Uuid } from './common.ts';
import { DepartmentCode } from './departments.ts';
import { PatientSexSchema } from './patients.ts';
import { CallPurposeSchema, HospitalDay, QueueNumber, Room } from './queues.ts';

/**
 * The integration events of DESIGN.md section 4. Each `data` schema accepts unknown extra
 * properties so that a producer can add a field without breaking older consumers.
 *
 * Every event's data may carry `actor`: who did it. The person of the command that emitted it, or
 * the system actor of the service that emitted it in reaction to another event (a compensation,
 * an automatic step). Optional, because the events already in the log were written without it.
 */
const attributed = { actor: Type.Optional(Actor) };

export const ReceptionCompleted = Type.Object({
  ...attributed,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  birthDate: Type.Optional(BirthDate),
  /**
   * The registry's administrative sex, for the records other systems keep of the patient (FHIR
   * Patient.gender, HL7 PID-8). Optional: visits registered before it carry none.
   */
  sex: Type.Optional(PatientSexSchema),
  department: Type.Optional(ShortText),
  symptom: Type.Optional(ClinicalText),
  receivedAt: Timestamp,
  /**
   * The visit's number in its department's queue on `queueDay`, the hospital day it was registered
   * on (HOSPITAL_TIME_ZONE). Optional: visits registered before queue numbers have none.
   */
  queueNumber: Type.Optional(QueueNumber),
  queueDay: Type.Optional(HospitalDay),
  /** SHA-256 (hex) of the token of the patient's ticket link: the read model finds the visit by it, and the token itself never travels. */
  ticketDigest: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
});
/**
 * Two registrations of one person were merged in the patient registry, and this visit, registered
 * under the duplicate's number (`previousPatientId`), is now the kept patient's (`patientId`,
 * `patientName`). One event per visit, keyed by the visit, so it follows the visit's own events in
 * order; every service that keeps the visit's patient takes the new one.
 */
export const ReceptionPatientMerged = Type.Object({
  ...attributed,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  birthDate: Type.Optional(BirthDate),
  sex: Type.Optional(PatientSexSchema),
  previousPatientId: PatientId,
  mergedAt: Timestamp,
});
export const ReceptionCancelled = Type.Object({ ...attributed, receptionId: Id, reason: ClinicalText });
export const ReceptionConfirmed = Type.Object({
  ...attributed,
  receptionId: Id,
  outcome: Type.Union([Type.Literal('COMPLETED'), Type.Literal('REJECTED')]),
});
export const DiagnosisRegistered = Type.Object({
  ...attributed,
  diagnosisId: Id,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  /**
   * The department whose doctors the diagnosis belongs to: a code of the hospital's list (the
   * reception's, or the default department when the reception named none or no code). Optional:
   * diagnoses registered before departments carry none, and belong to the default department.
   */
  department: Type.Optional(DepartmentCode),
});
export const ExaminationPrescribed = Type.Object({
  ...attributed,
  prescriptionId: Uuid,
  diagnosisId: Id,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  examinationType: ExaminationType,
  instructions: Type.Optional(ClinicalText),
  /** The visit's department and its number in that department's queue, which the examiners call it by. */
  visitDepartment: Type.Optional(DepartmentCode),
  queueNumber: Type.Optional(QueueNumber),
});
export const ExaminationRequested = Type.Object({
  ...attributed,
  examinationId: Id,
  prescriptionId: Uuid,
  diagnosisId: Id,
  receptionId: Id,
  examinationType: ExaminationType,
  /**
   * The department whose waiting room the examination is called in: the catalog's performing
   * department of the examination, else the visit's. Optional, as for every field added later.
   */
  department: Type.Optional(DepartmentCode),
  visitDepartment: Type.Optional(DepartmentCode),
  queueNumber: Type.Optional(QueueNumber),
});
export const ExaminationPerformed = Type.Object({
  ...attributed,
  examinationId: Id,
  prescriptionId: Uuid,
  diagnosisId: Id,
  receptionId: Id,
  result: ClinicalText,
  performedAt: Timestamp,
});
export const ExaminationCancelled = Type.Object({
  ...attributed,
  examinationId: Id,
  prescriptionId: Uuid,
  diagnosisId: Id,
  receptionId: Id,
  reason: ClinicalText,
});
export const DiagnosisCompleted = Type.Object({ ...attributed, diagnosisId: Id, receptionId: Id, opinion: ClinicalText });
export const DiagnosisRejected = Type.Object({ ...attributed, diagnosisId: Id, receptionId: Id, reason: ClinicalText });
export const DiagnosisCancelled = Type.Object({ ...attributed, diagnosisId: Id, receptionId: Id, reason: ClinicalText });

/** The longest reason for breaking the glass, in characters (code points). */
export const BREAK_GLASS_REASON_MAX = 500;
/** Why a doctor opened a record outside their departments: the `Break-Glass` header's text. */
export const BreakGlassReason = Type.String({ minLength: 1, maxLength: BREAK_GLASS_REASON_MAX, pattern: '\\S' });

/**
 * A doctor opened, or acted on, a diagnosis outside their departments in an emergency ("breaking
 * the glass"), giving `reason`. Published so the visit's timeline shows that it happened and who
 * did it (`actor`, always set: the person of the request); the reason itself stays with the
 * privacy officer's trail (the diagnosis service's audit log) and is never shown on the timeline.
 */
export const BreakGlassAccessed = Type.Object({
  ...attributed,
  diagnosisId: Id,
  receptionId: Id,
  reason: BreakGlassReason,
  accessedAt: Timestamp,
});

/**
 * A patient was called to a room: by the doctor for the consultation (`calledFor` DIAGNOSIS, with
 * `diagnosisId`) or by an examiner for an examination (EXAMINATION, with `examinationId`).
 * `department` is the waiting room the call is shown and spoken in; `visitDepartment` the
 * department whose queue the number is of, when it differs. `callCount` is 1 for the first call,
 * more for a recall. Produced by diagnosis or by examination, by what it is for.
 */
export const PatientCalled = Type.Object({
  ...attributed,
  receptionId: Id,
  calledFor: CallPurposeSchema,
  diagnosisId: Type.Optional(Id),
  examinationId: Type.Optional(Id),
  examinationType: Type.Optional(ExaminationType),
  department: DepartmentCode,
  visitDepartment: Type.Optional(DepartmentCode),
  queueNumber: Type.Optional(QueueNumber),
  room: Type.Optional(Room),
  callCount: Type.Integer({ minimum: 1 }),
  calledAt: Timestamp,
});
/**
 * A called patient did not come. The visit stays open: the patient leaves the call screen and the
 * queue until called again.
 */
export const PatientNoShow = Type.Object({
  ...attributed,
  receptionId: Id,
  calledFor: CallPurposeSchema,
  diagnosisId: Type.Optional(Id),
  examinationId: Type.Optional(Id),
  department: DepartmentCode,
  queueNumber: Type.Optional(QueueNumber),
  markedAt: Timestamp,
});

/** Every event type with the schema of its data: the single source of truth for producers and consumers. */
export const eventSchemas = {
  ReceptionCompleted,
  ReceptionCancelled,
  ReceptionConfirmed,
  ReceptionPatientMerged,
  DiagnosisRegistered,
  ExaminationPrescribed,
  ExaminationRequested,
  ExaminationPerformed,
  ExaminationCancelled,
  DiagnosisCompleted,
  DiagnosisRejected,
  DiagnosisCancelled,
  BreakGlassAccessed,
  PatientCalled,
  PatientNoShow,
} as const satisfies Record<string, TSchema>;

export type EventType = keyof typeof eventSchemas;
export const eventTypes = Object.keys(eventSchemas) as EventType[];

export type EventDataOf<T extends EventType> = Static<(typeof eventSchemas)[T]>;

/** A domain event as producers write it: its type and its data, before the envelope is added. */
export type EventOf<T extends EventType> = { type: T; data: EventDataOf<T> };
export type MedicalEvent = { [T in EventType]: EventOf<T> }[EventType];

export const eventSources = ['/reception', '/diagnosis', '/examination'] as const;
export type EventSource = (typeof eventSources)[number];

/**
 * The services that produce each event type, each as its CloudEvents `source`. A call is the
 * doctor's or an examiner's: `sourceOf` says which one of an event.
 */
export const eventProducers: Record<EventType, readonly EventSource[]> = {
  ReceptionCompleted: ['/reception'],
  ReceptionCancelled: ['/reception'],
  ReceptionConfirmed: ['/reception'],
  ReceptionPatientMerged: ['/reception'],
  DiagnosisRegistered: ['/diagnosis'],
  ExaminationPrescribed: ['/diagnosis'],
  ExaminationRequested: ['/examination'],
  ExaminationPerformed: ['/examination'],
  ExaminationCancelled: ['/examination'],
  DiagnosisCompleted: ['/diagnosis'],
  DiagnosisRejected: ['/diagnosis'],
  DiagnosisCancelled: ['/diagnosis'],
  BreakGlassAccessed: ['/diagnosis'],
  PatientCalled: ['/diagnosis', '/examination'],
  PatientNoShow: ['/diagnosis', '/examination'],
};

/** The services that consume events, each by its consumer group. */
export const eventConsumerServices = ['reception', 'diagnosis', 'examination', 'patient-management', 'interop'] as const;
export type EventConsumerService = (typeof eventConsumerServices)[number];

/**
 * Who consumes each event type (DESIGN.md section 4's last column): the services read their
 * `handles` from here (`eventsConsumedBy`), and the AsyncAPI document (asyncapi.ts) says the same,
 * so neither can drift from the other. patient-management, the read model, consumes every type;
 * interop, the FHIR resources and HL7 feeds of other systems, every type of the clinical workflow.
 */
export const eventConsumers: Record<EventType, readonly EventConsumerService[]> = {
  ReceptionCompleted: ['diagnosis', 'patient-management', 'interop'],
  ReceptionCancelled: ['diagnosis', 'examination', 'patient-management', 'interop'],
  ReceptionConfirmed: ['patient-management', 'interop'],
  ReceptionPatientMerged: ['diagnosis', 'examination', 'patient-management', 'interop'],
  DiagnosisRegistered: ['patient-management', 'interop'],
  ExaminationPrescribed: ['examination', 'patient-management', 'interop'],
  ExaminationRequested: ['diagnosis', 'patient-management', 'interop'],
  ExaminationPerformed: ['diagnosis', 'patient-management', 'interop'],
  ExaminationCancelled: ['diagnosis', 'patient-management', 'interop'],
  DiagnosisCompleted: ['reception', 'patient-management', 'interop'],
  DiagnosisRejected: ['reception', 'examination', 'patient-management', 'interop'],
  DiagnosisCancelled: ['patient-management', 'interop'],
  BreakGlassAccessed: ['patient-management'],
  PatientCalled: ['patient-management', 'interop'],
  PatientNoShow: ['patient-management', 'interop'],
};

/** The event types a service consumes, in the contracts' order. */
export function eventsConsumedBy(service: EventConsumerService): EventType[] {
  return eventTypes.filter((type) => eventConsumers[type].includes(service));
}

/**
 * The one service that may have produced this event: the single producer of its type, or, for a
 * call or a no-show, the doctor's service or the examiners' by what it was for. A consumer refuses
 * an event from any other source.
 */
export function sourceOf(event: MedicalEvent): EventSource {
  if (event.type === 'PatientCalled' || event.type === 'PatientNoShow') {
    return event.data.calledFor === 'DIAGNOSIS' ? '/diagnosis' : '/examination';
  }
  return eventProducers[event.type][0]!;
}

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(eventSchemas, value);
}

/**
 * The CloudEvents 1.0 envelope every transport carries (binary mode over Kafka: the attributes
 * travel as `ce_*` headers and `data` is the message value).
 */
export type CloudEvent<T extends EventType = EventType> = {
  specversion: '1.0';
  id: string;
  type: T;
  source: string;
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  /**
   * The data schema and its version, `urn:medical:events:<type>:<version>` (data-schemas.ts).
   * Every producer sets it; events written before it existed have none.
   */
  dataschema?: string;
  traceparent?: string;
  data: EventDataOf<T>;
};

/**
 * A CloudEvents String attribute: the specification forbids control characters (U+0000-U+001F,
 * U+007F-U+009F), surrogate code points and noncharacters in them. Besides following it, this
 * keeps a NUL, which PostgreSQL cannot store in text, out of every attribute a service may store
 * (the timeline keeps `source`, for one).
 */
export const ATTRIBUTE_STRING_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF\\uFDD0-\\uFDEF\\uFFFE\\uFFFF]+$';
const AttributeString = Type.String({ minLength: 1, pattern: ATTRIBUTE_STRING_PATTERN });

export const CloudEventEnvelope = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Uuid,
  type: AttributeString,
  source: AttributeString,
  time: Timestamp,
  subject: AttributeString,
  datacontenttype: Type.Literal('application/json'),
  dataschema: Type.Optional(AttributeString),
  traceparent: Type.Optional(Type.String()),
  data: Type.Unknown(),
});
