import { useCallback, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { BreakGlassDeclined } from '../api/breakGlass.ts';
import { ApiError } from '../api/problem.ts';
import { describeError } from '../api/describeError.ts';

export type Submission = {
  /**
   * Runs the write with this form's Idempotency-Key; resolves its answer, or undefined when it
   * failed. `newKey` replaces the key within the submission, for a write that sends the request
   * again after a refusal (the server keeps the refusal under the first key): a retry of the
   * submission then goes on with the new one.
   */
  submit: <T>(write: (idempotencyKey: string, newKey: () => string) => Promise<T>) => Promise<T | undefined>;
  submitting: boolean;
  /** The server's problem detail (or a fallback), for the form's alert. */
  error: string | undefined;
  /** The server's validation errors by field name. */
  fieldErrors: Record<string, string>;
  /** The last failure itself, for a form that reads more of a refusal than its words (api/problem.ts, possibleDuplicatesOf). */
  failure: unknown;
  reset: () => void;
};

/**
 * One form's submissions. The Idempotency-Key belongs to the submission, not to the click: a
 * double click is refused while one is in flight, and a retry after a lost answer (network
 * failure, 5xx, 503) sends the same key so the service applies it once. After a success or a
 * refusal (4xx) the next submission is a new one, with a new key. A break-glass the doctor
 * declined (api/breakGlass.ts) is no failure to show: the form stays as it was.
 */
export function useSubmission(): Submission {
  const { t } = useTranslation();
  const key = useRef<string | null>(null);
  const inFlight = useRef(false);
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [failed, setFailed] = useState<unknown>();

  const reset = useCallback(() => {
    setError(undefined);
    setFieldErrors({});
    setFailed(undefined);
  }, []);

  const submit = useCallback(
    async <T,>(write: (idempotencyKey: string, newKey: () => string) => Promise<T>): Promise<T | undefined> => {
      if (inFlight.current) return undefined;
      inFlight.current = true;
      key.current ??= crypto.randomUUID();
      const newKey = () => (key.current = crypto.randomUUID());
      setSubmitting(true);
      reset();
      try {
        const answer = await write(key.current, newKey);
        key.current = null;
        return answer;
      } catch (failure) {
        if (failure instanceof BreakGlassDeclined) {
          key.current = null; // it was answered (403): the next submission is a new one
          return undefined;
        }
        if (failure instanceof ApiError && failure.status < 500) key.current = null;
        setError(describeError(failure, t));
        setFailed(failure);
        if (failure instanceof ApiError) setFieldErrors(failure.fieldErrors());
        return undefined;
      } finally {
        inFlight.current = false;
        setSubmitting(false);
      }
    },
    [reset, t],
  );

  return { submit, submitting, error, fieldErrors, failure: failed, reset };
}
