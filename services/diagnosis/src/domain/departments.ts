import type { Actor } from '@medical/contracts';

/**
 * Departments and who may see which diagnoses (issue 18): a diagnosis belongs to the department of
 * its visit; a doctor sees and acts on the diagnoses of the departments their token names, and on
 * another department's only by breaking the glass (an emergency, with a reason); admin is
 * hospital-wide. Pure rules: the HTTP layer says who asks, the database which department a
 * diagnosis has.
 */

/** The hospital's department list, as these rules need it (the platform's Catalog is one). */
export type DepartmentList = { readonly defaultDepartment: string; has(code: string): boolean; departmentCodeOf(text: string): string | undefined };

/**
 * The department of a visit as ReceptionCompleted names it: a code of the hospital's list; for the
 * free text of the events written before departments were codes ("내과"), the code the catalog's
 * names and aliases say it meant; else (none, or a department the hospital has since removed) the
 * default department.
 */
export function departmentOfVisit(named: string | undefined, list: DepartmentList): string {
  const text = named?.trim();
  if (!text) return list.defaultDepartment;
  if (list.has(text)) return text;
  const meant = list.departmentCodeOf(text);
  return meant !== undefined && list.has(meant) ? meant : list.defaultDepartment;
}

/** The department a diagnosis belongs to: its own, or the default one for a diagnosis registered before departments. */
export function departmentOf(diagnosis: { department?: string | undefined }, defaultDepartment: string): string {
  return diagnosis.department ?? defaultDepartment;
}

/** Whose diagnoses a request may see and act on: every department's, or those of some departments only. */
export type DepartmentScope = { kind: 'hospital' } | { kind: 'departments'; departments: readonly string[] };

/**
 * The scope of a request acted in `role` by someone whose token names `departments`. Only admin is
 * hospital-wide; a doctor, and any other role that ever reaches a diagnosis, sees the departments
 * its token names, and a token that names none sees none (fail closed, never every one).
 */
export function scopeOf(role: Actor['role'] | undefined, departments: readonly string[]): DepartmentScope {
  return role === 'admin' ? { kind: 'hospital' } : { kind: 'departments', departments };
}

export function isWithin(department: string, scope: DepartmentScope): boolean {
  return scope.kind === 'hospital' || scope.departments.includes(department);
}

/**
 * What a request may do with a diagnosis of `department`: work on it (its own department, or
 * hospital-wide), work on it by breaking the glass (outside its departments, with a reason), or
 * nothing. A reason given on a diagnosis within scope is not breaking the glass: nothing of it is
 * recorded.
 */
export type Access = { kind: 'within' } | { kind: 'break-glass'; reason: string } | { kind: 'refused' };

export function accessTo(department: string, scope: DepartmentScope, breakGlassReason: string | undefined): Access {
  if (isWithin(department, scope)) return { kind: 'within' };
  return breakGlassReason === undefined ? { kind: 'refused' } : { kind: 'break-glass', reason: breakGlassReason };
}

/**
 * The departments of the diagnoses a list shows, as a database filter: every one, or those named,
 * with the diagnoses that have none (registered before departments) when the default department
 * is among them.
 */
export type ListedDepartments = { kind: 'every' } | { kind: 'only'; departments: readonly string[]; withoutDepartment: boolean };

export function listedDepartments(scope: DepartmentScope, defaultDepartment: string): ListedDepartments {
  if (scope.kind === 'hospital') return { kind: 'every' };
  return { kind: 'only', departments: scope.departments, withoutDepartment: scope.departments.includes(defaultDepartment) };
}
