import { Type } from 'typebox';

/** Ids of receptions, diagnoses and examinations are positive integers (DESIGN.md section 6). */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const Uuid = Type.String({ format: 'uuid' });
export const Timestamp = Type.String({ format: 'date-time' });
export const PatientId = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' });
export const PatientName = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const BirthDate = Type.String({ format: 'date' });
export const ShortText = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
export const ClinicalText = Type.String({ minLength: 1, maxLength: 10_000, pattern: '\\S' });
export const ExaminationType = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
