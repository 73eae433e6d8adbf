import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Value } from 'typebox/value';
import { aliasKey, defaultHospitalCatalog, HospitalCatalog, type CatalogExamination, type Department } from '@medical/contracts';
import { ConfigError, type Env } from '../lib/env.ts';

/**
 * The hospital's catalog as a process holds it: the departments and the examinations of
 * HOSPITAL_CATALOG_FILE (or the contracts' default catalog), checked at start, and replaced while
 * the process runs when the file changes (reload, watchCatalog) if the new one checks too. Every
 * reader asks it at the moment of use, so a reload reaches every route at once.
 */
export type Catalog = {
  readonly departments: readonly Department[];
  /** The department of a visit registered without one. */
  readonly defaultDepartment: string;
  /** Whether `code` is one of the departments. */
  has(code: string): boolean;
  readonly examinations: readonly CatalogExamination[];
  examination(code: string): CatalogExamination | undefined;
  /** The code an old free text meant (a code, a name in either language, an alias), if the catalog says. */
  departmentCodeOf(text: string): string | undefined;
  examinationCodeOf(text: string): string | undefined;
  /** A short digest of what is in force, to tell two processes' catalogs apart (in the log, the console's settings). */
  readonly version: string;
};

/** The older name of the setting, from when the file held the departments alone: still read, so an upgrade keeps a hospital's list. */
const LEGACY_VARIABLE = 'HOSPITAL_DEPARTMENTS_FILE';
const VARIABLE = 'HOSPITAL_CATALOG_FILE';

/** The file the catalog comes from and the variable that named it, or undefined for the default catalog. */
export function catalogFile(env: Env): { variable: string; file: string } | undefined {
  const file = env[VARIABLE]?.trim();
  const legacy = env[LEGACY_VARIABLE]?.trim();
  if (file && legacy) throw new ConfigError(`${VARIABLE} and ${LEGACY_VARIABLE} are both set: set ${VARIABLE} alone (the older name is read only when it is the one set)`);
  if (file) return { variable: VARIABLE, file };
  if (legacy) return { variable: LEGACY_VARIABLE, file: legacy };
  return undefined;
}

type Contents = Required<HospitalCatalog>;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/**
 * The catalog a text holds, or the first mistake in it: not JSON, not the shape, a code twice, a
 * default department or an examination's department that is not a department, an alias that
 * names two codes. A file without examinations gets the default ones (their departments kept
 * only where the file has them).
 */
export function parseCatalog(text: string): Contents {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  const [first] = Value.Errors(HospitalCatalog, parsed);
  if (first) throw new Error(`${first.instancePath || '(the file)'} ${first.message}`);
  const catalog = parsed as HospitalCatalog;
  const departments = new Set<string>();
  for (const { code } of catalog.departments) {
    if (departments.has(code)) throw new Error(`the department ${code} is listed twice`);
    departments.add(code);
  }
  if (!departments.has(catalog.defaultDepartment)) throw new Error(`defaultDepartment ${catalog.defaultDepartment} is not one of its departments`);
  const examinations: CatalogExamination[] =
    catalog.examinations ??
    defaultHospitalCatalog.examinations.map(({ department, ...examination }): CatalogExamination => (department && departments.has(department) ? { ...examination, department } : examination));
  const codes = new Set<string>();
  for (const examination of examinations) {
    if (codes.has(examination.code)) throw new Error(`the examination ${examination.code} is listed twice`);
    codes.add(examination.code);
    if (examination.department !== undefined && !departments.has(examination.department)) {
      throw new Error(`the examination ${examination.code} names the department ${examination.department}, which is not one of its departments`);
    }
  }
  aliasIndex(catalog.departments, 'department');
  aliasIndex(examinations, 'examination');
  return { departments: catalog.departments, defaultDepartment: catalog.defaultDepartment, examinations };
}

/** Each code, name and alias (as aliasKey has it) to the code it means; one that would mean two codes is a mistake. */
function aliasIndex(entries: ReadonlyArray<{ code: string; name: { ko: string; en: string }; aliases?: readonly string[] }>, kind: string): Map<string, string> {
  const index = new Map<string, string>();
  for (const entry of entries) {
    for (const text of [entry.code, entry.name.ko, entry.name.en, ...(entry.aliases ?? [])]) {
      const key = aliasKey(text);
      const known = index.get(key);
      if (known !== undefined && known !== entry.code) throw new Error(`"${text}" names two ${kind}s, ${known} and ${entry.code}`);
      index.set(key, entry.code);
    }
  }
  return index;
}

/** A catalog that can be replaced while it is read: what loadCatalog hands out. */
export type LiveCatalog = Catalog & {
  /** Where it comes from: the file and its variable, or undefined (the default catalog, which never changes). */
  readonly source: { variable: string; file: string } | undefined;
  /**
   * Reads the file again and puts it in force if it changed and checks. Answers what happened;
   * a file that does not check leaves the catalog in force as it was.
   */
  reload(): { outcome: 'unchanged' | 'applied' } | { outcome: 'refused'; reason: string };
};

/** A catalog in force: its contents, the text they came from, and the lookups read from them once. */
type InForce = {
  contents: Contents;
  text: string;
  version: string;
  departmentCodes: Set<string>;
  examinationsByCode: Map<string, CatalogExamination>;
  departmentAliases: Map<string, string>;
  examinationAliases: Map<string, string>;
};

function inForce(contents: Contents, text: string): InForce {
  return {
    contents,
    text,
    version: digest(text),
    departmentCodes: new Set(contents.departments.map((d) => d.code)),
    examinationsByCode: new Map(contents.examinations.map((e) => [e.code, e])),
    departmentAliases: aliasIndex(contents.departments, 'department'),
    examinationAliases: aliasIndex(contents.examinations, 'examination'),
  };
}

function liveCatalog(source: LiveCatalog['source'], first: { contents: Contents; text: string }): LiveCatalog {
  let current = inForce(first.contents, first.text);
  return {
    source,
    get departments() {
      return current.contents.departments;
    },
    get defaultDepartment() {
      return current.contents.defaultDepartment;
    },
    has: (code) => current.departmentCodes.has(code),
    get examinations() {
      return current.contents.examinations;
    },
    examination: (code) => current.examinationsByCode.get(code),
    departmentCodeOf: (free) => current.departmentAliases.get(aliasKey(free)),
    examinationCodeOf: (free) => current.examinationAliases.get(aliasKey(free)),
    get version() {
      return current.version;
    },
    reload() {
      if (!source) return { outcome: 'unchanged' };
      let next: string;
      try {
        next = fs.readFileSync(source.file, 'utf8');
      } catch (error) {
        return { outcome: 'refused', reason: `${source.file} is not readable (${(error as Error).message})` };
      }
      if (next === current.text) return { outcome: 'unchanged' };
      try {
        current = inForce(parseCatalog(next), next);
        return { outcome: 'applied' };
      } catch (error) {
        return { outcome: 'refused', reason: (error as Error).message };
      }
    },
  };
}

/**
 * The catalog of HOSPITAL_CATALOG_FILE (or, by its older name, HOSPITAL_DEPARTMENTS_FILE), or the
 * contracts' default catalog when neither is set. Checked at start: each mistake a ConfigError
 * naming the variable and the file.
 */
export function loadCatalog(env: Env): LiveCatalog {
  const source = catalogFile(env);
  if (!source) {
    const text = JSON.stringify(defaultHospitalCatalog);
    return liveCatalog(undefined, { contents: defaultHospitalCatalog, text });
  }
  let text: string;
  try {
    text = fs.readFileSync(source.file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${source.variable} ${source.file} is not a readable JSON file (${(error as Error).message})`);
  }
  try {
    return liveCatalog(source, { contents: parseCatalog(text), text });
  } catch (error) {
    const reason = (error as Error).message;
    throw new ConfigError(`${source.variable} ${source.file}: ${reason.startsWith('not JSON') ? `is not a readable JSON file (${reason})` : reason}`);
  }
}
