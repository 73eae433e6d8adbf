import type { Role } from './actor.ts';

/**
 * SMART on FHIR scopes (SMART App Launch 1 and 2), as this system grants them to the hospital's
 * other systems on the FHIR API (`/fhir/R4`). A system signs in with OAuth 2 client credentials
 * and acts in the role `integration`; its token's scopes then say which resource types it may
 * read and write. Only the `system/` context is granted: `user/` and `patient/` scopes are for
 * an app acting for a person or a patient, which this API does not launch, so they are parsed
 * but grant nothing, like any scope that is no SMART scope (`openid`, `offline_access`).
 *
 *   v1: system/Encounter.read · system/Subscription.write · system/*.read · system/*.*
 *   v2: system/Encounter.rs · system/Task.cruds · system/*.r  (c create, r read, u update,
 *       d delete, s search; a non-empty selection, in that order)
 *
 * v1's `read` is v2's `rs`, `write` is `cud`, `*` is `cruds`, as SMART 2 defines them.
 *
 * A v2 scope narrowed by search parameters (`system/Observation.rs?category=laboratory`) is
 * refused, not widened: it grants nothing here (this API does not enforce the parameters, and the
 * scope without them would grant more than was asked), and the development identity provider
 * answers `invalid_scope` to a client asking for one.
 */

/** The interactions of a SMART 2 scope, in the order its permissions are spelled. */
export const scopeInteractions = ['c', 'r', 'u', 'd', 's'] as const;
export type ScopeInteraction = (typeof scopeInteractions)[number];

/** What a route of the FHIR API needs: `read` is SMART 2's `r` and `s`, `write` its `c`, `u` and `d`. */
export type ScopeAccess = 'read' | 'write';

export type SmartScope = {
  context: 'system' | 'user' | 'patient';
  /** A FHIR resource type (`Encounter`), or `*` for every type. */
  resourceType: string;
  /** What the scope grants on it, in SMART 2's order. */
  interactions: readonly ScopeInteraction[];
};

const accessInteractions: Record<ScopeAccess, readonly ScopeInteraction[]> = { read: ['r', 's'], write: ['c', 'u', 'd'] };

const v1Permissions: Record<string, readonly ScopeInteraction[]> = { read: accessInteractions.read, write: accessInteractions.write, '*': scopeInteractions };

/** context/Type.permissions; a FHIR resource type is a capital letter then letters (FHIR's `[A-Z][A-Za-z]*`). */
const scopePattern = /^(system|user|patient)\/(\*|[A-Z][A-Za-z]{0,63})\.([a-z*]{1,5})$/;

/** SMART 2's permissions: each letter of `cruds` at most once, in that order. */
const v2Permissions = /^c?r?u?d?s?$/;

/** A SMART scope (v1 or v2), or undefined for anything else: another kind of scope, a v2 scope with `?` parameters, a malformed one. */
export function parseSmartScope(scope: string): SmartScope | undefined {
  const match = scopePattern.exec(scope);
  if (!match) return undefined;
  const context = match[1] as SmartScope['context'];
  const resourceType = match[2]!;
  const permissions = match[3]!;
  const v1 = Object.hasOwn(v1Permissions, permissions) ? v1Permissions[permissions] : undefined;
  if (v1) return { context, resourceType, interactions: v1 };
  if (!v2Permissions.test(permissions)) return undefined;
  return { context, resourceType, interactions: scopeInteractions.filter((letter) => permissions.includes(letter)) };
}

/** The system scopes among `scopes`, parsed; every other scope grants nothing. */
function systemScopes(scopes: readonly string[]): SmartScope[] {
  return scopes.map(parseSmartScope).filter((scope): scope is SmartScope => scope?.context === 'system');
}

/** Whether `scopes` grant one interaction on a resource type: a system scope of the type, or of `*`, that includes it. */
export function scopeGrants(scopes: readonly string[], resourceType: string, interaction: ScopeInteraction): boolean {
  return systemScopes(scopes).some(
    (scope) => (scope.resourceType === '*' || scope.resourceType === resourceType) && scope.interactions.includes(interaction),
  );
}

/**
 * Whether `scopes` permit reading (read and search) or writing (create, update and delete) a
 * resource type: every interaction of the access, so `system/Encounter.r` alone does not permit
 * `read` (it does not search). A route that is one interaction asks scopeGrants instead.
 */
export function scopePermits(scopes: readonly string[], resourceType: string, access: ScopeAccess): boolean {
  return accessInteractions[access].every((interaction) => scopeGrants(scopes, resourceType, interaction));
}

/**
 * Whether a scope a client asks for is within the scopes it is allowed: a system scope each of
 * whose interactions the allowed scopes grant, on its type or, for `*`, on every type (so
 * `system/*.read` is within `system/*.*`, not within a list of types). How a token endpoint
 * decides `invalid_scope` (RFC 6749 §5.2) for a client whose allowed scopes are a list.
 */
export function scopeWithin(requested: string, allowed: readonly string[]): boolean {
  const scope = parseSmartScope(requested);
  if (scope?.context !== 'system') return false;
  const granting = scope.resourceType === '*' ? systemScopes(allowed).filter((s) => s.resourceType === '*') : systemScopes(allowed);
  return scope.interactions.every((interaction) =>
    granting.some((s) => (s.resourceType === '*' || s.resourceType === scope.resourceType) && s.interactions.includes(interaction)),
  );
}

/** Every interaction on every resource type. */
export const allSystemScopes = 'system/*.*';

/**
 * The FHIR API's scopes of a caller, from the roles its token grants and the scopes it carries:
 *
 * | role | FHIR scopes | why |
 * |---|---|---|
 * | integration | exactly the token's system scopes | another system: the provider granted its client these scopes |
 * | admin | `system/*.*` | admin may already do everything on the API |
 * | receptionist, doctor, examiner, manager, auditor, display | none | staff use the console; the FHIR API is for systems |
 *
 * A caller holding several roles gets the union. The token's scopes count only with the role
 * `integration`: a scope claim on a member of staff's token (some providers add their own) opens
 * nothing.
 */
export function fhirScopesFor(roles: readonly Role[], tokenScopes: readonly string[]): string[] {
  const granted = new Set<string>();
  if (roles.includes('admin')) granted.add(allSystemScopes);
  if (roles.includes('integration')) for (const scope of tokenScopes) if (parseSmartScope(scope)?.context === 'system') granted.add(scope);
  return [...granted];
}

/**
 * What the development identity provider's demo client `demo-integration` may ask for: reading
 * the workflow's resources, and reading and writing its own Subscriptions (rest-hook
 * notifications). Binary, the attachments' files themselves, is not among them: a system that
 * needs the files is given that scope by its own client.
 */
export const demoIntegrationScopes: readonly string[] = [
  'system/Patient.read',
  'system/Encounter.read',
  'system/ServiceRequest.read',
  'system/Task.read',
  'system/DiagnosticReport.read',
  'system/Observation.read',
  'system/Subscription.read',
  'system/Subscription.write',
];
