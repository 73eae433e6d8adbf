/** The FHIR API's errors are the contracts' (the gateway's refusals on /fhir take the same form). */
export { operationOutcomeOf, outcomeStatuses, type OutcomeCode } from '@medical/contracts';
