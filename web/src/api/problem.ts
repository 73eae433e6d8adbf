import type { Problem } from '@medical/contracts/api';

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
