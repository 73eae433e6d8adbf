import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { EventDataOf } from '@medical/contracts';
import type { ServiceContext } from '@medical/platform';
import { MllpError, orderMessage, registrationMessage, resultMessage, sendOverMllp, type MessageMeta } from '../hl7/index.ts';
import type { Hl7Config } from '../config.ts';
import { loadPatient } from '../db/visit-records.ts';
import { enqueueDelivery } from '../db/deliveries.ts';
import type { InteropDatabase } from '../db/schema.ts';
import type { Channel, DeliveryOutcome } from './delivery-worker.ts';
import { recordDisclosure } from './disclosures.ts';
import type { ChangeFollower, ProjectedChange } from './projection.ts';

type Context = ServiceContext<InteropDatabase>;

const DESTINATION = 'hl7';
const HL7_CONTENT_TYPE = 'x-application/hl7-v2+er7';

/**
 * MSH-10 of the message an event causes: the same for every delivery of that event (a resend is
 * recognisably a resend), 20 characters as HL7 v2.5.1's ST allows.
 */
export function controlIdOf(eventId: string, kind: string): string {
  return createHash('sha256').update(`${eventId}:${kind}`).digest('base64url').slice(0, 20);
}

/** The events the interface engine is told of, each as the message of messageOf below. */
const MESSAGE_EVENTS: ReadonlySet<string> = new Set(['ReceptionCompleted', 'ExaminationRequested', 'ExaminationCancelled', 'ExaminationPerformed']);

/** The message an event is for the interface engine, if any, and what it is about (for the log). */
async function messageOf(trx: Transaction<InteropDatabase>, change: ProjectedChange, context: Context, parties: Hl7Config['parties']): Promise<{ body: string; about: string } | undefined> {
  const { event, visit } = change;
  const meta = (kind: string): MessageMeta => ({ parties, controlId: controlIdOf(event.id, kind), timestamp: event.time });
  const catalog = context.config.catalog;
  // Most events (calls, a diagnosis registered, a confirmation) are no message: no patient is read for them.
  if (!MESSAGE_EVENTS.has(event.type)) return undefined;
  const patient = await loadPatient(trx, visit.encounter.patientId);
  if (patient === undefined) return undefined;
  switch (event.type) {
    case 'ReceptionCompleted':
      return { body: registrationMessage(patient, visit.encounter, meta('ADT^A04')), about: `ADT^A04 visit ${visit.encounter.receptionId}` };
    // The order once its examination exists: the laboratory answers with the examination's id (OBR-3).
    case 'ExaminationRequested':
    case 'ExaminationCancelled': {
      const { examinationId, prescriptionId } = event.data as EventDataOf<'ExaminationRequested'>;
      const request = visit.requests.find((r) => r.prescriptionId === prescriptionId);
      if (request === undefined || !change.tasks.some((t) => t.examinationId === examinationId)) return undefined;
      const kind = event.type === 'ExaminationRequested' ? 'ORM^O01 NW' : 'ORM^O01 CA';
      return { body: orderMessage(request, patient, visit.encounter, catalog, meta(kind), examinationId), about: `${kind} examination ${examinationId}` };
    }
    case 'ExaminationPerformed': {
      const { examinationId } = event.data as EventDataOf<'ExaminationPerformed'>;
      const task = change.tasks.find((t) => t.examinationId === examinationId);
      const request = task && visit.requests.find((r) => r.prescriptionId === task.prescriptionId);
      if (task === undefined || request === undefined) return undefined;
      return { body: resultMessage(task, request, patient, visit.encounter, catalog, meta('ORU^R01')), about: `ORU^R01 examination ${examinationId}` };
    }
    default:
      return undefined;
  }
}

/**
 * Queues the HL7 v2 message of each event the interface engine is told of (a registration
 * ADT^A04, an order ORM^O01 and its cancellation, a result ORU^R01) in the event's transaction:
 * sent in the order they happened, each until the engine acknowledges it.
 */
export function hl7Feed(context: Context, parties: Hl7Config['parties'], wake: () => void): ChangeFollower {
  return async (trx, change) => {
    const message = await messageOf(trx, change, context, parties);
    if (message === undefined) return;
    const visit = { receptionId: change.visit.encounter.receptionId, patientId: change.visit.encounter.patientId };
    await enqueueDelivery(trx, { destination: DESTINATION, body: message.body, contentType: HL7_CONTENT_TYPE, about: message.about, visit }, new Date().toISOString());
    context.afterCommit(trx, wake);
  };
}

/**
 * The interface engine over MLLP: AA takes the message; AE (it could not apply it now) is sent
 * again; AR (it refuses the message as it is) is sent again a few times, then set aside.
 */
export function hl7Channel(context: Context, outbound: NonNullable<Hl7Config['outbound']>, parties: Hl7Config['parties']): Channel {
  // The engine, as the access log names the receiver of what was sent to it.
  const engine = { subject: `hl7:${parties.receivingApplication}@${parties.receivingFacility}`, name: 'HL7 interface engine', role: 'integration' as const };
  return {
    name: 'hl7',
    owns: (destination) => destination === DESTINATION,
    async send(delivery): Promise<DeliveryOutcome> {
      try {
        const ack = await sendOverMllp(outbound, delivery.body);
        if (ack.code === 'AA' || ack.code === 'CA') return { kind: 'delivered' };
        const error = `the engine answered ${ack.code}${ack.text ? `: ${ack.text}` : ''}`;
        return ack.code === 'AR' || ack.code === 'CR' ? { kind: 'refused', error } : { kind: 'retry', error };
      } catch (error) {
        return { kind: 'retry', error: error instanceof MllpError ? error.message : `MLLP: ${(error as Error).message}` };
      }
    },
    async after(delivery, outcome) {
      if (outcome.kind !== 'delivered') return;
      await recordDisclosure(context, delivery, { recipient: engine, method: 'MLLP', route: `HL7 ${delivery.about.split(' ')[0]}` });
    },
  };
}
