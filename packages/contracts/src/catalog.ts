import { Type, type Static } from 'typebox';
import { Aliases, BilingualName, defaultHospitalDepartments, DepartmentCode, Department } from './departments.ts';

/**
 * The hospital's catalog: its departments (departments.ts) and the examinations its doctors may
 * prescribe, each with a code every system shares. A prescription's `examinationType` is such a
 * code; the FHIR `ServiceRequest.code` and the HL7 v2 `OBR-4` carry its LOINC code where it has
 * one, and the waiting times per stage read its expected duration. The hospital keeps it in a
 * file (HOSPITAL_CATALOG_FILE, a ConfigMap in Kubernetes) and edits it without a restart.
 */

const EXAMINATION_CODE_PATTERN = '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$';
const EXAMINATION_CODE_MAX = 40;
/** An examination's code: upper-case words joined by underscores (`CHEST_XRAY`). */
export const ExaminationCode = Type.String({ pattern: EXAMINATION_CODE_PATTERN, maxLength: EXAMINATION_CODE_MAX });
const examinationCode = new RegExp(EXAMINATION_CODE_PATTERN);

/** Whether `value` is a well-formed examination code (not whether the hospital has it). */
export function isExaminationCode(value: unknown): value is string {
  return typeof value === 'string' && value.length <= EXAMINATION_CODE_MAX && examinationCode.test(value);
}

/** DICOM's modality codes for the examinations that make images or tracings; a laboratory test has none. */
export const modalities = ['CR', 'DX', 'CT', 'MR', 'US', 'NM', 'MG', 'XA', 'ECG', 'ES'] as const;

export const CatalogExamination = Type.Object(
  {
    code: ExaminationCode,
    name: BilingualName,
    /** The department whose staff perform it (a code of the catalog's departments), if one does. */
    department: Type.Optional(DepartmentCode),
    /** The DICOM modality of an imaging or tracing examination. */
    modality: Type.Optional(Type.Enum(modalities)),
    /** Its LOINC code, where one applies (`36643-5`, XR Chest 2 Views). */
    loinc: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}-[0-9]$' })),
    /** What the doctor's prescription says unless the doctor writes otherwise. */
    defaultInstructions: Type.Optional(BilingualName),
    /** How long it usually takes, in minutes, from the patient's call to its result. */
    expectedMinutes: Type.Integer({ minimum: 1, maximum: 1440 }),
    aliases: Type.Optional(Aliases),
  },
  { additionalProperties: false },
);
export type CatalogExamination = Static<typeof CatalogExamination>;

/** The catalog file: the departments, the default one, and the examinations (the default list when absent). */
export const HospitalCatalog = Type.Object(
  {
    departments: Type.Array(Department, { minItems: 1, maxItems: 500 }),
    defaultDepartment: DepartmentCode,
    examinations: Type.Optional(Type.Array(CatalogExamination, { minItems: 1, maxItems: 5000 })),
  },
  { additionalProperties: false },
);
export type HospitalCatalog = Static<typeof HospitalCatalog>;

/** The examinations a hospital starts with, until it configures its own. */
export const defaultExaminations: CatalogExamination[] = [
  { code: 'CBC', name: { ko: '일반혈액검사', en: 'Complete blood count' }, department: 'laboratory-medicine', loinc: '58410-2', expectedMinutes: 30, aliases: ['혈액검사', 'blood test', 'Complete blood count'] },
  { code: 'HBA1C', name: { ko: '당화혈색소', en: 'Hemoglobin A1c' }, department: 'laboratory-medicine', loinc: '4548-4', expectedMinutes: 30, aliases: ['A1c', 'HbA1c'] },
  {
    code: 'CMP',
    name: { ko: '종합대사검사', en: 'Comprehensive metabolic panel' },
    department: 'laboratory-medicine',
    loinc: '24323-8',
    defaultInstructions: { ko: '8시간 이상 금식', en: 'Fasting for at least 8 hours' },
    expectedMinutes: 60,
    aliases: ['생화학검사', 'chemistry'],
  },
  { code: 'URINALYSIS', name: { ko: '소변검사', en: 'Urinalysis' }, department: 'laboratory-medicine', loinc: '24356-8', expectedMinutes: 20, aliases: ['Urine', 'UA', '요검사'] },
  {
    code: 'CHEST_XRAY',
    name: { ko: '흉부 X선 (2방향)', en: 'Chest X-ray, 2 views' },
    department: 'radiology',
    modality: 'DX',
    loinc: '36643-5',
    defaultInstructions: { ko: '금속류 제거', en: 'Remove metal objects' },
    expectedMinutes: 15,
    aliases: ['X-ray', 'X-RAY', 'Chest X-ray', 'CXR', '흉부 X선', '엑스레이'],
  },
  { code: 'CT_HEAD', name: { ko: '두부 CT', en: 'CT head' }, department: 'radiology', modality: 'CT', loinc: '24725-4', expectedMinutes: 20, aliases: ['CT', 'Brain CT', '뇌 CT'] },
  {
    code: 'MRI_BRAIN',
    name: { ko: '뇌 MRI', en: 'MRI brain' },
    department: 'radiology',
    modality: 'MR',
    loinc: '24590-2',
    defaultInstructions: { ko: '금속류 제거, 폐소공포증 여부 확인', en: 'Remove metal objects; ask about claustrophobia' },
    expectedMinutes: 45,
    aliases: ['MRI', 'Brain MRI'],
  },
  {
    code: 'ABDOMEN_US',
    name: { ko: '복부 초음파', en: 'Abdominal ultrasound' },
    department: 'radiology',
    modality: 'US',
    defaultInstructions: { ko: '8시간 이상 금식', en: 'Fasting for at least 8 hours' },
    expectedMinutes: 30,
    aliases: ['Abdominal US', '복부초음파'],
  },
  { code: 'ECG', name: { ko: '심전도 (12유도)', en: 'ECG, 12-lead' }, department: 'cardiology', modality: 'ECG', loinc: '11524-6', expectedMinutes: 15, aliases: ['EKG', '심전도'] },
];

/** The catalog a hospital starts with: the default departments and examinations. */
export const defaultHospitalCatalog: Required<HospitalCatalog> = { ...defaultHospitalDepartments, examinations: defaultExaminations };

/**
 * A text as aliases are matched: Unicode NFC, lower case, spaces and hyphens dropped ("X-ray",
 * "x ray" and "XRAY" are one).
 */
export function aliasKey(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/[\s\-_]+/g, '');
}
