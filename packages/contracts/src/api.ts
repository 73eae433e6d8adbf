import { Type, type Static, type TSchema } from 'typebox';
import { Actor } from './actor.ts';
import { BirthDate, ClinicalText, ExaminationType, Id, PatientId, PatientName, ShortText, Timestamp, Uuid } from './common.ts';
import { DepartmentCode } from './departments.ts';
import { HospitalDay, QueueNumber, queueProperties, TicketToken } from './queues.ts';

/** Request and response bodies of DESIGN.md section 6. Request bodies refuse unknown fields. */

/**
 * An id sent in a request (a path or a filter): the services store ids as PostgreSQL `integer`,
 * so no id above 2^31 - 1 names anything, and one that large failed in the database (a 500 on the
 * production profile) instead of being refused as bad input.
 */
export const MAX_REQUEST_ID = 2_147_483_647;
const RequestId = Type.Integer({ minimum: 1, maximum: MAX_REQUEST_ID });

export const IdParams = Type.Object({ id: RequestId }, { additionalProperties: false });
export const ReceptionIdParams = Type.Object({ receptionId: RequestId }, { additionalProperties: false });

export const MAX_PAGE_SIZE = 100;
/**
 * The last page a list serves: a page is read with OFFSET, which reads and drops every row before
 * it, so paging deep into a list costs the database more with each page, and walking every page is
 * how one token would read every patient. A page past it is a 400 naming `page`; narrow the list
 * with its filters instead.
 */
export const MAX_PAGE = 500;
export const pagingProperties = {
  page: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PAGE, default: 0 })),
  size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
};

export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    page: Type.Integer({ minimum: 0 }),
    size: Type.Integer({ minimum: 1 }),
    total: Type.Integer({ minimum: 0 }),
  });
}
export type PageOf<T> = { items: T[]; page: number; size: number; total: number };

export const ProblemDetails = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(Type.Object({ field: Type.String(), in: Type.Optional(Type.String()), message: Type.String() })),
    ),
  },
  { additionalProperties: true },
);
export type Problem = Static<typeof ProblemDetails>;

// ---- reception ----
export const receptionStatuses = ['RECEIVED', 'CANCELLED', 'DIAGNOSIS_COMPLETED', 'DIAGNOSIS_REJECTED', 'CONFIRMED'] as const;
export type ReceptionStatus = (typeof receptionStatuses)[number];
export const ReceptionStatusSchema = Type.Enum(receptionStatuses);

export const CreateReceptionBody = Type.Object(
  {
    /** A patient of the registry (POST /patients): the visit takes the registry's name and birth date. */
    patientId: PatientId,
    /** Optional, and when sent, checked: a name that is not the registry's for the number is a 400 (the wrong patient at the desk). */
    patientName: Type.Optional(PatientName),
    /** As patientName; kept for a patient carried over without a birth date. */
    birthDate: Type.Optional(BirthDate),
    /** One of the hospital's department codes (`internal-medicine`); none: the hospital's default department. */
    department: Type.Optional(DepartmentCode),
    symptom: Type.Optional(ClinicalText),
  },
  { additionalProperties: false },
);
export type CreateReceptionRequest = Static<typeof CreateReceptionBody>;

export const CancelReceptionBody = Type.Object({ reason: Type.Optional(ClinicalText) }, { additionalProperties: false });
export const EmptyBody = Type.Object({}, { additionalProperties: false });

export const ReceptionQuery = Type.Object(
  { ...pagingProperties, status: Type.Optional(ReceptionStatusSchema), patientId: Type.Optional(PatientId) },
  { additionalProperties: false },
);

export const Reception = Type.Object({
  id: Id,
  patientId: PatientId,
  patientName: PatientName,
  birthDate: Type.Optional(BirthDate),
  department: Type.Optional(ShortText),
  symptom: Type.Optional(ClinicalText),
  status: ReceptionStatusSchema,
  receivedAt: Timestamp,
  cancelReason: Type.Optional(ClinicalText),
  diagnosisId: Type.Optional(Id),
  diagnosisOutcome: Type.Optional(Type.Union([Type.Literal('COMPLETED'), Type.Literal('REJECTED')])),
  diagnosisOpinion: Type.Optional(ClinicalText),
  diagnosisRejectReason: Type.Optional(ClinicalText),
  confirmedAt: Type.Optional(Timestamp),
  /** The visit's number in its department's queue on `queueDay` (the hospital day it was registered on). */
  queueNumber: Type.Optional(QueueNumber),
  queueDay: Type.Optional(HospitalDay),
  /** The token of the patient's ticket link (`/ticket/{ticket}`), printed as a QR code on the ticket. */
  ticket: Type.Optional(TicketToken),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ReceptionView = Static<typeof Reception>;

// ---- diagnosis ----
export const diagnosisStatuses = ['REGISTERED', 'EXAMINATION_PRESCRIBED', 'EXAMINATION_DONE', 'COMPLETED', 'REJECTED', 'CANCELLED'] as const;
export type DiagnosisStatus = (typeof diagnosisStatuses)[number];
export const DiagnosisStatusSchema = Type.Enum(diagnosisStatuses);

export const prescriptionStatuses = ['REQUESTED', 'PERFORMED', 'CANCELLED'] as const;
export type PrescriptionStatus = (typeof prescriptionStatuses)[number];
export const PrescriptionStatusSchema = Type.Enum(prescriptionStatuses);

export const PrescribeBody = Type.Object(
  { examinationType: ExaminationType, instructions: Type.Optional(ClinicalText) },
  { additionalProperties: false },
);
export const CompleteDiagnosisBody = Type.Object({ opinion: ClinicalText }, { additionalProperties: false });
export const RejectDiagnosisBody = Type.Object({ reason: ClinicalText }, { additionalProperties: false });

/**
 * A doctor sees and acts on the diagnoses of the departments their token names. Outside them, in
 * an emergency, they may still open or act on one by sending the reason in the `Break-Glass`
 * header ("breaking the glass"): allowed, audited with the reason, counted, and shown on the
 * visit's timeline. The reason is 1 to 500 characters of visible text, sent as UTF-8 or, as a
 * browser must, percent-encoded UTF-8 (`encodeURIComponent`). Within one's own departments (and
 * for admin, who is hospital-wide) the header changes nothing and nothing of it is recorded.
 */
export const BREAK_GLASS_HEADER = 'Break-Glass';
export const BreakGlassHeaders = Type.Object({
  'break-glass': Type.Optional(
    Type.String({ description: "The reason for opening or acting on a diagnosis outside the doctor's departments, in an emergency (audited)" }),
  ),
});
/** The 403 of a diagnosis outside the doctor's departments, opened without a Break-Glass reason. */
export const OUTSIDE_DEPARTMENT_PROBLEM = 'urn:medical:problem:forbidden/outside-department';

export const DiagnosisQuery = Type.Object(
  {
    ...pagingProperties,
    status: Type.Optional(DiagnosisStatusSchema),
    receptionId: Type.Optional(RequestId),
    patientId: Type.Optional(PatientId),
  },
  { additionalProperties: false },
);

export const Prescription = Type.Object({
  prescriptionId: Uuid,
  examinationType: ExaminationType,
  instructions: Type.Optional(ClinicalText),
  status: PrescriptionStatusSchema,
  examinationId: Type.Optional(Id),
  result: Type.Optional(ClinicalText),
  cancelReason: Type.Optional(ClinicalText),
  prescribedAt: Timestamp,
});

export const Diagnosis = Type.Object({
  id: Id,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  /**
   * The department the diagnosis belongs to (a department code): its doctors see and act on it.
   * Every diagnosis registered since departments exist has one; one without belongs to the
   * hospital's default department.
   */
  department: Type.Optional(DepartmentCode),
  status: DiagnosisStatusSchema,
  prescriptions: Type.Array(Prescription),
  opinion: Type.Optional(ClinicalText),
  rejectReason: Type.Optional(ClinicalText),
  cancelReason: Type.Optional(ClinicalText),
  /** The visit's queue number, and where the patient stands in the doctor's queue (queues.ts). */
  ...queueProperties,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type DiagnosisView = Static<typeof Diagnosis>;

// ---- examination ----
export const examinationStatuses = ['REQUESTED', 'PERFORMED', 'CANCELLED'] as const;
export type ExaminationStatus = (typeof examinationStatuses)[number];
export const ExaminationStatusSchema = Type.Enum(examinationStatuses);

export const PerformExaminationBody = Type.Object({ result: ClinicalText }, { additionalProperties: false });
export const CancelExaminationBody = Type.Object({ reason: Type.Optional(ClinicalText) }, { additionalProperties: false });

export const ExaminationQuery = Type.Object(
  {
    ...pagingProperties,
    status: Type.Optional(ExaminationStatusSchema),
    diagnosisId: Type.Optional(RequestId),
    receptionId: Type.Optional(RequestId),
  },
  { additionalProperties: false },
);

export const Examination = Type.Object({
  id: Id,
  prescriptionId: Uuid,
  diagnosisId: Id,
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  examinationType: ExaminationType,
  instructions: Type.Optional(ClinicalText),
  status: ExaminationStatusSchema,
  result: Type.Optional(ClinicalText),
  performedAt: Type.Optional(Timestamp),
  cancelReason: Type.Optional(ClinicalText),
  /** The department whose waiting room it is called in, and the visit's department when that differs. */
  department: Type.Optional(DepartmentCode),
  visitDepartment: Type.Optional(DepartmentCode),
  /** The visit's queue number, and where the patient stands in the examination's queue (queues.ts). */
  ...queueProperties,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ExaminationView = Static<typeof Examination>;

// ---- patient management (the visit view) ----
/**
 * Where a visit stands, as the patient-management team reads it. Derived from every service's
 * status, so a single filter answers "who is waiting for what".
 */
export const visitStages = [
  'RECEIVED', // registered at the desk, not yet on the doctor's list
  'WAITING_FOR_DOCTOR', // on the doctor's list, no examination prescribed
  'IN_EXAMINATION', // at least one examination pending
  'EXAMINATIONS_DONE', // every examination performed or cancelled, the doctor decides next
  'DIAGNOSIS_COMPLETED', // the doctor completed; the desk has to confirm
  'DIAGNOSIS_REJECTED', // the doctor rejected; the desk has to confirm
  'CONFIRMED', // the desk confirmed the outcome: the visit is over
  'CANCELLED', // the reception was cancelled
] as const;
export type VisitStage = (typeof visitStages)[number];
export const VisitStageSchema = Type.Enum(visitStages);

/**
 * A visit's stage from its services' statuses, as both of the event projections derive it (the
 * visit view of patient-management, the FHIR Encounter of interop): it mirrors the state machines
 * (DESIGN.md section 5), so a projection converges on the same stage whatever the order its
 * events of different services arrived in.
 */
export function visitStageOf(v: {
  receptionStatus: ReceptionStatus;
  diagnosisId?: number | undefined;
  diagnosisStatus?: DiagnosisStatus | undefined;
  examinations: readonly { status: PrescriptionStatus }[];
}): VisitStage {
  if (v.receptionStatus === 'CANCELLED') return 'CANCELLED';
  if (v.receptionStatus === 'CONFIRMED') return 'CONFIRMED';
  if (v.diagnosisStatus === 'COMPLETED') return 'DIAGNOSIS_COMPLETED';
  if (v.diagnosisStatus === 'REJECTED') return 'DIAGNOSIS_REJECTED';
  if (v.examinations.some((e) => e.status === 'REQUESTED')) return 'IN_EXAMINATION';
  if (v.examinations.length > 0) return 'EXAMINATIONS_DONE';
  if (v.diagnosisId !== undefined || v.diagnosisStatus !== undefined) return 'WAITING_FOR_DOCTOR';
  return 'RECEIVED';
}

export const VisitQuery = Type.Object(
  { ...pagingProperties, patientId: Type.Optional(PatientId), stage: Type.Optional(VisitStageSchema) },
  { additionalProperties: false },
);

export const VisitExamination = Type.Object({
  examinationId: Type.Optional(Id),
  prescriptionId: Uuid,
  examinationType: ExaminationType,
  status: PrescriptionStatusSchema,
  result: Type.Optional(ClinicalText),
});

export const Visit = Type.Object({
  receptionId: Id,
  patientId: PatientId,
  patientName: PatientName,
  status: VisitStageSchema,
  stage: VisitStageSchema,
  receptionStatus: ReceptionStatusSchema,
  diagnosisId: Type.Optional(Id),
  diagnosisStatus: Type.Optional(DiagnosisStatusSchema),
  examinations: Type.Array(VisitExamination),
  /** The visit's department and its number in that department's queue on the day it was registered. */
  department: Type.Optional(DepartmentCode),
  queueNumber: Type.Optional(QueueNumber),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type VisitView = Static<typeof Visit>;

/**
 * One step of a visit's timeline: an event the patient-management service applied, with who did
 * it. `actor` is the person of the command or the system actor of the service that acted by
 * itself (role `system`); it is absent for events written before events carried their actor.
 * `description` says what happened in a few words, never clinical content (no result, opinion or
 * reason): those stay in the services that own them.
 */
export const TimelineStep = Type.Object({
  /** When it happened: the event's time. */
  at: Timestamp,
  /** The event type (ReceptionCompleted, ExaminationPerformed, ...). */
  event: Type.String({ minLength: 1 }),
  /** The event's id (its CloudEvents `id`): the link to the service's audit trail. */
  eventId: Uuid,
  /** The service that did it. */
  service: Type.String({ minLength: 1 }),
  description: Type.String({ minLength: 1 }),
  /** Where the visit stood after this step. */
  stage: VisitStageSchema,
  actor: Type.Optional(Actor),
});
export type TimelineStepView = Static<typeof TimelineStep>;

/** `GET /patientManagements/{receptionId}/timeline`: every step of the visit, oldest first. */
export const VisitTimeline = Type.Object({
  receptionId: Id,
  steps: Type.Array(TimelineStep),
});
export type VisitTimelineView = Static<typeof VisitTimeline>;

// ---- examination attachments (reports and images of an examination) ----
/**
 * What an attachment may be: a report (PDF) or an image (PNG, JPEG), the documents every browser
 * and viewer shows. The declared type must be one of these and the file's first bytes must be
 * that type's signature. DICOM studies belong in the PACS, not here: they are large, multi-file,
 * and carry their own patient identity.
 */
export const attachmentContentTypes = ['application/pdf', 'image/png', 'image/jpeg'] as const;
export type AttachmentContentType = (typeof attachmentContentTypes)[number];
/** The extension of the stored name and of the download's file name, per type. */
export const attachmentExtensions: Record<AttachmentContentType, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
};
/** The default bound on one attachment's bytes (ATTACHMENT_MAX_BYTES): 20 MiB. */
export const DEFAULT_ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024;
/** The highest ATTACHMENT_MAX_BYTES accepted at start: 512 MiB. */
export const MAX_ATTACHMENT_MAX_BYTES = 512 * 1024 * 1024;
/** What an upload's body may carry beyond the file itself: the multipart boundaries and part headers. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * The server-generated name of a stored attachment: 32 lower-case hex digits (128 random bits)
 * and the extension of its type. Nothing else is a name, so no name can leave its folder.
 */
export const ATTACHMENT_NAME_PATTERN = '^[0-9a-f]{32}\\.(pdf|png|jpg)$';
export const AttachmentName = Type.String({ pattern: ATTACHMENT_NAME_PATTERN, minLength: 36, maxLength: 36 });

export const AttachmentParams = Type.Object({ id: RequestId, name: AttachmentName }, { additionalProperties: false });
export const AttachmentQuery = Type.Object({ ...pagingProperties }, { additionalProperties: false });

/** The upload's body as documented (multipart/form-data with one part, `file`); the handler reads the stream. */
export const UploadAttachmentBody = Type.Object(
  {
    file: Type.String({
      format: 'binary',
      description: 'The report or image: application/pdf, image/png or image/jpeg, as the part\'s Content-Type, with a plain file name',
    }),
  },
  { required: ['file'], additionalProperties: false },
);

export const Attachment = Type.Object({
  examinationId: Id,
  /** The server-generated name under which it is stored and downloaded. */
  name: AttachmentName,
  /** The file name it was uploaded with, for display and as the download's file name. */
  filename: Type.String({ minLength: 1, maxLength: 255 }),
  contentType: Type.Enum(attachmentContentTypes),
  size: Type.Integer({ minimum: 1 }),
  /** SHA-256 of the bytes, lower-case hex: lets the reader check what they got, and spots the same file uploaded twice. */
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  uploadedAt: Timestamp,
});
export type AttachmentView = Static<typeof Attachment>;
