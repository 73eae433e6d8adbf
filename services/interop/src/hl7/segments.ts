import { Hl7Field, Hl7Message, Hl7Segment } from '@medplum/core';
import { escapeText, standardContext } from './escaping.ts';
import { hl7Timestamp } from './time.ts';

/**
 * Segments made with @medplum/core's model from values by field number, each value escaped on the
 * way in, never a delimited string put together by hand. What every message of this folder is
 * made of: the header here, the segments of a visit in visit-segments.ts.
 */

/** The version of HL7 v2 this service speaks. */
export const HL7_VERSION = '2.5.1';

/** Who sends and who receives (MSH-3 to MSH-6): this service, and the interface engine it feeds. */
export type Hl7Parties = {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
};

/**
 * What the caller decides of each message: the parties, the control id (MSH-10: the delivery's
 * id, so a message sent again is the same message to the receiver) and the time it is stamped
 * with (MSH-7, ISO 8601), so building one twice gives the same text.
 */
export type MessageMeta = { parties: Hl7Parties; controlId: string; timestamp: string };

/** A component: its text, or its subcomponents. Undefined (or '') leaves it empty. */
export type ComponentValue = string | undefined | readonly (string | undefined)[];
/** A field: its text (the first component), or its components. */
export type FieldValue = ComponentValue | readonly ComponentValue[];

/** A segment from its fields by number (`{ 3: […], 19: … }`); the numbers not given are empty. */
export function segmentOf(name: string, fields: Readonly<Record<number, FieldValue>>): Hl7Segment {
  const last = Math.max(0, ...Object.keys(fields).map(Number));
  const values: Hl7Field[] = [];
  for (let n = 1; n <= last; n++) values.push(fieldOf(fields[n]));
  // Trailing empty fields say nothing: `PV1|1|O`, not `PV1|1|O|||`.
  while (values.length > 0 && values.at(-1)?.toString() === '') values.pop();
  return new Hl7Segment([name, ...values], standardContext);
}

function fieldOf(value: FieldValue): Hl7Field {
  const components = typeof value === 'string' || value === undefined ? [value] : (value as readonly ComponentValue[]);
  const texts = components.map(componentText);
  while (texts.length > 1 && texts.at(-1) === '') texts.pop();
  return new Hl7Field([texts], standardContext);
}

function componentText(value: ComponentValue): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return escapeText(value);
  const subcomponents = value.map((s) => escapeText(s ?? ''));
  while (subcomponents.length > 1 && subcomponents.at(-1) === '') subcomponents.pop();
  return subcomponents.join(standardContext.subcomponentSeparator);
}

/**
 * The MSH of a message this service sends: `type` its code, trigger event and structure
 * (`['ORU', 'R01', 'ORU_R01']`), production processing, version 2.5.1, UTF-8 (the names are Korean).
 * MSH-1 and MSH-2 are the delimiters themselves, so MSH-3 is the first field after them.
 */
export function headerOf(meta: MessageMeta, type: readonly [string, string, string] | readonly [string]): Hl7Segment {
  const { parties } = meta;
  const fields = segmentOf('MSH', {
    3: parties.sendingApplication,
    4: parties.sendingFacility,
    5: parties.receivingApplication,
    6: parties.receivingFacility,
    7: hl7Timestamp(meta.timestamp),
    9: type,
    10: meta.controlId,
    11: 'P',
    12: HL7_VERSION,
    18: 'UNICODE UTF-8',
  }).fields.slice(3);
  return new Hl7Segment(['MSH', standardContext.getMsh2(), ...fields], standardContext);
}

/** The message's text, segments ended by CR, as MLLP carries it. */
export function messageText(segments: readonly Hl7Segment[]): string {
  return new Hl7Message([...segments], standardContext).toString();
}
