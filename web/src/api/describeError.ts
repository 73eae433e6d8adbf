import type { TFunction } from 'i18next';
import { ApiError, NetworkError } from './problem.ts';

/** What to tell staff about a failed call: the server's problem detail, or a translated fallback. */
export function describeError(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) return error.problem?.detail ?? error.problem?.title ?? t('common.error');
  if (error instanceof NetworkError) return t('common.networkError');
  return t('common.error');
}

/** The alert over a list or board whose load failed, or undefined while it has not. */
export function describeLoadFailure(error: unknown, t: TFunction): string | undefined {
  return error ? t('common.loadFailed', { detail: describeError(error, t) }) : undefined;
}
