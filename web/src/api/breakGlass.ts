import type { BREAK_GLASS_HEADER, OUTSIDE_DEPARTMENT_PROBLEM } from '@medical/contracts/api';
import type { BREAK_GLASS_REASON_MAX } from '@medical/contracts/events';
import { ApiError } from './problem.ts';

/**
 * Breaking the glass (README, "Departments and breaking the glass"): a doctor's request for a
 * diagnosis of another department is refused with a 403 of this type, naming the diagnosis's
 * department; the same request with the doctor's reason in the `Break-Glass` header is allowed,
 * and recorded. The values are repeated from the contracts (whose modules build schemas at load,
 * which the browser bundle does not need); their types keep them in step.
 */
export const outsideDepartmentProblem: typeof OUTSIDE_DEPARTMENT_PROBLEM = 'urn:medical:problem:forbidden/outside-department';
export const breakGlassHeader: typeof BREAK_GLASS_HEADER = 'Break-Glass';
/** The reason's length bound (characters). */
export const breakGlassReasonMax: typeof BREAK_GLASS_REASON_MAX = 500;

/**
 * The header's value: a browser's fetch sends only Latin-1 header bytes, so the reason (Korean,
 * say) goes percent-encoded as UTF-8, which the server decodes.
 */
export function breakGlassHeaderValue(reason: string): string {
  return encodeURIComponent(reason.trim());
}

/** What a refusal outside the doctor's departments says: the diagnosis's department code, when it names one. */
export type OutsideDepartment = { department: string | undefined };

/** The refusal as an outside-department one, or undefined for any other failure. */
export function outsideDepartmentOf(error: unknown): OutsideDepartment | undefined {
  if (!(error instanceof ApiError) || error.status !== 403 || error.problem?.type !== outsideDepartmentProblem) return undefined;
  const department = (error.problem as Record<string, unknown>).department;
  return { department: typeof department === 'string' && department !== '' ? department : undefined };
}

/**
 * The doctor chose not to break the glass: the request stays refused, and nothing is to be said
 * about it (the screen stays as it was).
 */
export class BreakGlassDeclined extends Error {
  constructor(cause: unknown) {
    super('break-glass declined', { cause });
    this.name = 'BreakGlassDeclined';
  }
}
