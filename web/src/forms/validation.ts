import type { TFunction } from 'i18next';
import { attachmentContentTypes } from '../api/types.ts';
import { attachmentMaxBytes, limits } from './limits.ts';

/**
 * Field checks mirroring the contracts: a required text has a non-blank character (pattern `\S`)
 * and a maximum length; an optional one may be empty but, when given, follows the same rules.
 * Each returns the translated message, or undefined when the value is fine.
 */
export function checkText(value: string, options: { required: boolean; max: number }, t: TFunction): string | undefined {
  if (!/\S/.test(value)) return options.required ? t('validation.required') : undefined;
  if (value.length > options.max) return t('validation.tooLong', { max: options.max });
  return undefined;
}

/**
 * A date as the hospital writes it, whatever the browser's locale: YYYY-MM-DD, also typed as eight
 * digits (19870412) or with dots or slashes (1987.4.12, 1987/04/12), as the desk's staff type them.
 * Anything else is left as typed, for checkBirthDate to refuse.
 */
export function normalizeDate(value: string): string {
  const trimmed = value.trim();
  const digits = /^(\d{4})(\d{2})(\d{2})$/.exec(trimmed);
  if (digits) return `${digits[1]}-${digits[2]}-${digits[3]}`;
  const parts = /^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?$/.exec(trimmed);
  if (parts) return `${parts[1]}-${parts[2]!.padStart(2, '0')}-${parts[3]!.padStart(2, '0')}`;
  return trimmed;
}

/** An optional date (format `date`: YYYY-MM-DD, a real calendar day), not after today. */
export function checkBirthDate(value: string, today: string, t: TFunction): string | undefined {
  if (value === '') return undefined;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return t('validation.date');
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return t('validation.date');
  if (value > today) return t('validation.futureDate');
  return undefined;
}

/**
 * An optional telephone number as the registry takes it (PhoneNumber in the contracts): digits, a
 * leading + allowed, spaces and hyphens between them, 7 to 24 characters.
 */
export function checkPhone(value: string, t: TFunction): string | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (trimmed.length < 7 || trimmed.length > limits.phone || !/^\+?[0-9][0-9 -]*[0-9]$/.test(trimmed)) return t('validation.phone');
  return undefined;
}

export function checkAttachment(file: File | null, t: TFunction): string | undefined {
  if (!file) return undefined;
  if (!(attachmentContentTypes as readonly string[]).includes(file.type)) return t('validation.fileType');
  if (file.size > attachmentMaxBytes) return t('validation.fileTooLarge', { max: attachmentMaxBytes / 1024 / 1024 });
  return undefined;
}

/** Values trimmed, blanks left out: the optional fields the API takes only when they say something. */
export function optionalText(value: string): string | undefined {
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

export function hasErrors(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).some((message) => message !== undefined);
}
