import { Counter } from 'prom-client';
import { OUTSIDE_DEPARTMENT_PROBLEM, type Actor } from '@medical/contracts';
import { HttpProblem, notFound, type CommandOrigin, type ServiceContext } from '@medical/platform';
import { accessTo, departmentOf, scopeOf, type DepartmentScope } from '../domain/departments.ts';
import type { BreakGlass } from '../domain/diagnosis.ts';
import { loadDiagnosisPlace } from '../db/repository.ts';
import type { DiagnosisDatabase } from '../db/schema.ts';

/**
 * Who may open and act on which diagnosis (domain/departments.ts), applied to a request: a
 * diagnosis outside the requester's departments is a 403 unless they break the glass, and the
 * glass broken is counted and logged once the access it came with has committed. The audit row
 * and the timeline's event are the command pipeline's (the commands carry the reason).
 */

/** Who asks, as the HTTP layer read it from the request. */
export type Requester = {
  origin: CommandOrigin;
  scope: DepartmentScope;
  /** Told once the glass is broken for this request: the access log keeps the reason with the read. */
  glassBroken?: (reason: string) => void;
  /** The reason of the request's Break-Glass header, when it sent one. */
  breakGlassReason?: string;
  /** The route pattern the request came by (`/diagnoses/:id/complete`): the metric's label. */
  route: string;
};

/** What the HTTP layer knows of a request: who acts in which role, the token's departments, the header's reason, the route. */
export type RequestFacts = {
  origin: CommandOrigin;
  role: Actor['role'] | undefined;
  departments: readonly string[];
  breakGlassReason: string | undefined;
  route: string;
  glassBroken?: (reason: string) => void;
};

export function requesterOf({ origin, role, departments, breakGlassReason, route, glassBroken }: RequestFacts): Requester {
  return { origin, scope: scopeOf(role, departments), route, ...(breakGlassReason !== undefined ? { breakGlassReason } : {}), ...(glassBroken ? { glassBroken } : {}) };
}

/** The service's context, with the counter of the glass broken (made once, with the routes). */
export type DeskContext = ServiceContext<DiagnosisDatabase> & { breakGlassUsed: Counter<'route'> };

/**
 * `medical_break_glass_total{service, route}`: accesses to a diagnosis outside the actor's
 * departments (the `service` label is the registry's default). Each route's series starts at 0,
 * so the first use of one shows as an increase (alerts.yml, MedicalBreakGlassUsed).
 */
export function deskContext(context: ServiceContext<DiagnosisDatabase>, routes: readonly string[]): DeskContext {
  const breakGlassUsed = new Counter({
    name: 'medical_break_glass_total',
    help: "Diagnoses opened or acted on outside the actor's departments, in an emergency (Break-Glass), by route pattern",
    labelNames: ['route'] as const,
    registers: [context.metrics.registry],
  });
  for (const route of routes) breakGlassUsed.inc({ route }, 0);
  return { ...context, breakGlassUsed };
}

/** Where a diagnosis is, as the access to it is decided and recorded. */
export type DiagnosisPlace = { diagnosisId: number; receptionId: number; department: string };

/** How a request may go on with a diagnosis: within its departments, or by breaking the glass. */
export type Granted = { place: DiagnosisPlace; breakGlass?: BreakGlass };

/**
 * The access `requester` has to diagnosis `id`, from its department alone (which never changes
 * once registered, so deciding before the command's transaction cannot go stale): 404 when there
 * is no such diagnosis, 403 outside the requester's departments without a Break-Glass reason.
 */
export async function grantedAccess(context: DeskContext, requester: Requester, id: number): Promise<Granted> {
  const found = await loadDiagnosisPlace(context.database.db, id);
  if (!found) throw notFound('diagnosis', id);
  return grantedOn({ diagnosisId: id, receptionId: found.receptionId, department: departmentOf(found, context.config.catalog.defaultDepartment) }, requester);
}

/** The same decision on a diagnosis already loaded. */
export function grantedOn(place: DiagnosisPlace, requester: Requester): Granted {
  const access = accessTo(place.department, requester.scope, requester.breakGlassReason);
  if (access.kind === 'refused') throw outsideDepartment(place, requester.scope);
  if (access.kind === 'break-glass') requester.glassBroken?.(access.reason);
  return access.kind === 'break-glass' ? { place, breakGlass: { reason: access.reason } } : { place };
}

/**
 * The 403: names the diagnosis's department (which the requester needs to know whom to ask, or
 * whether to break the glass), never the patient.
 */
function outsideDepartment(place: DiagnosisPlace, scope: DepartmentScope): HttpProblem {
  const granted = scope.kind === 'departments' && scope.departments.length > 0 ? `the departments ${scope.departments.join(', ')}` : 'no department';
  return new HttpProblem({
    status: 403,
    title: 'Forbidden',
    type: OUTSIDE_DEPARTMENT_PROBLEM,
    detail:
      `diagnosis ${place.diagnosisId} belongs to the department ${place.department}; your token grants ${granted}. ` +
      'In an emergency, send the Break-Glass header with your reason: the access is allowed and audited.',
    extensions: { department: place.department },
  });
}

/** The origin a command is audited with: with the reason when it breaks the glass. */
export function originOf(requester: Requester, granted: Granted): CommandOrigin {
  return granted.breakGlass ? { ...requester.origin, breakGlassReason: granted.breakGlass.reason } : requester.origin;
}

/**
 * The context to run a command in: for one that breaks the glass, one whose transaction, once it
 * has committed with the command, counts the access and logs it. Registered after the work
 * succeeded: a refused command (rolled back, or with an Idempotency-Key rolled back to its
 * savepoint while the key's answer commits) was no access.
 */
export function contextOf(context: DeskContext, requester: Requester, granted: Granted): DeskContext {
  if (!granted.breakGlass) return context;
  const recorded = () => recordBreakGlass(context, requester, granted.place);
  return {
    ...context,
    execute: (work) =>
      context.execute(async (trx, emit) => {
        const result = await work(trx, emit);
        context.afterCommit(trx, recorded);
        return result;
      }),
  };
}

/** Counted, and logged at warn for whoever watches the logs: ids only, never the reason nor patient data. */
function recordBreakGlass(context: DeskContext, requester: Requester, place: DiagnosisPlace): void {
  context.breakGlassUsed.inc({ route: requester.route });
  context.logger.warn(
    {
      diagnosisId: place.diagnosisId,
      receptionId: place.receptionId,
      department: place.department,
      actor: requester.origin.actor.subject,
      requestId: requester.origin.requestId,
      route: requester.route,
    },
    "break-glass: a diagnosis was opened or acted on outside the actor's departments",
  );
}
