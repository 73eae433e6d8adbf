import { nameKeyOf, phoneDigitsOf, type PatientSex, type PatientStatus } from '@medical/contracts';
import { accept as acceptEvents, compact, refuse as refuseWith, type Decider, type Decision, type Refusal } from '@medical/platform';

/**
 * A patient of the registry, as a pure decider: registered once, and, when found to be a second
 * registration of someone already registered, merged into that patient. Nothing here leaves the
 * service as an event: the registry's changes are audited, and what other services keep of a
 * patient travels with the visits (ReceptionCompleted, ReceptionPatientMerged).
 */

export type Patient = {
  patientId: string;
  name: string;
  birthDate?: string;
  sex: PatientSex;
  phone?: string;
  status: PatientStatus;
  mergedInto?: string;
  possibleDuplicates: string[];
  createdAt: string;
  updatedAt: string;
};

export type PatientCommand =
  | {
      type: 'RegisterPatient';
      patientId: string;
      name: string;
      birthDate: string;
      sex: PatientSex;
      phone?: string;
      /** The look-alikes the desk saw and declared other people (lookalikesOf). */
      possibleDuplicates: string[];
      now: string;
    }
  /** A patient id from before the registry, sent by a client of the previous release (RegistrySettings.carryOverUnregistered). */
  | { type: 'CarryOverPatient'; patientId: string; name: string; birthDate?: string; now: string }
  /** The desk corrects what the registry has: the fields given replace it; `phone: null` removes the phone. */
  | { type: 'CorrectPatient'; changes: { name?: string; birthDate?: string; sex?: PatientSex; phone?: string | null }; now: string }
  /** Sent to the duplicate: it becomes a pointer to `survivor`. */
  | { type: 'MergeInto'; survivor: Patient; now: string }
  /** Sent to the patient kept: the duplicate is no longer one to review. */
  | { type: 'AbsorbDuplicate'; mergedPatientId: string; now: string };

type Stamped<E> = E & { at: string };

export type PatientEvent = Stamped<
  | { type: 'PatientRegistered'; data: Omit<Patient, 'status' | 'mergedInto' | 'createdAt' | 'updatedAt'> }
  | { type: 'PatientCorrected'; data: { patientId: string; changes: { name?: string; birthDate?: string; sex?: PatientSex; phone?: string | null } } }
  | { type: 'PatientMerged'; data: { patientId: string; mergedInto: string } }
  | { type: 'DuplicateAbsorbed'; data: { patientId: string; mergedPatientId: string } }
>;

const accept = (...events: PatientEvent[]): Decision<PatientEvent> => acceptEvents(...events);
const refuse = (kind: Refusal['kind'], message: string): Decision<PatientEvent> => refuseWith(kind, message);

export function decidePatient(command: PatientCommand, state: Patient | null): Decision<PatientEvent> {
  if (command.type === 'RegisterPatient') {
    if (state) return refuse('conflict', `patient ${state.patientId} already exists`);
    const { type: _type, now, ...patient } = command;
    return accept({ type: 'PatientRegistered', data: compact(patient), at: now });
  }
  if (command.type === 'CarryOverPatient') {
    if (state) return refuse('conflict', `patient ${state.patientId} already exists`);
    const { patientId, name, birthDate, now } = command;
    return accept({ type: 'PatientRegistered', data: compact({ patientId, name, birthDate, sex: 'unknown' as const, possibleDuplicates: [] }), at: now });
  }
  if (!state) return refuse('invalid', 'unknown patient');
  switch (command.type) {
    case 'CorrectPatient': {
      if (state.status === 'MERGED') return refuse('conflict', `patient ${state.patientId} was merged into ${state.mergedInto}: correct that patient`);
      const changes = Object.fromEntries(Object.entries(command.changes).filter(([field, value]) => value !== undefined && (state as Record<string, unknown>)[field] !== (value ?? undefined)));
      if (Object.keys(changes).length === 0) return accept();
      return accept({ type: 'PatientCorrected', data: { patientId: state.patientId, changes }, at: command.now });
    }
    case 'MergeInto': {
      const { survivor } = command;
      if (survivor.patientId === state.patientId) return refuse('invalid', `patient ${state.patientId} cannot be merged into itself`);
      if (state.status === 'MERGED') return refuse('conflict', `patient ${state.patientId} was already merged into ${state.mergedInto}`);
      if (survivor.status === 'MERGED') {
        return refuse('conflict', `patient ${survivor.patientId} was itself merged into ${survivor.mergedInto}: merge into that patient`);
      }
      return accept({ type: 'PatientMerged', data: { patientId: state.patientId, mergedInto: survivor.patientId }, at: command.now });
    }
    case 'AbsorbDuplicate':
      if (!state.possibleDuplicates.includes(command.mergedPatientId)) return accept();
      return accept({ type: 'DuplicateAbsorbed', data: { patientId: state.patientId, mergedPatientId: command.mergedPatientId }, at: command.now });
  }
}

export function evolvePatient(state: Patient | null, event: PatientEvent): Patient | null {
  if (event.type === 'PatientRegistered') return { ...event.data, status: 'ACTIVE', createdAt: event.at, updatedAt: event.at };
  if (!state) throw new Error(`cannot apply ${event.type} to a patient that does not exist`);
  switch (event.type) {
    case 'PatientCorrected': {
      const { phone, ...rest } = event.data.changes;
      const { phone: _previous, ...kept } = state;
      const withPhone = phone === undefined ? (state.phone !== undefined ? { phone: state.phone } : {}) : phone === null ? {} : { phone };
      return { ...kept, ...rest, ...withPhone, updatedAt: event.at };
    }
    case 'PatientMerged':
      return { ...state, status: 'MERGED', mergedInto: event.data.mergedInto, possibleDuplicates: [], updatedAt: event.at };
    case 'DuplicateAbsorbed':
      return { ...state, possibleDuplicates: state.possibleDuplicates.filter((id) => id !== event.data.mergedPatientId), updatedAt: event.at };
  }
}

export const patientDecider: Decider<Patient, PatientCommand, PatientEvent> = { decide: decidePatient, evolve: evolvePatient, initialState: () => null };

/** What a registration says about the person, as the look-alike rule compares it. */
export type Person = { name: string; birthDate?: string; phone?: string };

/**
 * The registered patients a new registration may be a second record of: the same name (as the
 * registry compares names: nameKeyOf) and birth date, or the same phone and either the same name
 * or the same birth date. A shared phone alone is a family; a shared name alone, a common name.
 * Merged patients are pointers, never candidates.
 */
export function lookalikesOf<P extends Patient>(person: Person, registered: readonly P[]): P[] {
  const name = nameKeyOf(person.name);
  const phone = person.phone === undefined ? undefined : phoneDigitsOf(person.phone);
  return registered.filter((patient) => {
    if (patient.status !== 'ACTIVE') return false;
    const sameName = nameKeyOf(patient.name) === name;
    const sameBirthDate = person.birthDate !== undefined && patient.birthDate === person.birthDate;
    const samePhone = phone !== undefined && phone !== '' && patient.phone !== undefined && phoneDigitsOf(patient.phone) === phone;
    return (sameName && sameBirthDate) || (samePhone && (sameName || sameBirthDate));
  });
}
