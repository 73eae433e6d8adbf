import type { Transaction } from 'kysely';
import type { VisitStage } from '@medical/contracts';
import type { Database } from '@medical/platform';
import type { Visit } from '../domain/visit.ts';
import type { PatientManagementDatabase } from '../db/schema.ts';

/**
 * The notice of a changed visit view that the live stream carries: which visit, where it stands
 * now, and when it changed. No patient data: a screen that hears of a change reads what its role
 * may read through the API, so the stream can serve every staff role without widening what any
 * of them sees.
 */
export type VisitChange = { receptionId: number; stage: VisitStage; updatedAt: string };

/** The database notification channel of the visit changes (per service: see Database.notify). */
export const VISIT_CHANGES_CHANNEL = 'visit_changes';

/** Announces `visit` as changed once `trx` commits: to every replica's streams, never for a rolled-back change. */
export async function announceVisitChange(database: Database<PatientManagementDatabase>, trx: Transaction<PatientManagementDatabase>, visit: Visit): Promise<void> {
  const change: VisitChange = { receptionId: visit.receptionId, stage: visit.stage, updatedAt: visit.updatedAt };
  await database.notify(trx, VISIT_CHANGES_CHANNEL, JSON.stringify(change));
}

/** The change a notification carries, or undefined for a payload that is not one (never thrown at a listener). */
export function parseVisitChange(payload: string): VisitChange | undefined {
  try {
    const value = JSON.parse(payload) as Partial<VisitChange>;
    if (typeof value.receptionId === 'number' && typeof value.stage === 'string' && typeof value.updatedAt === 'string') {
      return { receptionId: value.receptionId, stage: value.stage, updatedAt: value.updatedAt };
    }
  } catch {
    // Not JSON: ignored below like any other stranger on the channel.
  }
  return undefined;
}
