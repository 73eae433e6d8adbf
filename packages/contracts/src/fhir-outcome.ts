/**
 * How the FHIR API (/fhir/R4, the interop service) answers an error: an OperationOutcome, the one
 * error a FHIR client reads, instead of the rest of the API's problem+json. Here because the
 * gateway's own refusals on those paths (a missing token, a service down) must take the same form
 * as the service's.
 */

/** The issue types (http://hl7.org/fhir/issue-type) the FHIR API answers, each with its HTTP status. */
export const outcomeStatuses = {
  invalid: 400,
  security: 401,
  forbidden: 403,
  'not-found': 404,
  'not-supported': 405,
  conflict: 409,
  'too-costly': 413,
  throttled: 429,
  exception: 500,
  transient: 503,
} as const;
export type OutcomeCode = keyof typeof outcomeStatuses;

export type OperationOutcome = {
  resourceType: 'OperationOutcome';
  issue: { severity: 'fatal' | 'error' | 'warning' | 'information'; code: string; diagnostics?: string; expression?: string[] }[];
};

/**
 * An error as FHIR answers it: one issue of severity error, its type, and what went wrong for a
 * person to read; `expression` names the parameter or element at fault (a 400's field).
 */
export function operationOutcomeOf(code: OutcomeCode, diagnostics: string, expression?: string): OperationOutcome {
  const issue: OperationOutcome['issue'][number] = { severity: 'error', code, diagnostics };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}

const codeOfStatus = Object.fromEntries(Object.entries(outcomeStatuses).map(([code, status]) => [status, code])) as Record<number, OutcomeCode>;

/** A problem+json answer (RFC 9457, with the API's `errors`) as the OperationOutcome of the same status. */
export function operationOutcomeOfProblem(status: number, problem: { detail?: string; title?: string; errors?: { field?: string; message?: string }[] }): OperationOutcome {
  const code: OutcomeCode = codeOfStatus[status] ?? (status >= 500 ? 'exception' : 'invalid');
  const field = problem.errors?.[0];
  const diagnostics = field?.message !== undefined ? `${field.field ?? ''} ${field.message}`.trim() : (problem.detail ?? problem.title ?? `HTTP ${status}`);
  return operationOutcomeOf(code, diagnostics, field?.field);
}
