import type { CatalogExamination } from '@medical/contracts/catalog';
import type { Department } from '@medical/contracts/departments';

export type { CatalogExamination, Department };

/**
 * What the gateway tells the console at `GET /console/config.json` (public, no token): how staff
 * sign in, the hospital's time zone and its catalog (departments and examinations). Loaded once
 * before anything renders, because the sign-in screen, every date and every department shown
 * depend on it; the catalog part again when a code it does not know turns up (ConfigContext).
 */
export type ConsoleConfig = {
  authMode: 'dev' | 'oidc';
  issuer: string;
  clientId: string | null;
  scope: string;
  timeZone: string;
  /** The departments the desk chooses from (code, Korean and English names); empty from a gateway that predates them. */
  departments: readonly Department[];
  /** The code preselected at the desk (a visit registered without one gets it); null when there are no departments. */
  defaultDepartment: string | null;
  /** The examinations the doctor prescribes from (the code is what is sent); empty from a gateway that predates the catalog. */
  examinations: readonly CatalogExamination[];
  /** The catalog's version, compared when the settings are read again; '' from a gateway that predates it. */
  catalogVersion: string;
  /** The origin a ticket's QR code links to, where patients' phones reach the ticket page (TICKET_BASE_URL); null: this console's. */
  ticketBaseUrl: string | null;
};

/** The part of the settings that changes while the console runs: the gateway rereads its catalog file. */
export type Catalog = Pick<ConsoleConfig, 'departments' | 'defaultDepartment' | 'examinations' | 'catalogVersion'>;

export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /console/config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<Omit<ConsoleConfig, keyof Catalog>> & Record<keyof Catalog, unknown>;
  return {
    authMode: body.authMode === 'oidc' ? 'oidc' : 'dev',
    issuer: body.issuer ?? `${location.origin}/auth`,
    clientId: body.clientId ?? null,
    scope: body.scope ?? 'openid profile',
    // A config without a zone would silently show the browser's zone; the hospital's is the default.
    timeZone: body.timeZone ?? 'Asia/Seoul',
    ticketBaseUrl: typeof body.ticketBaseUrl === 'string' && /^https?:\/\//.test(body.ticketBaseUrl) ? body.ticketBaseUrl : null,
    ...catalogOf(body),
  };
}

/** The catalog of the config, well-formed entries only: what a reload replaces. */
function catalogOf(body: Record<keyof Catalog, unknown>): Catalog {
  return {
    ...departmentsOf(body),
    examinations: Array.isArray(body.examinations) ? body.examinations.filter(isExamination).map(tidyExamination) : [],
    catalogVersion: typeof body.catalogVersion === 'string' ? body.catalogVersion : '',
  };
}

/**
 * The departments of the config, well-formed ones only, and the default among them. An older
 * gateway sends none: an empty list, and the desk registers visits without a department. The
 * gateway checks that its default is one of its departments; should it not be, the first is.
 */
function departmentsOf(body: { departments?: unknown; defaultDepartment?: unknown }): Pick<ConsoleConfig, 'departments' | 'defaultDepartment'> {
  const departments = Array.isArray(body.departments) ? body.departments.filter(isDepartment).map((department) => withAliases(department)) : [];
  const listed = departments.some((department) => department.code === body.defaultDepartment);
  return { departments, defaultDepartment: listed ? (body.defaultDepartment as string) : (departments[0]?.code ?? null) };
}

function isBilingual(value: unknown): value is { ko: string; en: string } {
  if (typeof value !== 'object' || value === null) return false;
  const { ko, en } = value as { ko?: unknown; en?: unknown };
  return typeof ko === 'string' && ko !== '' && typeof en === 'string' && en !== '';
}

function isDepartment(value: unknown): value is Department {
  if (typeof value !== 'object' || value === null) return false;
  const { code, name } = value as { code?: unknown; name?: unknown };
  return typeof code === 'string' && code !== '' && isBilingual(name);
}

function isExamination(value: unknown): value is CatalogExamination {
  if (!isDepartment(value)) return false;
  const { expectedMinutes } = value as { expectedMinutes?: unknown };
  return typeof expectedMinutes === 'number' && Number.isInteger(expectedMinutes) && expectedMinutes > 0;
}

/** The aliases as strings only (they are only searched): a malformed one is dropped, not the entry. */
function withAliases<T extends { aliases?: unknown }>(entry: T): T & { aliases?: string[] } {
  const { aliases, ...rest } = entry;
  const kept = Array.isArray(aliases) ? aliases.filter((alias): alias is string => typeof alias === 'string' && alias.trim() !== '') : [];
  return { ...rest, ...(kept.length > 0 ? { aliases: kept } : {}) } as T & { aliases?: string[] };
}

/** An examination's optional parts kept only when well-formed: default instructions without both languages are none. */
function tidyExamination(examination: CatalogExamination): CatalogExamination {
  const { defaultInstructions, ...rest } = withAliases(examination);
  return isBilingual(defaultInstructions) ? { ...rest, defaultInstructions } : rest;
}
