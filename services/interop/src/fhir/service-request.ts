import { serviceRequestStatusOf } from './codes.ts';
import { examinationConcept, type CatalogNames } from './concepts.ts';
import type { ServiceRequestRecord } from './records.ts';
import { referenceTo, type ServiceRequest } from './resources.ts';

/** A prescription as FHIR's ServiceRequest (the order the doctor placed), its id the prescription's UUID. */
export function serviceRequestOf(record: ServiceRequestRecord, catalog: CatalogNames): ServiceRequest {
  const request: ServiceRequest = {
    resourceType: 'ServiceRequest',
    id: record.prescriptionId,
    meta: { lastUpdated: record.updatedAt },
    status: serviceRequestStatusOf[record.status],
    intent: 'order',
    code: examinationConcept(catalog, record.examinationType),
    subject: referenceTo('Patient', record.patientId),
    encounter: referenceTo('Encounter', record.receptionId),
    authoredOn: record.prescribedAt,
  };
  if (record.doctor !== undefined) request.requester = { type: 'Practitioner', display: record.doctor.name ?? record.doctor.subject };
  if (record.instructions !== undefined) request.note = [{ text: record.instructions }];
  return request;
}
