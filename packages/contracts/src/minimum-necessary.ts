import type { Role } from './actor.ts';
import type { ReceptionView, VisitView } from './api.ts';

/**
 * Minimum necessary: each role sees the clinical texts its work needs, and no more. The clinical
 * texts are the examination results, the doctor's opinion and reject reason; the roles that read
 * them are the clinicians' (doctor, examiner) and admin, which may do everything. A caller holding
 * one of them sees every text, whatever role the route is acted in.
 */
export const clinicalRoles: readonly Role[] = ['doctor', 'examiner', 'admin'];

const readsClinicalTexts = (roles: readonly Role[]) => roles.some((role) => clinicalRoles.includes(role));

/**
 * A reception as a caller holding `roles` may see it: the desk sees the doctor's outcome
 * (`diagnosisOutcome`), which it confirms, but not the opinion or the reject reason.
 */
export function receptionSeenBy(roles: readonly Role[], reception: ReceptionView): ReceptionView {
  if (readsClinicalTexts(roles)) return reception;
  const { diagnosisOpinion: _opinion, diagnosisRejectReason: _reason, ...seen } = reception;
  return seen;
}

/** A visit as a caller holding `roles` may see it: the manager sees where each examination stands, not its result. */
export function visitSeenBy(roles: readonly Role[], visit: VisitView): VisitView {
  if (readsClinicalTexts(roles)) return visit;
  return { ...visit, examinations: visit.examinations.map(({ result: _result, ...examination }) => examination) };
}
