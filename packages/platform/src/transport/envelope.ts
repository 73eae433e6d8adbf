import { randomUUID } from 'node:crypto';
import { dataSchemaOf, sourceOf, type CloudEvent, type MedicalEvent } from '@medical/contracts';
import type { TransportMessage } from './transport.ts';

/**
 * CloudEvents 1.0 in binary content mode: context attributes as `ce_*` headers, the event data
 * as the JSON value. The same encoding is used on Kafka and in the embedded log. `dataschema`
 * names the data's schema and version (`urn:medical:events:<type>:<version>`, contracts'
 * data-schemas.ts), so a consumer can tell an event of a version it does not read.
 */
export function toCloudEvent(event: MedicalEvent, subject: string, traceparent?: string): CloudEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    type: event.type,
    source: sourceOf(event),
    time: new Date().toISOString(),
    subject,
    datacontenttype: 'application/json',
    dataschema: dataSchemaOf(event.type),
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
  if (event.dataschema) headers.ce_dataschema = event.dataschema;
  if (event.traceparent) headers.traceparent = event.traceparent;
  return { topic, key: event.subject, headers, value: JSON.stringify(event.data) };
}

/** W3C Trace Context: version 00, and the fields a later version may append. */
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-[\x21-\x7e]*)?$/;

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
  // Absent from the events of producers older than the attribute: they are read as before.
  if (h.ce_dataschema !== undefined) candidate.dataschema = h.ce_dataschema;
  // Tracing is best effort: a malformed traceparent is dropped, it never makes an event poison.
  if (h.traceparent && TRACEPARENT.test(h.traceparent)) candidate.traceparent = h.traceparent;
  return { ok: true, candidate };
}
