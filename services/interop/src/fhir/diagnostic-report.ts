import { examinationConcept, type CatalogNames } from './concepts.ts';
import type { AttachmentRecord, TaskRecord } from './records.ts';
import { referenceTo, type Attachment, type DiagnosticReport, type Observation } from './resources.ts';

/**
 * A performed examination's result as FHIR's DiagnosticReport and its one Observation, both with
 * the examination's id. An examination not performed has no result: undefined.
 */
export function resultOf(record: TaskRecord, catalog: CatalogNames): { report: DiagnosticReport; observation: Observation } | undefined {
  if (record.status !== 'PERFORMED' || record.result === undefined || record.performedAt === undefined) return undefined;
  const id = String(record.examinationId);
  const common = {
    id,
    meta: { lastUpdated: record.updatedAt },
    basedOn: [referenceTo('ServiceRequest', record.prescriptionId)],
    status: 'final',
    code: examinationConcept(catalog, record.examinationType),
    subject: referenceTo('Patient', record.patientId),
    encounter: referenceTo('Encounter', record.receptionId),
    effectiveDateTime: record.performedAt,
    issued: record.performedAt,
  };
  const observation: Observation = { resourceType: 'Observation', ...common, valueString: record.result };
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    ...common,
    result: [referenceTo('Observation', id)],
    conclusion: record.result,
  };
  if (record.attachments.length > 0) report.presentedForm = record.attachments.map((a) => presentedFormOf(record.examinationId, a));
  return { report, observation };
}

/**
 * An attachment as a link to its download through the gateway. No `hash`: R4's Attachment.hash
 * is the SHA-1 of the data, and the examination service keeps only the SHA-256; a SHA-256 there
 * would be a hash the reader checks and finds wrong.
 */
function presentedFormOf(examinationId: number, attachment: AttachmentRecord): Attachment {
  return {
    contentType: attachment.contentType,
    url: `/examinations/${examinationId}/attachments/${attachment.name}`,
    size: attachment.size,
    title: attachment.filename,
    creation: attachment.uploadedAt,
  };
}
