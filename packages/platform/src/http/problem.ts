/**
 * RFC 9457 problem details. Handlers throw these; the app's error handler renders them as
 * `application/problem+json`.
 */
export type FieldError = { field: string; in?: string; message: string };

export const problemTypes = {
  validation: 'urn:medical:problem:validation-error',
  conflict: 'urn:medical:problem:invalid-transition',
  notFound: 'urn:medical:problem:not-found',
  unavailable: 'urn:medical:problem:service-unavailable',
} as const;

export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly detail: string | undefined;
  readonly extensions: Record<string, unknown>;

  constructor(init: { status: number; title: string; type?: string; detail?: string; extensions?: Record<string, unknown> }) {
    super(init.detail ?? init.title);
    this.name = 'HttpProblem';
    this.status = init.status;
    this.title = init.title;
    this.type = init.type ?? 'about:blank';
    this.detail = init.detail;
    this.extensions = init.extensions ?? {};
  }

  toJSON(instance?: string): Record<string, unknown> {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export function notFound(resource: string, id: number | string): HttpProblem {
  return new HttpProblem({
    status: 404,
    title: 'Not Found',
    type: problemTypes.notFound,
    detail: `${resource} ${id} does not exist`,
  });
}

export function conflict(detail: string): HttpProblem {
  return new HttpProblem({ status: 409, title: 'Conflict', type: problemTypes.conflict, detail });
}

export function validationProblem(detail: string, errors: FieldError[]): HttpProblem {
  return new HttpProblem({
    status: 400,
    title: 'Bad Request',
    type: problemTypes.validation,
    detail,
    extensions: { errors },
  });
}
