import { isIssuedPatientNumber, nameKeyOf, type CreateReceptionRequest } from '@medical/contracts';
import { departmentInCatalog, executeCommand, executeStep, hospitalDayOf, validationProblem, type CommandOrigin, type EmitEvents } from '@medical/platform';
import type { Patient } from '../domain/patient.ts';
import type { Command, Reception } from '../domain/reception.ts';
import { loadPatient } from '../db/patients.ts';
import { nextQueueNumber } from '../db/queue-counters.ts';
import type { RegistrySettings } from '../registry-settings.ts';
import { patients, receptions, type Context, type Trx } from './aggregates.ts';
import { newTicket } from './tickets.ts';

const now = () => new Date().toISOString();

/**
 * Registers a visit for a patient of the registry, with the registry's name and birth date, in a
 * department of the catalog (its default one when none is named), with the next number of that
 * department's queue on the hospital day and a ticket for the patient's phone. The patient is
 * locked until the visit commits, so a merge of that patient waits and then moves it. `clock` is
 * the registration's time, a test's to set.
 */
export const registerReception = (context: Context, origin: CommandOrigin, request: CreateReceptionRequest, settings: RegistrySettings, clock = now): Promise<Reception> =>
  context.execute(async (trx, emit) => {
    const department = departmentInCatalog(context.config.catalog, request.department);
    const at = clock();
    const found = (await loadPatient(trx, request.patientId)) ?? (await carriedOver(trx, emit, origin, request, settings, at));
    const patient = registeredPatient(found, request);
    const { patientName: _name, birthDate: _birthDate, ...visit } = request;
    const birthDate = patient.birthDate ?? request.birthDate;
    const receptionId = await context.database.nextId(trx, 'receptions');
    const queueDay = hospitalDayOf(at, context.config.timeZone);
    const command: Command = {
      type: 'RegisterReception',
      receptionId,
      ...visit,
      patientId: patient.patientId,
      patientName: patient.name,
      ...(birthDate !== undefined ? { birthDate } : {}),
      ...(patient.sex !== undefined ? { sex: patient.sex } : {}),
      department,
      // Last before the decision: the department's other registrations wait on its counter until this commits.
      queueNumber: await nextQueueNumber(trx, department, queueDay),
      queueDay,
      ...newTicket(),
      now: at,
    };
    const reception = await executeStep(trx, emit, receptions, null, command, origin);
    if (reception === null) throw new Error('the registration left no reception');
    return reception;
  });

/**
 * The patient of a registration sent the way clients did before the registry (an id of the desk's
 * own and a name), carried into the registry where the setting allows it (RegistrySettings); null
 * otherwise, and the registration is refused as for any patient the registry does not have.
 */
async function carriedOver(trx: Trx, emit: EmitEvents, origin: CommandOrigin, request: CreateReceptionRequest, settings: RegistrySettings, now: string): Promise<Patient | null> {
  if (!settings.carryOverUnregistered || request.patientName === undefined || /^[0-9]{8}$/.test(request.patientId)) return null;
  const { patientId, patientName: name, birthDate } = request;
  return executeStep(trx, emit, patients, null, { type: 'CarryOverPatient', patientId, name, ...(birthDate !== undefined ? { birthDate } : {}), now }, origin);
}

const refusedField = (field: string, message: string) => validationProblem('the body is invalid', [{ field, in: 'body', message }]);

/**
 * The registry's patient a visit is registered for, or a 400 naming the field: a number that is
 * none (with a word when its check digit shows a typing slip), a merged patient (register the
 * visit for the one kept), or a name or birth date the desk sent that is not the registry's, which
 * would mean the desk has the wrong patient in front of it.
 */
function registeredPatient(patient: Patient | null, request: CreateReceptionRequest): Patient {
  const { patientId } = request;
  if (!patient) {
    const slip = /^[0-9]{8}$/.test(patientId) && !isIssuedPatientNumber(patientId);
    throw refusedField('patientId', slip ? 'is not a patient number: its check digit does not match, so a digit is wrong' : 'is not a patient of the registry: register the patient first (POST /patients)');
  }
  if (patient.status === 'MERGED') throw refusedField('patientId', `was merged into patient ${patient.mergedInto}: register the visit for that patient`);
  if (request.patientName !== undefined && nameKeyOf(request.patientName) !== nameKeyOf(patient.name)) {
    throw refusedField('patientName', `is not the name the registry has for patient ${patientId}`);
  }
  if (request.birthDate !== undefined && patient.birthDate !== undefined && request.birthDate !== patient.birthDate) {
    throw refusedField('birthDate', `is not the birth date the registry has for patient ${patientId}`);
  }
  return patient;
}

export const cancelReception = (context: Context, origin: CommandOrigin, id: number, reason?: string) =>
  executeCommand(context, receptions, origin, id, { type: 'CancelReception', ...(reason ? { reason } : {}), now: now() });

export const confirmReception = (context: Context, origin: CommandOrigin, id: number) =>
  executeCommand(context, receptions, origin, id, { type: 'ConfirmReception', now: now() });
