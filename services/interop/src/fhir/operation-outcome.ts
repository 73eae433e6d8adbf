import type { OperationOutcome } from './resources.ts';

/** The issue types (http://hl7.org/fhir/issue-type) this server answers, each with its HTTP status. */
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

/**
 * An error as FHIR answers it: one issue of severity error, its type, and what went wrong for a
 * person to read; `expression` names the parameter or element at fault (a 400's field).
 */
export function operationOutcomeOf(code: OutcomeCode, diagnostics: string, expression?: string): OperationOutcome {
  const issue: OperationOutcome['issue'][number] = { severity: 'error', code, diagnostics };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
