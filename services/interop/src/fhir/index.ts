/** The pure mapping of the projection's records to FHIR R4 resources: what the FHIR routes and the subscriptions serve. */
export * from './records.ts';
export * from './codes.ts';
export { departmentConcept, departmentName, examinationConcept, type CatalogNames } from './concepts.ts';
export type * from './resources.ts';
export { referenceTo } from './resources.ts';
export { patientOf } from './patient.ts';
export { encounterOf } from './encounter.ts';
export { serviceRequestOf } from './service-request.ts';
export { taskOf } from './task.ts';
export { resultOf } from './diagnostic-report.ts';
export { searchsetOf, type SearchPage } from './bundle.ts';
// The FHIR API's errors are the contracts' (the gateway's refusals on /fhir take the same form).
export { operationOutcomeOf, outcomeStatuses, type OutcomeCode } from '@medical/contracts';
export { capabilityStatementOf, type CapabilityStatement } from './capability-statement.ts';
