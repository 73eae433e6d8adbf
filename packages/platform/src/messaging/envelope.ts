import { randomUUID } from 'node:crypto';
import { eventProducers, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import type { TransportMessage } from './transport.ts';

/**
 * CloudEvents 1.0 in binary content mode: context attributes as `ce_*` headers, the event data
 * as the JSON value. The same encoding is used on Kafka and in the embedded log.
 */
export function toCloudEvent(event: MedicalEvent, subject: string, traceparent?: string): CloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    type: event.type,
    source: eventProducers[event.type],
    time: new Date().toISOString(),
    subject,
    datacontenttype: 'application/json',
    ...(traceparent ? { traceparent } : {}),
    data: event.data,
  } as CloudEvent;
}

export function encodeCloudEvent(topic: string, event: CloudEvent): TransportMessage {
  const headers: Record<string, string> = {
    ce_specversion: event.specversion,
    ce_id: event.id,
    ce_type: event.type,
    ce_source: event.source,
    ce_time: event.time,
    ce_subject: event.subject,
    'content-type': event.datacontenttype,
  };
  if (event.traceparent) headers.traceparent = event.traceparent;
  return { topic, key: event.subject, headers, value: JSON.stringify(event.data) };
}

export type DecodedMessage = { ok: true; candidate: Record<string, unknown> } | { ok: false; reason: string };

/** Rebuilds the envelope from a message; validation against the contract happens afterwards. */
export function decodeCloudEvent(message: Pick<TransportMessage, 'headers' | 'value'>): DecodedMessage {
  const h = message.headers;
  const contentType = h['content-type'] ?? '';
  if (!contentType.startsWith('application/json')) {
    return { ok: false, reason: `unsupported content-type "${contentType}"` };
  }
  let data: unknown;
  try {
    data = JSON.parse(message.value);
  } catch (error) {
    return { ok: false, reason: `value is not JSON: ${(error as Error).message}` };
  }
  const candidate: Record<string, unknown> = {
    specversion: h.ce_specversion,
    id: h.ce_id,
    type: h.ce_type,
    source: h.ce_source,
    time: h.ce_time,
    subject: h.ce_subject,
    datacontenttype: 'application/json',
    data,
  };
  if (h.traceparent) candidate.traceparent = h.traceparent;
  return { ok: true, candidate };
}
