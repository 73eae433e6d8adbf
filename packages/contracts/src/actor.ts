import { Type, type Static } from 'typebox';

/**
 * The roles of the system, each with what it may do (permissions.ts): the staff's; `display`, a
 * waiting room's call screen, which reads its department's queue and nothing else; and
 * `integration`, another of the hospital's systems (the EHR, a laboratory's or radiology's)
 * acting through the API with its own client credentials, not a person. What such a system may
 * read and write of the FHIR API is further narrowed by its token's scopes (smart-scopes.ts).
 */
export const roles = ['receptionist', 'doctor', 'examiner', 'manager', 'auditor', 'admin', 'display', 'integration'] as const;
export type Role = (typeof roles)[number];
/**
 * An actor's role: a staff role, `system` for a service acting by itself, or `anonymous` for a
 * request that reached a command without an authenticated person (see `anonymousActor`).
 */
export const actorRoles = [...roles, 'system', 'anonymous'] as const;

/**
 * Who did something: the person a verified token names (its subject, display name and the role
 * that allowed the action), or the system itself for what a service does on its own in reaction
 * to an event. Recorded in the audit trail of the service that acted and carried in the events
 * a command emits, so the visit's timeline says who did each step.
 */
export const Actor = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: 255 }),
    name: Type.Optional(Type.String({ maxLength: 255 })),
    role: Type.Enum(actorRoles),
  },
  { additionalProperties: false },
);
export type Actor = Static<typeof Actor>;

/** The actor of what a service does by itself (an event's reaction, a compensation). */
export const systemActor = (service: string): Actor => ({ subject: `service:${service}`, name: service, role: 'system' });

/**
 * The actor of a command whose request carries no authenticated person: what the audit trail and
 * the events record while authentication is not enabled. A placeholder that says so, never a
 * made-up member of staff.
 */
export const anonymousActor: Actor = { subject: 'anonymous', name: 'Unauthenticated request', role: 'anonymous' };
