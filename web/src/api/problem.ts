import type { Problem } from '@medical/contracts/api';
import type { PatientView, POSSIBLE_DUPLICATE_PROBLEM } from '@medical/contracts/patients';

/** A failed API call: the HTTP status and the RFC 9457 problem the server answered, if any. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, fallbackMessage: string) {
    super(problem?.detail ?? problem?.title ?? fallbackMessage);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** The problem's failing fields by name (`/patientId`, `body.patientId` and `patientId` alike). */
  fieldErrors(): Record<string, string> {
    const byField: Record<string, string> = {};
    for (const error of this.problem?.errors ?? []) {
      const field = error.field.replace(/^(\/|body[./])/, '').split(/[./]/)[0] ?? error.field;
      byField[field] ??= error.message;
    }
    return byField;
  }
}

/** A request that got no answer at all (network down, gateway unreachable). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super('network error', { cause });
    this.name = 'NetworkError';
  }
}

/** The registry's refusal of a patient who looks like one already registered (the value repeated from the contracts, as in breakGlass.ts). */
export const possibleDuplicateProblem: typeof POSSIBLE_DUPLICATE_PROBLEM = 'urn:medical:problem:possible-duplicate';

/** The look-alikes a registration was refused for (409, `candidates`), or undefined for any other failure. */
export function possibleDuplicatesOf(error: unknown): PatientView[] | undefined {
  if (!(error instanceof ApiError) || error.status !== 409 || error.problem?.type !== possibleDuplicateProblem) return undefined;
  const candidates = (error.problem as Record<string, unknown>).candidates;
  return Array.isArray(candidates) ? (candidates as PatientView[]) : [];
}

export async function readProblem(response: Response): Promise<Problem | undefined> {
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) return undefined;
  try {
    const body: unknown = await response.json();
    return body && typeof body === 'object' && 'status' in body ? (body as Problem) : undefined;
  } catch {
    return undefined;
  }
}
