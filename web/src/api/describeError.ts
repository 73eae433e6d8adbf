import type { TFunction } from 'i18next';
import { ApiError, NetworkError } from './problem.ts';

/** What to tell staff about a failed call: the server's problem detail, or a translated fallback. */
export function describeError(error: unknown, t: TFunction): string {
  if (error instanceof ApiError) return error.problem?.detail ?? error.problem?.title ?? t('common.error');
  if (error instanceof NetworkError) return t('common.networkError');
  return t('common.error');
}
