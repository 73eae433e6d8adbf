import { randomUUID } from 'node:crypto';
import type { AccessRecord, Actor } from '@medical/contracts';
import type { ServiceContext } from '@medical/platform';
import type { Delivery } from '../db/deliveries.ts';
import type { InteropDatabase } from '../db/schema.ts';

/**
 * A message delivered to another system is a disclosure of the patient's data as much as an
 * answer to a request is: kept in the patient's access log as a read by the system that received
 * it (the subscription's client, the interface engine), under a route that says how it went
 * (`POST /fhir/R4/Subscription/:id/notification`, `MLLP HL7 ADT^A04`). The privacy officer then
 * finds every system a patient's record went to, pushed or pulled.
 */
export async function recordDisclosure(context: ServiceContext<InteropDatabase>, delivery: Delivery, to: { recipient: Actor; method: string; route: string }): Promise<void> {
  if (delivery.reception_id === null || delivery.patient_id === null) return;
  const visit = { receptionId: delivery.reception_id, patientId: delivery.patient_id };
  const record: AccessRecord = {
    id: randomUUID(),
    at: new Date().toISOString(),
    service: context.config.serviceName,
    actor: to.recipient,
    action: 'read',
    method: to.method,
    route: to.route,
    status: 200,
    resources: visit,
    answered: [visit],
    requestId: `delivery-${delivery.id}`,
  };
  try {
    await context.recordAccess(record);
  } catch (error) {
    // Delivered already: the record's loss is logged and counted by the recorder, and said here.
    context.logger.error({ err: error, deliveryId: delivery.id }, 'the access record of a delivered message could not be written');
  }
}
