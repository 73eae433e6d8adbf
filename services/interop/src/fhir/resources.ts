/**
 * The parts of FHIR R4's resources this service writes, typed just enough that a field misspelt
 * fails the type check (the tests validate every resource against the R4 definitions themselves).
 * Hand-written rather than @medplum/fhirtypes: a few dozen lines, and no dependency at run time.
 */

export type Coding = { system?: string; code?: string; display?: string };
export type CodeableConcept = { coding?: Coding[]; text?: string };
export type Identifier = { system?: string; value?: string };
export type Reference = { reference?: string; type?: string; display?: string };
export type Period = { start?: string; end?: string };
export type Annotation = { text: string };

export type Attachment = { contentType?: string; url?: string; size?: number; title?: string; creation?: string };

export type Resource = { resourceType: string; id?: string; meta?: { lastUpdated?: string } };

export type Patient = Resource & {
  resourceType: 'Patient';
  identifier?: Identifier[];
  active?: boolean;
  name?: { text?: string; family?: string; given?: string[] }[];
  gender?: 'female' | 'male' | 'other' | 'unknown';
  birthDate?: string;
  link?: { other: Reference; type: 'replaced-by' | 'replaces' | 'refer' | 'seealso' }[];
};

export type Encounter = Resource & {
  resourceType: 'Encounter';
  identifier?: Identifier[];
  status: string;
  class: Coding;
  serviceType?: CodeableConcept;
  subject?: Reference;
  participant?: { type?: CodeableConcept[]; individual?: Reference }[];
  period?: Period;
};

export type ServiceRequest = Resource & {
  resourceType: 'ServiceRequest';
  status: string;
  intent: string;
  code?: CodeableConcept;
  subject: Reference;
  encounter?: Reference;
  authoredOn?: string;
  requester?: Reference;
  note?: Annotation[];
};

export type Task = Resource & {
  resourceType: 'Task';
  status: string;
  statusReason?: CodeableConcept;
  businessStatus?: CodeableConcept;
  intent: string;
  code?: CodeableConcept;
  focus?: Reference;
  for?: Reference;
  encounter?: Reference;
  authoredOn?: string;
  lastModified?: string;
  owner?: Reference;
  executionPeriod?: Period;
};

export type Observation = Resource & {
  resourceType: 'Observation';
  basedOn?: Reference[];
  status: string;
  code: CodeableConcept;
  subject?: Reference;
  encounter?: Reference;
  effectiveDateTime?: string;
  issued?: string;
  valueString?: string;
};

export type DiagnosticReport = Resource & {
  resourceType: 'DiagnosticReport';
  basedOn?: Reference[];
  status: string;
  code: CodeableConcept;
  subject?: Reference;
  encounter?: Reference;
  effectiveDateTime?: string;
  issued?: string;
  performer?: Reference[];
  result?: Reference[];
  conclusion?: string;
  presentedForm?: Attachment[];
};

export type BundleEntry = { fullUrl?: string; resource?: Resource; search?: { mode?: 'match' | 'include' | 'outcome' } };
export type Bundle = Resource & {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link?: { relation: string; url: string }[];
  entry?: BundleEntry[];
};

export type { OperationOutcome } from '@medical/contracts';

/** A reference to a resource of this server, by its type and id. */
export function referenceTo(resourceType: string, id: string | number, display?: string): Reference {
  return display === undefined ? { reference: `${resourceType}/${id}` } : { reference: `${resourceType}/${id}`, display };
}
