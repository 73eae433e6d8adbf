import type { CatalogExamination, Department } from '@medical/contracts';
import { systems } from './codes.ts';
import type { CodeableConcept, Coding } from './resources.ts';

/**
 * What the mapping reads of the hospital's catalog: the platform's live `Catalog` and the
 * contracts' `defaultHospitalCatalog` both are one. Passed in, so the mapping stays pure and a
 * catalog reloaded while running names the next resource at once.
 */
export type CatalogNames = {
  readonly departments: readonly Department[];
  readonly examinations: readonly CatalogExamination[];
};

/** A department as a concept: its code and Korean name, or, for the free text of before the codes, the text alone. */
export function departmentConcept(catalog: CatalogNames, department: string): CodeableConcept {
  const known = catalog.departments.find((d) => d.code === department);
  if (known === undefined) return { text: department };
  return { coding: [{ system: systems.department, code: known.code, display: known.name.ko }], text: known.name.ko };
}

/** The display name of a department: its Korean name, else what the record holds. */
export function departmentName(catalog: CatalogNames, department: string): string {
  return catalog.departments.find((d) => d.code === department)?.name.ko ?? department;
}

/**
 * An examination as a concept: the catalog's code and name, and its LOINC code where the catalog
 * gives one, so a laboratory or radiology system matches the order by the code it knows. An
 * examination type the catalog does not have (free text of before the codes) is the text alone.
 */
export function examinationConcept(catalog: CatalogNames, examinationType: string): CodeableConcept {
  const known = catalog.examinations.find((e) => e.code === examinationType);
  if (known === undefined) return { text: examinationType };
  const coding: Coding[] = [{ system: systems.examination, code: known.code, display: known.name.ko }];
  // No display: LOINC's own display names are LOINC's, not the catalog's English name.
  if (known.loinc !== undefined) coding.push({ system: systems.loinc, code: known.loinc });
  return { coding, text: known.name.ko };
}
