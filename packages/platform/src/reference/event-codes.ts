import type { Catalog } from './catalog.ts';

/**
 * How a projection of the events reads the codes in them (patient-management's view, interop's
 * FHIR resources): old events carry the free text of before the catalog's codes, and a visit
 * registered without a department belongs to the default one, as the diagnosis service reads it.
 */

/** A registration's department as a code: the code itself, the code its old free text stood for, else the default department. */
export function visitDepartmentCode(catalog: Catalog, given: string | undefined): string {
  const text = given?.trim() || undefined;
  if (text === undefined) return catalog.defaultDepartment;
  if (catalog.has(text)) return text;
  return catalog.departmentCodeOf(text) ?? catalog.defaultDepartment;
}

/** An examination type as a code: the code itself, or the code its old free text stood for; text the catalog does not know stays as it is. */
export function examinationTypeCode(catalog: Catalog, examinationType: string): string {
  if (catalog.examination(examinationType)) return examinationType;
  return catalog.examinationCodeOf(examinationType) ?? examinationType;
}
