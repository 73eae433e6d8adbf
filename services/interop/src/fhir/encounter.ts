import { encounterStatusOf, systems } from './codes.ts';
import { departmentConcept, type CatalogNames } from './concepts.ts';
import type { EncounterRecord } from './records.ts';
import { referenceTo, type Encounter } from './resources.ts';

/** A visit as FHIR's Encounter, its id the reception id: an ambulatory encounter in its department. */
export function encounterOf(record: EncounterRecord, catalog: CatalogNames): Encounter {
  const status = encounterStatusOf(record);
  const encounter: Encounter = {
    resourceType: 'Encounter',
    id: String(record.receptionId),
    meta: { lastUpdated: record.updatedAt },
    status,
    class: { system: systems.actCode, code: 'AMB', display: 'ambulatory' },
    subject: referenceTo('Patient', record.patientId),
    period: { start: record.receivedAt },
  };
  const queueNumber = queueIdentifierOf(record);
  if (queueNumber !== undefined) encounter.identifier = [{ system: systems.queueNumber, value: queueNumber }];
  if (record.department !== undefined) encounter.serviceType = departmentConcept(catalog, record.department);
  if (record.doctor !== undefined) {
    encounter.participant = [
      {
        type: [{ coding: [{ system: systems.participationType, code: 'ATND', display: 'attender' }] }],
        individual: { type: 'Practitioner', display: record.doctor.name ?? record.doctor.subject },
      },
    ];
  }
  // The end only once it ended: an open visit's period is open.
  if ((status === 'finished' || status === 'cancelled') && record.endedAt !== undefined) encounter.period = { start: record.receivedAt, end: record.endedAt };
  return encounter;
}

/** The visit's queue number as staff say it, `<day>/<department>/<n>`: unique, as a number is per department per day. */
function queueIdentifierOf(record: EncounterRecord): string | undefined {
  if (record.queueNumber === undefined || record.queueDay === undefined || record.department === undefined) return undefined;
  return `${record.queueDay}/${record.department}/${record.queueNumber}`;
}
