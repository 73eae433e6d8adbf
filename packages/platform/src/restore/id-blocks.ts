import { serialOfPatientNumber } from '@medical/contracts';

/**
 * Ids after a restore. A restore to a point in time rewinds each service's id sequence to where it
 * stood then, but the ids handed out after that point may live on outside the database: in the
 * event log, in the answers staff already have on screen or on paper, in other systems. Handing
 * one out again would name two visits with one number. So after a restore every sequence moves
 * on to a fresh block: past the highest id known (the restored sequence, every id the event log
 * carries) by at least `gap` more, rounded up to a multiple of `gap`. Ids the event log never saw
 * (answers given while the broker was away, whose events died with the database) are covered as
 * long as fewer than `gap` of them were handed out in the lost interval; the round number says,
 * to whoever reads the ids later, where the restore was.
 */

/** The default margin: a month of a large outpatient clinic's visits, more than any lost interval could hand out. */
export const DEFAULT_RESTORE_ID_GAP = 100_000;

/** The first id a sequence hands out after a restore, given the highest id known to have been used. */
export function firstIdAfterRestore(highestKnown: number, gap: number = DEFAULT_RESTORE_ID_GAP): number {
  if (!Number.isSafeInteger(highestKnown) || highestKnown < 0) throw new RangeError(`not an id: ${highestKnown}`);
  if (!Number.isSafeInteger(gap) || gap < 1) throw new RangeError(`the id gap must be a positive integer, got ${gap}`);
  return Math.ceil((highestKnown + gap) / gap) * gap + 1;
}

/** The id field of the events for each id sequence (ServiceDefinition.idSequences). */
export const ID_FIELD_OF_SEQUENCE: Readonly<Record<string, string>> = {
  receptions: 'receptionId',
  diagnoses: 'diagnosisId',
  examinations: 'examinationId',
  // A patient number carries its serial (contracts' patients.ts); the visits' events carry the number.
  patients: 'patientId',
};

/** The sequence value an id field holds: the number itself, or the serial of a patient number. */
function sequenceValueOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  return typeof value === 'string' ? serialOfPatientNumber(value) : undefined;
}

/** The highest value of each id field in the events' data; an event that is not JSON adds nothing. */
export function highestIdsIn(values: Iterable<string>, fields: readonly string[]): Map<string, number> {
  const highest = new Map<string, number>(fields.map((field) => [field, 0]));
  for (const value of values) {
    let data: unknown;
    try {
      data = JSON.parse(value);
    } catch {
      continue;
    }
    if (typeof data !== 'object' || data === null) continue;
    for (const field of fields) {
      const id = sequenceValueOf((data as Record<string, unknown>)[field]);
      if (id !== undefined && id > highest.get(field)!) highest.set(field, id);
    }
  }
  return highest;
}
