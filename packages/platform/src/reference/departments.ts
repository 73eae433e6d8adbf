import fs from 'node:fs';
import { Value } from 'typebox/value';
import { defaultHospitalDepartments, HospitalDepartments, type Department } from '@medical/contracts';
import { ConfigError, type Env } from '../lib/env.ts';

/** The hospital's departments, as a service checks a visit's department against them. */
export type DepartmentCatalog = {
  readonly departments: readonly Department[];
  /** The department of a visit registered without one. */
  readonly defaultDepartment: string;
  has(code: string): boolean;
};

function catalogOf(list: HospitalDepartments): DepartmentCatalog {
  const codes = new Set(list.departments.map((department) => department.code));
  return { departments: list.departments, defaultDepartment: list.defaultDepartment, has: (code) => codes.has(code) };
}

/**
 * The departments of HOSPITAL_DEPARTMENTS_FILE (a JSON file: `{ departments: [{ code, name: { ko,
 * en } }], defaultDepartment }`), or the contracts' default list when it is not set. Checked at
 * start, each mistake a ConfigError naming the variable: unreadable, not JSON, not that shape, a
 * code twice, or a default that is not among the departments.
 */
export function loadDepartments(env: Env): DepartmentCatalog {
  const file = env.HOSPITAL_DEPARTMENTS_FILE?.trim();
  if (!file) return catalogOf(defaultHospitalDepartments);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`HOSPITAL_DEPARTMENTS_FILE ${file} is not a readable JSON file (${(error as Error).message})`);
  }
  const [first] = Value.Errors(HospitalDepartments, parsed);
  if (first) throw new ConfigError(`HOSPITAL_DEPARTMENTS_FILE ${file}: ${first.instancePath || '(the file)'} ${first.message}`);
  const list = parsed as HospitalDepartments;
  const seen = new Set<string>();
  for (const { code } of list.departments) {
    if (seen.has(code)) throw new ConfigError(`HOSPITAL_DEPARTMENTS_FILE ${file}: the department ${code} is listed twice`);
    seen.add(code);
  }
  if (!seen.has(list.defaultDepartment)) throw new ConfigError(`HOSPITAL_DEPARTMENTS_FILE ${file}: defaultDepartment ${list.defaultDepartment} is not one of its departments`);
  return catalogOf(list);
}
