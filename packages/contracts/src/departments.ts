import { Type, type Static } from 'typebox';

/**
 * The hospital's departments: a code every system shares (lower-case words joined by hyphens:
 * `internal-medicine`), and its names in Korean and English for people. A visit belongs to one;
 * doctors work in theirs (their token's departments claim), and the queue numbers, waiting times
 * and the FHIR and HL7 feeds name a visit's department by its code.
 */
const DEPARTMENT_CODE_PATTERN = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const DEPARTMENT_CODE_MAX = 40;
export const DepartmentCode = Type.String({ pattern: DEPARTMENT_CODE_PATTERN, maxLength: DEPARTMENT_CODE_MAX });
export type DepartmentCode = Static<typeof DepartmentCode>;

const departmentCode = new RegExp(DEPARTMENT_CODE_PATTERN);

/** Whether `value` is a well-formed department code, by DepartmentCode's rule (not whether the hospital has it). */
export function isDepartmentCode(value: unknown): value is string {
  return typeof value === 'string' && value.length <= DEPARTMENT_CODE_MAX && departmentCode.test(value);
}

/** A name for people, in Korean and in English. */
export const BilingualName = Type.Object(
  { ko: Type.String({ minLength: 1, maxLength: 100 }), en: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

/**
 * What staff wrote by hand before the codes existed ("내과", "IM", "X-RAY"): each alias names the
 * one code it meant, so `npm run catalog:migrate` can rewrite the old free text to codes.
 */
export const Aliases = Type.Array(Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }), { maxItems: 50 });

/**
 * When a department's waiting room needs someone's attention: more patients waiting than
 * `waiting`, or the median wait today from registration to the first call above
 * `medianWaitMinutes`. The read model exports both as gauges beside the figures, and an alert
 * rule compares them (deploy/monitoring). Unset: DEFAULT_QUEUE_LIMITS.
 */
export const QueueLimits = Type.Object(
  { waiting: Type.Integer({ minimum: 1, maximum: 10_000 }), medianWaitMinutes: Type.Integer({ minimum: 1, maximum: 1440 }) },
  { additionalProperties: false },
);
export type QueueLimits = Static<typeof QueueLimits>;
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { waiting: 30, medianWaitMinutes: 60 };

export const Department = Type.Object(
  { code: DepartmentCode, name: BilingualName, aliases: Type.Optional(Aliases), queueLimits: Type.Optional(QueueLimits) },
  { additionalProperties: false },
);
export type Department = Static<typeof Department>;

/** The hospital's list, as the configuration file holds it: the departments, and the one a visit registered without one belongs to. */
export const HospitalDepartments = Type.Object(
  { departments: Type.Array(Department, { minItems: 1, maxItems: 500 }), defaultDepartment: DepartmentCode },
  { additionalProperties: false },
);
export type HospitalDepartments = Static<typeof HospitalDepartments>;

/** The departments a hospital starts with, until it configures its own (HOSPITAL_DEPARTMENTS_FILE). */
export const defaultHospitalDepartments: HospitalDepartments = {
  departments: [
    { code: 'internal-medicine', name: { ko: '내과', en: 'Internal medicine' } },
    { code: 'surgery', name: { ko: '외과', en: 'Surgery' } },
    { code: 'orthopedics', name: { ko: '정형외과', en: 'Orthopedics' } },
    { code: 'family-medicine', name: { ko: '가정의학과', en: 'Family medicine' } },
    { code: 'pediatrics', name: { ko: '소아청소년과', en: 'Pediatrics' } },
    { code: 'cardiology', name: { ko: '순환기내과', en: 'Cardiology' } },
    // The departments that perform examinations, whose waiting rooms call patients of every other.
    { code: 'radiology', name: { ko: '영상의학과', en: 'Radiology' } },
    { code: 'laboratory-medicine', name: { ko: '진단검사의학과', en: 'Laboratory medicine' } },
  ],
  defaultDepartment: 'internal-medicine',
};
