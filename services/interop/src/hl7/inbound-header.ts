import { Hl7Message, type Hl7Segment } from '@medplum/core';
import { unescapeText } from './escaping.ts';

/**
 * Reading an inbound message: its header first, whose faults are a reject (AR, the message
 * cannot be taken at all), then the fields of its segments as plain text. What the listener's
 * answers are made of (inbound-result.ts, acknowledgement.ts).
 */

/** HL7 table 0357, the error codes an ERR segment gives beside its reason. */
export const hl7ErrorCodes = {
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
} as const;
export type Hl7ErrorCode = keyof typeof hl7ErrorCodes;

/** Where the fault is (ERR-2): a segment (the how-manieth of its name, from 1), and the field of it to blame. */
export type ErrorLocation = { segment: string; sequence?: number; field?: number };

/**
 * Why a message is not taken, for the ACK: AR when it cannot be read as the message it claims to
 * be, AE when it can but its content cannot be applied. `reason` names the segment and field in
 * plain words; it never quotes clinical content, since the lead may log it.
 */
export type Refusal = { ok: false; code: 'AR' | 'AE'; reason: string; error: Hl7ErrorCode; location?: ErrorLocation };

export function refusal(code: 'AR' | 'AE', error: Hl7ErrorCode, reason: string, location?: ErrorLocation): Refusal {
  return location === undefined ? { ok: false, code, reason, error } : { ok: false, code, reason, error, location };
}

/** The versions whose ORU^R01 carries what is read here where 2.5.1 has it (OBR-2/3/7, OBX-2/3/5/11/14). */
export const SUPPORTED_VERSIONS: readonly string[] = ['2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8'];

/** An inbound message whose MSH could be read: the message, and what its ACK needs of it. */
export type InboundHeader = {
  message: Hl7Message;
  controlId: string;
  messageCode: string;
  triggerEvent: string;
  version: string;
  sendingApplication: string;
  sendingFacility: string;
};

/**
 * The message and its header, or the reject when there is no MSH to read: the text does not
 * begin with one, or its delimiters (MSH-1, MSH-2) are not five distinct punctuation characters.
 */
export function parseHeader(text: string): { ok: true; header: InboundHeader } | Refusal {
  const trimmed = text.replace(/^[\r\n]+/, '');
  if (!trimmed.startsWith('MSH')) return refusal('AR', '100', 'MSH (message header) is missing: a message must begin with it', { segment: 'MSH' });
  const delimiters = trimmed.slice(3, 8);
  if (!/^[^\p{L}\p{N}\s]{5}$/u.test(delimiters) || new Set(delimiters).size !== 5) {
    return refusal('AR', '102', 'MSH-1 and MSH-2 (field separator and encoding characters) are garbled', { segment: 'MSH', field: 2 });
  }
  const message = Hl7Message.parse(trimmed);
  const msh = message.getSegment('MSH') as Hl7Segment;
  const header: InboundHeader = {
    message,
    controlId: textOf(message, msh, 10),
    messageCode: textOf(message, msh, 9, 1),
    triggerEvent: textOf(message, msh, 9, 2),
    version: textOf(message, msh, 12, 1),
    sendingApplication: textOf(message, msh, 3, 1),
    sendingFacility: textOf(message, msh, 4, 1),
  };
  return { ok: true, header };
}

/**
 * The header's faults a reject names: no control id to acknowledge, a version not read here, or
 * bytes that were not UTF-8 (the framing decodes them as replacement characters).
 */
export function checkHeader(header: InboundHeader): Refusal | undefined {
  if (header.controlId === '') return refusal('AR', '101', 'MSH-10 (message control id) is missing', { segment: 'MSH', field: 10 });
  if (header.message.toString().includes('\uFFFD')) return refusal('AR', '102', 'the message is not UTF-8 text (MSH-18, character set)', { segment: 'MSH', field: 18 });
  if (!SUPPORTED_VERSIONS.includes(header.version)) {
    return refusal('AR', '203', `MSH-12 (version id) "${clip(header.version)}" is not supported: send HL7 v2.3 to v2.8, preferably 2.5.1`, { segment: 'MSH', field: 12 });
  }
  return undefined;
}

/**
 * A field's text, unescaped: one component of its first repetition, or, without `component`, the
 * whole repetition, its components joined as they were written (a sender that did not escape a
 * `^` in a text loses nothing).
 */
export function textOf(message: Hl7Message, segment: Hl7Segment, field: number, component?: number): string {
  const value = segment.getField(field) as ReturnType<Hl7Segment['getField']> | undefined;
  if (value === undefined) return '';
  const written = component === undefined ? (value.components[0] ?? []).join(message.context.componentSeparator) : value.getComponent(component);
  return unescapeText(written, message.context);
}

/** Each repetition of a field, whole and unescaped (OBX-5 may repeat, a line each). */
export function repetitionsOf(message: Hl7Message, segment: Hl7Segment, field: number): string[] {
  const value = segment.getField(field) as ReturnType<Hl7Segment['getField']> | undefined;
  if (value === undefined) return [];
  return value.components.map((components) => unescapeText(components.join(message.context.componentSeparator), message.context));
}

/** A sender's value quoted in a reason, cut short: a reason names what is wrong, it does not echo the message. */
export function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}
