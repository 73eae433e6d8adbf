import { HttpProblem, executeCommand, executeCreation, executeStep, notFound, validationProblem, type CommandOrigin } from '@medical/platform';
import { patientNumberOf, POSSIBLE_DUPLICATE_PROBLEM, type CorrectPatientRequest, type RegisterPatientRequest } from '@medical/contracts';
import { lookalikesOf, type Patient, type PatientCommand } from '../domain/patient.ts';
import { holdLookalikes, loadPatient, patientsLike, visitsOfPatient } from '../db/patients.ts';
import { loadReception } from '../db/repository.ts';
import { patients, receptions, type Context, type Trx } from './aggregates.ts';

/** The 409 of a registration that looks like patients already registered: they travel with it, for the desk to compare. */
export class PossibleDuplicates extends HttpProblem {
  readonly candidates: readonly Patient[];
  constructor(candidates: readonly Patient[]) {
    super({
      status: 409,
      title: 'Conflict',
      type: POSSIBLE_DUPLICATE_PROBLEM,
      detail: `this looks like ${candidates.length === 1 ? 'a patient' : `${candidates.length} patients`} already registered: use ${candidates.length === 1 ? 'that record' : 'one of them'}, or, if this is someone else, register again with notADuplicate`,
      extensions: { candidates },
    });
    this.candidates = candidates;
  }
}

/**
 * The next patient number: the id sequence's next serial with its check digit, past any carried
 * over from before the registry that happens to have the same eight digits.
 */
async function nextPatientNumber(context: Context, trx: Trx): Promise<string> {
  for (;;) {
    const number = patientNumberOf(await context.database.nextId(trx, 'patients'));
    if ((await trx.selectFrom('patients').select('patient_id').where('patient_id', '=', number).executeTakeFirst()) === undefined) return number;
  }
}

const now = () => new Date().toISOString();

/** Registers a patient, refusing one that looks like a patient already registered unless the desk said it is someone else. */
export const registerPatient = (context: Context, origin: CommandOrigin, request: RegisterPatientRequest): Promise<Patient> =>
  executeCreation(context, patients, origin, async (trx): Promise<PatientCommand> => {
    const { notADuplicate, ...person } = request;
    await holdLookalikes(trx, person);
    const lookalikes = lookalikesOf(person, await patientsLike(trx, person));
    if (lookalikes.length > 0 && notADuplicate !== true) throw new PossibleDuplicates(lookalikes);
    return {
      type: 'RegisterPatient',
      patientId: await nextPatientNumber(context, trx),
      ...person,
      possibleDuplicates: lookalikes.map((patient) => patient.patientId),
      now: now(),
    };
  });

/** Corrects what the registry has of a patient (a 404 for no such patient, a 409 for a merged one). */
export const correctPatient = (context: Context, origin: CommandOrigin, patientId: string, changes: CorrectPatientRequest): Promise<Patient> =>
  executeCommand(context, patients, origin, patientId, { type: 'CorrectPatient', changes, now: now() });

/** Both patients of a merge, locked in one order (the smaller number first), so two merges of the same pair cannot deadlock. */
async function lockPair(trx: Trx, keptId: string, mergedId: string): Promise<{ kept: Patient; merged: Patient }> {
  const locked = new Map<string, Patient | null>();
  for (const id of [keptId, mergedId].sort()) locked.set(id, await loadPatient(trx, id));
  const kept = locked.get(keptId);
  const merged = locked.get(mergedId);
  if (!kept) throw notFound('patient', keptId);
  if (!merged) throw validationProblem('the body is invalid', [{ field: 'mergedPatientId', in: 'body', message: `patient ${mergedId} does not exist` }]);
  return { kept, merged };
}

/**
 * Merges the patient `mergedId`, a second registration of the patient `keptId`, into them, in one
 * transaction: the duplicate becomes a pointer to the patient kept (its number is never handed out
 * again), and each of its visits becomes the kept patient's (ReceptionPatientMerged, so every
 * service that keeps the visit's patient follows). Nothing is deleted: the visits, their history
 * and the duplicate's record stay, and the audit trail names who merged whom.
 */
export function mergePatients(context: Context, origin: CommandOrigin, keptId: string, mergedId: string): Promise<Patient> {
  if (keptId === mergedId) {
    return Promise.reject(validationProblem('the body is invalid', [{ field: 'mergedPatientId', in: 'body', message: 'is the patient of the path: a patient cannot be merged into itself' }]));
  }
  return context.execute(async (trx, emit) => {
    const { kept, merged } = await lockPair(trx, keptId, mergedId);
    const at = now();
    await executeStep(trx, emit, patients, merged, { type: 'MergeInto', survivor: kept, now: at }, origin);
    const result = (await executeStep(trx, emit, patients, kept, { type: 'AbsorbDuplicate', mergedPatientId: mergedId, now: at }, origin)) ?? kept;
    for (const receptionId of await visitsOfPatient(trx, mergedId)) {
      const visit = await loadReception(trx, receptionId);
      const move = { type: 'MovePatient' as const, patientId: kept.patientId, patientName: kept.name, ...(kept.birthDate !== undefined ? { birthDate: kept.birthDate } : {}), ...(kept.sex !== undefined ? { sex: kept.sex } : {}), now: at };
      await executeStep(trx, emit, receptions, visit, move, origin);
    }
    return result;
  });
}
