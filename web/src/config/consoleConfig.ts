import type { Department } from '@medical/contracts/departments';

export type { Department };

/**
 * What the gateway tells the console at `GET /console/config.json` (public, no token): how staff
 * sign in, the hospital's time zone and its departments. Loaded once before anything renders,
 * because the sign-in screen, every date and every department shown depend on it.
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
};

export async function loadConsoleConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /console/config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<Omit<ConsoleConfig, 'departments' | 'defaultDepartment'>> & { departments?: unknown; defaultDepartment?: unknown };
  return {
    authMode: body.authMode === 'oidc' ? 'oidc' : 'dev',
    issuer: body.issuer ?? `${location.origin}/auth`,
    clientId: body.clientId ?? null,
    scope: body.scope ?? 'openid profile',
    // A config without a zone would silently show the browser's zone; the hospital's is the default.
    timeZone: body.timeZone ?? 'Asia/Seoul',
    ...departmentsOf(body),
  };
}

/**
 * The departments of the config, well-formed ones only, and the default among them. An older
 * gateway sends none: an empty list, and the desk registers visits without a department. The
 * gateway checks that its default is one of its departments; should it not be, the first is.
 */
function departmentsOf(body: { departments?: unknown; defaultDepartment?: unknown }): Pick<ConsoleConfig, 'departments' | 'defaultDepartment'> {
  const departments = Array.isArray(body.departments) ? body.departments.filter(isDepartment) : [];
  const listed = departments.some((department) => department.code === body.defaultDepartment);
  return { departments, defaultDepartment: listed ? (body.defaultDepartment as string) : (departments[0]?.code ?? null) };
}

function isDepartment(value: unknown): value is Department {
  if (typeof value !== 'object' || value === null) return false;
  const { code, name } = value as { code?: unknown; name?: { ko?: unknown; en?: unknown } | null };
  return typeof code === 'string' && code !== '' && typeof name === 'object' && name !== null && typeof name.ko === 'string' && typeof name.en === 'string';
}
