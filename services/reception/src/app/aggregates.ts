import type { Transaction } from 'kysely';
import type { Aggregate, ServiceContext } from '@medical/platform';
import { patientDecider, type Patient, type PatientCommand, type PatientEvent } from '../domain/patient.ts';
import { isPublished, receptionDecider, type Command, type DomainEvent, type Reception } from '../domain/reception.ts';
import { loadPatient, savePatient } from '../db/patients.ts';
import { loadReception, saveReception } from '../db/repository.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

/** The service's two aggregates as the command pipeline runs them (platform service/command-pipeline.ts). */

export type Context = ServiceContext<ReceptionDatabase>;
export type Trx = Transaction<ReceptionDatabase>;

/** A reception: the visit, published by its reception id. */
export const receptions: Aggregate<Reception, Command, DomainEvent, Trx> = {
  name: 'reception',
  decider: receptionDecider,
  isPublished,
  load: loadReception,
  save: saveReception,
  subject: (reception) => reception.id,
  aggregateId: (reception) => reception.id,
  auditNames: {
    RegisterReception: 'reception.register',
    CancelReception: 'reception.cancel',
    ConfirmReception: 'reception.confirm',
    RecordDiagnosisCompleted: 'reception.recordDiagnosisCompleted',
    RecordDiagnosisRejected: 'reception.recordDiagnosisRejected',
    MovePatient: 'reception.movePatient',
  },
};

/** A patient of the registry as the command pipeline runs it: by patient number, publishing nothing, about no one visit. */
export const patients: Aggregate<Patient, PatientCommand, PatientEvent, Trx, string> = {
  name: 'patient',
  decider: patientDecider,
  isPublished: () => false,
  load: loadPatient,
  save: savePatient,
  subject: () => undefined,
  aggregateId: (patient) => patient.patientId,
  auditNames: {
    RegisterPatient: 'patient.register',
    CarryOverPatient: 'patient.carryOver',
    CorrectPatient: 'patient.correct',
    MergeInto: 'patient.merge',
    AbsorbDuplicate: 'patient.absorbDuplicate',
  },
};
