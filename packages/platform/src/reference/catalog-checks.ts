import { validationProblem } from '../http/problem.ts';
import type { Catalog } from './catalog.ts';

/** The most codes a refusal lists: enough to show the form, few enough for a catalog of thousands. */
const LISTED_CODES = 20;

function listOf(codes: readonly string[]): string {
  return codes.length <= LISTED_CODES ? codes.join(', ') : `${codes.slice(0, LISTED_CODES).join(', ')} and ${codes.length - LISTED_CODES} more`;
}

/** The visit's department: one of the catalog's (else a 400 naming the field), the default one when none is given. */
export function departmentInCatalog(catalog: Catalog, given: string | undefined, field = 'department'): string {
  const department = given ?? catalog.defaultDepartment;
  if (catalog.has(department)) return department;
  const known = listOf(catalog.departments.map((d) => d.code));
  throw validationProblem('the body is invalid', [{ field, in: 'body', message: `must be one of the hospital's departments: ${known}` }]);
}

/** An examination's code: one of the catalog's, else a 400 naming the field (and, for an old free text, the code it meant). */
export function examinationInCatalog(catalog: Catalog, code: string, field = 'examinationType'): string {
  if (catalog.examination(code)) return code;
  const meant = catalog.examinationCodeOf(code);
  const hint = meant !== undefined ? `; "${code}" is ${meant}` : `: ${listOf(catalog.examinations.map((e) => e.code))}`;
  throw validationProblem('the body is invalid', [{ field, in: 'body', message: `must be the code of one of the hospital's examinations${hint}` }]);
}
