import type { Role } from './actor.ts';

/**
 * Who may call which API route: the one table the gateway (on concrete paths, in front of its
 * wildcard proxy routes) and every service (behind it) enforce. A route missing here is refused
 * as unknown (404) by both, so a new route is unusable until it is given its roles; a test fails
 * when a service registers a route this table does not cover.
 *
 * - receptionist: the front desk's patient registry (search, read, register) and receptions
 *   (register, list and read, cancel, confirm).
 *   It sees the diagnosis outcome on the reception itself, not by reading diagnoses.
 * - doctor: diagnoses (read, prescribe, complete, reject), and reads examinations with their
 *   attachments: the reports and images are the results the doctor judges (DESIGN.md §1, step 6).
 *   The doctor neither performs, cancels nor uploads.
 * - examiner: examinations (read, perform, cancel) and their attachments (upload, list, download).
 * - manager: the patient-management read model (lists, one visit, its timeline); every role
 *   may follow the live stream of visit changes.
 * - auditor: the privacy officer: a patient's access log (who saw and did what, who was refused),
 *   and nothing clinical.
 * - admin: everything; listed on every entry so what is read here is exactly what is enforced.
 * - display: a waiting room's call screen: its department's queue (numbers and masked names), and
 *   nothing else.
 * - integration: another of the hospital's systems, with its own client credentials: performing an
 *   examination with its result (a laboratory's, through the interop service), and the FHIR API,
 *   where its token's scopes say what it may read and write (smart-scopes.ts).
 *
 * Paths are Fastify route patterns: `:name` is one path segment, a final `*` the rest of the path.
 * HEAD is allowed wherever GET is (Fastify answers HEAD from the GET route).
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type Permission = { method: HttpMethod; path: string; roles: readonly Role[] };

const staff = ['receptionist', 'doctor', 'examiner', 'manager', 'auditor', 'admin'] as const satisfies readonly Role[];
/** Who may call the FHIR API: other hospital systems by client credentials, and admin. */
const systems = ['integration', 'admin'] as const satisfies readonly Role[];
/** The FHIR resource types read by id, and those searched (the interop service's fhir/search.ts). */
const fhirReadTypes = ['Patient', 'Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport', 'Observation'] as const;
const fhirSearchTypes = ['Encounter', 'ServiceRequest', 'Task', 'DiagnosticReport'] as const;

export const permissions: readonly Permission[] = [
  // reception
  { method: 'POST', path: '/receptions', roles: ['receptionist', 'admin'] },
  { method: 'GET', path: '/receptions', roles: ['receptionist', 'admin'] },
  { method: 'GET', path: '/receptions/:id', roles: ['receptionist', 'admin'] },
  { method: 'POST', path: '/receptions/:id/cancel', roles: ['receptionist', 'admin'] },
  { method: 'POST', path: '/receptions/:id/confirm', roles: ['receptionist', 'admin'] },
  // the patient registry (kept by reception): the desk searches, reads and registers. Merging two
  // records joins two people's histories, and a wrong merge shows one patient's record as
  // another's: it is for admin (the medical records office), from the desk's flagged duplicates.
  { method: 'POST', path: '/patients', roles: ['receptionist', 'admin'] },
  { method: 'GET', path: '/patients', roles: ['receptionist', 'admin'] },
  { method: 'GET', path: '/patients/:patientId', roles: ['receptionist', 'admin'] },
  { method: 'PATCH', path: '/patients/:patientId', roles: ['receptionist', 'admin'] },
  { method: 'POST', path: '/patients/:patientId/merge', roles: ['admin'] },
  // diagnosis
  { method: 'GET', path: '/diagnoses', roles: ['doctor', 'admin'] },
  { method: 'GET', path: '/diagnoses/:id', roles: ['doctor', 'admin'] },
  { method: 'POST', path: '/diagnoses/:id/prescriptions', roles: ['doctor', 'admin'] },
  { method: 'POST', path: '/diagnoses/:id/complete', roles: ['doctor', 'admin'] },
  { method: 'POST', path: '/diagnoses/:id/reject', roles: ['doctor', 'admin'] },
  // the waiting room: the doctor calls the patient in (again: a recall), or marks one who did not come
  { method: 'POST', path: '/diagnoses/:id/call', roles: ['doctor', 'admin'] },
  { method: 'POST', path: '/diagnoses/:id/no-show', roles: ['doctor', 'admin'] },
  // examination: the examiners' worklist, readable by the doctor who prescribed
  { method: 'GET', path: '/examinations', roles: ['examiner', 'doctor', 'admin'] },
  { method: 'GET', path: '/examinations/:id', roles: ['examiner', 'doctor', 'admin'] },
  // A laboratory's or radiology's result, sent over HL7 v2 to the interop service, is performed as
  // that service's own client (role integration): the system that reports the result, not a person.
  { method: 'POST', path: '/examinations/:id/perform', roles: ['examiner', 'integration', 'admin'] },
  { method: 'POST', path: '/examinations/:id/cancel', roles: ['examiner', 'admin'] },
  { method: 'POST', path: '/examinations/:id/call', roles: ['examiner', 'admin'] },
  { method: 'POST', path: '/examinations/:id/no-show', roles: ['examiner', 'admin'] },
  { method: 'POST', path: '/examinations/:id/attachments', roles: ['examiner', 'admin'] },
  { method: 'GET', path: '/examinations/:id/attachments', roles: ['examiner', 'doctor', 'admin'] },
  { method: 'GET', path: '/examinations/:id/attachments/:name', roles: ['examiner', 'doctor', 'admin'] },
  // The service's catch-all that answers 400 to a name with a path in it: the download's roles,
  // so whoever may download learns why the name is wrong, and nobody else learns anything.
  { method: 'GET', path: '/examinations/:id/attachments/*', roles: ['examiner', 'doctor', 'admin'] },
  // patient management (read model)
  { method: 'GET', path: '/patientManagements', roles: ['manager', 'admin'] },
  // Every staff screen refreshes from the live stream; it names only which visit changed and its
  // stage, never patient data, which each role then reads through its own routes.
  { method: 'GET', path: '/patientManagements/stream', roles: ['receptionist', 'doctor', 'examiner', 'manager', 'admin'] },
  // The waits of each stage of the visits, per department: the manager's charts, from the read model.
  { method: 'GET', path: '/patientManagements/waiting-times', roles: ['manager', 'admin'] },
  { method: 'GET', path: '/patientManagements/:receptionId', roles: ['manager', 'admin'] },
  { method: 'GET', path: '/patientManagements/:receptionId/timeline', roles: ['manager', 'admin'] },
  // The access log of a patient: who read or acted on their records, and who was refused. For the
  // privacy officer (auditor), who reads nothing clinical, and admin.
  { method: 'GET', path: '/patients/:patientId/access-log', roles: ['auditor', 'admin'] },
  // A department's queue as its call screen shows it (numbers and masked names), and its live
  // stream: for the screen (display) and every member of staff.
  { method: 'GET', path: '/queues/:department', roles: ['display', ...staff] },
  { method: 'GET', path: '/queues/:department/stream', roles: ['display', ...staff] },
  // FHIR R4 (the interop service): for other systems (`integration`) and admin. The role lets a
  // system in; its token's SMART scopes then say which resource types it reads or writes
  // (smart-scopes.ts), checked by the service per resource type. Staff use the console.
  ...fhirReadTypes.map((type): Permission => ({ method: 'GET', path: `/fhir/R4/${type}/:id`, roles: systems })),
  ...fhirSearchTypes.map((type): Permission => ({ method: 'GET', path: `/fhir/R4/${type}`, roles: systems })),
  { method: 'POST', path: '/fhir/R4/Subscription', roles: systems },
  { method: 'GET', path: '/fhir/R4/Subscription', roles: systems },
  { method: 'GET', path: '/fhir/R4/Subscription/:id', roles: systems },
  { method: 'DELETE', path: '/fhir/R4/Subscription/:id', roles: systems },
];

/**
 * The routes anyone may call, without a token: the patient's own ticket, found by the
 * unguessable token of the link printed on it (queues.ts), which shows the queue number, the
 * masked name and the room, and nothing else; the FHIR API's CapabilityStatement.
 */
export const publicApiRoutes: readonly Permission[] = [
  { method: 'GET', path: '/tickets/:token', roles: [] },
  // What the FHIR API can do (its CapabilityStatement), which a FHIR client reads before it signs in.
  { method: 'GET', path: '/fhir/R4/metadata', roles: [] },
];

type Segment = { literal: string } | { param: string } | { rest: true };
type CompiledPermission = Permission & { segments: Segment[] };

function compile(path: string): Segment[] {
  return path
    .split('/')
    .slice(1)
    .map((part): Segment => (part === '*' ? { rest: true } : part.startsWith(':') ? { param: part.slice(1) } : { literal: part }));
}

/**
 * Literal segments before parameters, as Fastify's router prefers them: `/patientManagements/stream`
 * is the stream, not the visit whose receptionId is "stream"; a final `*` comes last of all.
 */
function specificity(segments: Segment[]): number[] {
  return segments.map((s) => ('literal' in s ? 0 : 'param' in s ? 1 : 2));
}

function compareSpecificity(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return b.length - a.length;
}

const compiled: CompiledPermission[] = permissions
  .map((p) => ({ ...p, segments: compile(p.path) }))
  .sort((a, b) => compareSpecificity(specificity(a.segments), specificity(b.segments)));

/** Each segment percent-decoded, as the router decodes them; undefined when one is malformed. */
function pathSegments(concretePath: string): string[] | undefined {
  let path = concretePath.split('?')[0]!.split('#')[0]!;
  // Fastify runs with ignoreTrailingSlash: /receptions/ is /receptions.
  if (path.length > 1) path = path.replace(/\/+$/, '');
  if (!path.startsWith('/')) return undefined;
  try {
    return path.split('/').slice(1).map((part) => decodeURIComponent(part));
  } catch {
    return undefined;
  }
}

function matches(segments: Segment[], parts: string[]): boolean {
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if ('rest' in segment) return parts.length > i;
    const part = parts[i];
    if (part === undefined) return false;
    if ('literal' in segment ? part !== segment.literal : part === '') return false;
  }
  return parts.length === segments.length;
}

/** The table's entry for a request, or undefined for a path (or method) outside the API. */
export function permissionFor(method: string, concretePath: string): Permission | undefined {
  return matchPermission(method, concretePath)?.permission;
}

/**
 * The table's entry for a request with the values of its route's parameters, as the router would
 * hand them to the route (`/diagnoses/7` on `/diagnoses/:id`: `{ id: '7' }`): how the gateway
 * names what a request it refused was about, without a route of its own for it.
 */
export function matchPermission(method: string, concretePath: string): { permission: Permission; params: Record<string, string> } | undefined {
  const verb = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const parts = pathSegments(concretePath);
  if (!parts) return undefined;
  const found = compiled.find((p) => p.method === verb && matches(p.segments, parts));
  if (!found) return undefined;
  const params: Record<string, string> = {};
  found.segments.forEach((segment, index) => {
    if ('param' in segment) params[segment.param] = parts[index]!;
  });
  return { permission: { method: found.method, path: found.path, roles: found.roles }, params };
}

/**
 * The roles allowed to call `method` on a concrete URL path (`/receptions/12/cancel`, with or
 * without a query string or trailing slash), or undefined when no API route has that method and
 * path: the caller then answers 404, as for any unknown route.
 */
export function rolesFor(method: string, concretePath: string): readonly Role[] | undefined {
  return permissionFor(method, concretePath)?.roles;
}
