import { Type, type Static } from 'typebox';
import { Actor } from './actor.ts';
import { PatientId, Timestamp, Uuid } from './common.ts';
import { BreakGlassReason } from './events.ts';
import { MAX_PAGE, MAX_PAGE_SIZE, MAX_REQUEST_ID } from './api.ts';

/**
 * The access log: one record per API request about patient data, written by whoever answered it
 * (the service that served or refused it, or the gateway for the 401 and 403 it answers itself),
 * and kept per patient by patient-management, which answers GET /patients/{patientId}/access-log.
 * What was read matters as much as what was changed: the medical records rules ask who viewed
 * which patient's record, and when.
 */

export const accessActions = ['read', 'command', 'refused'] as const;
export type AccessAction = (typeof accessActions)[number];

/** An id of a record, as the services store them (PostgreSQL `integer`): no larger one names anything. */
const Id = Type.Integer({ minimum: 1, maximum: MAX_REQUEST_ID });

/** What a request named by its path or query: the ids of the records it asked about. */
export const AccessResources = Type.Object(
  {
    patientId: Type.Optional(PatientId),
    receptionId: Type.Optional(Id),
    diagnosisId: Type.Optional(Id),
    examinationId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type AccessResources = Static<typeof AccessResources>;

/**
 * One visit an answer showed: its reception id, and the patient when the answering service knows
 * it; or a patient of the registry shown by itself (a search's match), by the patient id alone.
 */
export const AnsweredVisit = Type.Object(
  { receptionId: Type.Optional(Id), patientId: Type.Optional(PatientId) },
  { additionalProperties: false, minProperties: 1 },
);
export type AnsweredVisit = Static<typeof AnsweredVisit>;

/** A request id as the log keeps it: the gateway's, or the client's kept beside it. */
const RequestId = Type.String({ minLength: 1, maxLength: 255 });

/** The most visits one record names: a list page at its largest (MAX_PAGE_SIZE). */
export const MAX_ANSWERED_VISITS = MAX_PAGE_SIZE;

/**
 * What travels on the access-log topic (ACCESS_LOG_TOPIC): the JSON value of one message, keyed
 * by its id, which patient-management stores once however often it is delivered.
 */
export const AccessRecord = Type.Object(
  {
    id: Uuid,
    at: Timestamp,
    /** Who answered: `gateway` or the service's name. */
    service: Type.String({ minLength: 1, maxLength: 64 }),
    /** Who asked: the verified person, in the role the route was acted in (the first role they hold when refused); `anonymous` without a verified token. */
    actor: Actor,
    action: Type.Enum(accessActions),
    method: Type.String({ minLength: 1, maxLength: 16 }),
    /** The route pattern (`/diagnoses/:id`), never the URL: a URL may carry a patient's id. */
    route: Type.String({ minLength: 1, maxLength: 200 }),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    /** The ids the request named (path and query). */
    resources: AccessResources,
    /** The visits the answer showed (none for a refusal). */
    answered: Type.Array(AnsweredVisit, { maxItems: MAX_ANSWERED_VISITS }),
    breakGlassReason: Type.Optional(BreakGlassReason),
    requestId: RequestId,
    /** The X-Request-Id the client sent, when it sent one: kept beside the gateway's own. */
    clientRequestId: Type.Optional(RequestId),
  },
  { additionalProperties: false },
);
export type AccessRecord = Static<typeof AccessRecord>;

/** How a request is counted: refused (401, 403), else a read (GET, HEAD) or a command. */
export function accessActionOf(method: string, status: number): AccessAction {
  if (status === 401 || status === 403) return 'refused';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'command';
}

const positiveId = (value: unknown): number | undefined => {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_REQUEST_ID ? id : undefined;
};

/** A patient id as a request may name one: what the contract allows, and no control character (a database refuses NUL). */
const patientIdOf = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length >= 1 && value.length <= 64 && /\S/.test(value) && !/[\u0000-\u001f\u007f]/.test(value) ? value : undefined;

/** Which kind of record a route's `:id` names, by the route's first segment. */
const idKinds: Record<string, keyof AccessResources> = {
  receptions: 'receptionId',
  diagnoses: 'diagnosisId',
  examinations: 'examinationId',
};

/**
 * The records a request named: its route's parameters (`/diagnoses/:id`, `/patientManagements/:receptionId`,
 * `/patients/:patientId/...`) and its query's filters (`patientId`, `receptionId`, `diagnosisId`).
 * A value that is not a valid id names nothing: a malformed request asked about no record.
 */
export function accessResourcesOf(route: string, params: Record<string, unknown>, query: Record<string, unknown>): AccessResources {
  const resources: AccessResources = {};
  const set = (key: keyof AccessResources, value: unknown) => {
    if (resources[key] !== undefined) return;
    if (key === 'patientId') {
      const patientId = patientIdOf(value);
      if (patientId !== undefined) resources.patientId = patientId;
    } else {
      const id = positiveId(value);
      if (id !== undefined) resources[key] = id;
    }
  };
  const kind = idKinds[route.split('/')[1] ?? ''];
  if (kind && params.id !== undefined) set(kind, params.id);
  if (params.receptionId !== undefined) set('receptionId', params.receptionId);
  if (params.patientId !== undefined) set('patientId', params.patientId);
  for (const key of ['patientId', 'receptionId', 'diagnosisId'] as const) if (query[key] !== undefined) set(key, query[key]);
  return resources;
}

export const PatientIdParams = Type.Object({ patientId: PatientId }, { additionalProperties: false });

export const AccessLogQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PAGE, default: 0 })),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: 20 })),
  },
  { additionalProperties: false },
);

/**
 * One line of a patient's access log, newest first: one per record and visit of the patient it
 * concerned (a list that showed two of their visits is two lines). `receptionId` is absent when the
 * request named the patient but no visit of theirs (a refused list by patient id, say).
 */
export const AccessLogEntry = Type.Object(
  {
    at: Timestamp,
    subject: Type.String({ minLength: 1, maxLength: 255 }),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    role: Actor.properties.role,
    action: Type.Enum(accessActions),
    method: Type.String(),
    route: Type.String(),
    status: Type.Integer(),
    service: Type.String(),
    receptionId: Type.Optional(Id),
    breakGlassReason: Type.Optional(BreakGlassReason),
    requestId: Type.String(),
  },
  { additionalProperties: false },
);
export type AccessLogEntry = Static<typeof AccessLogEntry>;
