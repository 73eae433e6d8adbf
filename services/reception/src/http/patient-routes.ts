import { CorrectPatientBody, MergePatientBody, Page, Patient, PatientId, PatientQuery, ProblemDetails, RegisterPatientBody } from '@medical/contracts';
import { notFound, recordAnswered, requestOrigin, type App, type ServiceContext } from '@medical/platform';
import { Type } from 'typebox';
import { correctPatient, mergePatients, PossibleDuplicates, registerPatient } from '../app/patients.ts';
import { loadPatient, searchPatients } from '../db/patients.ts';
import type { ReceptionDatabase } from '../db/schema.ts';

const tags = ['patients'];
const PatientParams = Type.Object({ patientId: PatientId }, { additionalProperties: false });

/**
 * The patient registry: the desk searches first and registers a patient once. Every answer is
 * access-logged by the patients it shows (the service's answeredVisit names a patient by its number).
 */
export function patientRoutes(app: App, context: ServiceContext<ReceptionDatabase>): void {
  const db = context.database.db;

  app.post(
    '/patients',
    {
      schema: {
        tags,
        summary: 'Register a patient',
        description: 'A patient who looks like one already registered (same name and birth date, or same phone and either) is a 409 with the `candidates`, unless `notADuplicate` is sent.',
        body: RegisterPatientBody,
        response: { 201: Patient, 400: ProblemDetails, 409: ProblemDetails },
      },
    },
    async (request, reply) => {
      try {
        const patient = await registerPatient(context, requestOrigin(request), request.body);
        return reply.code(201).header('location', `/patients/${encodeURIComponent(patient.patientId)}`).send(patient);
      } catch (error) {
        // The refusal shows the look-alikes: the access log names them as read.
        if (error instanceof PossibleDuplicates) recordAnswered(request, error.candidates.map((candidate) => ({ patientId: candidate.patientId })));
        throw error;
      }
    },
  );

  app.get(
    '/patients',
    { schema: { tags, summary: 'Search the registry', querystring: PatientQuery, response: { 200: Page(Patient), 400: ProblemDetails } } },
    async (request) => searchPatients(db, request.query),
  );

  app.get(
    '/patients/:patientId',
    { schema: { tags, summary: 'One patient (a merged one names the patient kept: mergedInto)', params: PatientParams, response: { 200: Patient, 400: ProblemDetails, 404: ProblemDetails } } },
    async (request) => {
      const patient = await loadPatient(db, request.params.patientId);
      if (!patient) throw notFound('patient', request.params.patientId);
      return patient;
    },
  );

  app.patch(
    '/patients/:patientId',
    {
      schema: {
        tags,
        summary: 'Correct what the registry has of a patient',
        description: 'The fields sent replace the registry\'s (`phone: null` removes it). Visits already registered keep the name and birth date they were registered with.',
        params: PatientParams,
        body: CorrectPatientBody,
        response: { 200: Patient, 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails },
      },
    },
    async (request) => correctPatient(context, requestOrigin(request), request.params.patientId, request.body),
  );

  app.post(
    '/patients/:patientId/merge',
    {
      schema: {
        tags,
        summary: 'Merge a second registration of this patient into them',
        description: "The duplicate (mergedPatientId) becomes a pointer to this patient, and each of its visits becomes this patient's (ReceptionPatientMerged). Nothing is deleted.",
        params: PatientParams,
        body: MergePatientBody,
        response: { 200: Patient, 400: ProblemDetails, 404: ProblemDetails, 409: ProblemDetails },
      },
    },
    async (request) => mergePatients(context, requestOrigin(request), request.params.patientId, request.body.mergedPatientId),
  );
}
