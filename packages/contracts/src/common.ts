import { Type } from 'typebox';

/** Ids of receptions, diagnoses and examinations are positive integers (DESIGN.md section 6). */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const Uuid = Type.String({ format: 'uuid' });
export const Timestamp = Type.String({ format: 'date-time' });
export const PatientId = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' });
export const PatientName = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const BirthDate = Type.String({ format: 'date' });
export const ShortText = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
/** The longest clinical text (an opinion, a result, a reason), in code points as the schema validator counts them. */
export const CLINICAL_TEXT_MAX = 10_000;
export const ClinicalText = Type.String({ minLength: 1, maxLength: CLINICAL_TEXT_MAX, pattern: '\\S' });

/**
 * A text cut to CLINICAL_TEXT_MAX code points: for a text the system composes itself (a
 * compensation's reason quotes the reception's, after a prefix), which would otherwise exceed the
 * limit, be refused by the outbox and have its compensation dead-lettered.
 */
export function fitClinicalText(text: string): string {
  if (text.length <= CLINICAL_TEXT_MAX) return text; // UTF-16 length is never below the code point count
  return Array.from(text).slice(0, CLINICAL_TEXT_MAX).join('');
}
export const ExaminationType = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
