import { queueStateDisplay, systems, taskStatusOf } from './codes.ts';
import { departmentName, examinationConcept, type CatalogNames } from './concepts.ts';
import type { TaskRecord } from './records.ts';
import { referenceTo, type Task } from './resources.ts';

/**
 * An examination as FHIR's Task (the filler's work on the doctor's ServiceRequest, as the
 * Clinical Order Workflows pattern has it), its id the examination id. Its owner is the
 * performing department's examiners, named, since they are not a resource of this server.
 */
export function taskOf(record: TaskRecord, catalog: CatalogNames): Task {
  const task: Task = {
    resourceType: 'Task',
    id: String(record.examinationId),
    meta: { lastUpdated: record.updatedAt },
    status: taskStatusOf(record.status, record.queueState),
    intent: 'order',
    code: examinationConcept(catalog, record.examinationType),
    focus: referenceTo('ServiceRequest', record.prescriptionId),
    for: referenceTo('Patient', record.patientId),
    encounter: referenceTo('Encounter', record.receptionId),
    authoredOn: record.requestedAt,
    lastModified: record.updatedAt,
  };
  if (record.department !== undefined) task.owner = { type: 'Organization', display: departmentName(catalog, record.department) };
  // The queue matters only while the examination waits: once done or cancelled, the status says it all.
  if (record.queueState !== undefined && record.status === 'REQUESTED') {
    task.businessStatus = {
      coding: [{ system: systems.queueState, code: record.queueState, display: queueStateDisplay[record.queueState] }],
      text: queueStateDisplay[record.queueState],
    };
  }
  if (record.status === 'CANCELLED' && record.cancelReason !== undefined) task.statusReason = { text: record.cancelReason };
  if (record.performedAt !== undefined) task.executionPeriod = { end: record.performedAt };
  return task;
}
