import { CLINICAL_TEXT_MAX } from '@medical/contracts';
import type { Hl7Message, Hl7Segment } from '@medplum/core';
import { clip, refusal, repetitionsOf, textOf, type Refusal } from './inbound-header.ts';
import { instantOfHl7 } from './time.ts';

/**
 * An ORU's OBX segments as one examination result: a radiology report's text as it was written,
 * a laboratory's values each on a line of its own with what was measured, its unit and range,
 * since a number without its name would mean nothing in the result.
 */

/** The longest result the examination service takes: PerformExaminationBody's `result` is a ClinicalText, counted in code points. */
const RESULT_MAX = CLINICAL_TEXT_MAX;

/** Value types read as text, a repetition a line (FT's `\.br\` a line break too). */
const textTypes = new Set(['TX', 'ST', 'FT']);
/** Value types read as one value of something measured or coded. */
const valueTypes = new Set(['NM', 'SN', 'CE', 'CWE']);

type Observations = { ok: true; result: string; performedAt?: string };

/** The OBX values in order as the result, and the first OBX-14 as when it was observed; or why they cannot be applied. */
export function readObservations(message: Hl7Message, timeZone: string | undefined): Observations | Refusal {
  const segments = message.getAllSegments('OBX');
  if (segments.length === 0) return refusal('AE', '101', 'OBX (observation) is missing: the message reports no result', { segment: 'OBX' });
  const lines: string[] = [];
  let performedAt: string | undefined;
  for (const [index, obx] of segments.entries()) {
    const sequence = index + 1;
    const status = textOf(message, obx, 11, 1);
    if (status !== 'F' && status !== 'C') {
      const reason = status === '' ? 'is missing' : `is "${clip(status)}"`;
      return refusal('AE', status === '' ? '101' : '103', `OBX-11 (observation result status) of OBX ${sequence} ${reason}: only final (F) and corrected (C) results are applied`, { segment: 'OBX', sequence, field: 11 });
    }
    const value = linesOf(message, obx, sequence);
    if (!Array.isArray(value)) return value;
    lines.push(...value);
    const observed = textOf(message, obx, 14);
    if (performedAt !== undefined || observed === '') continue;
    performedAt = instantOfHl7(observed, timeZone);
    if (performedAt === undefined) return refusal('AE', '102', `OBX-14 (date/time of the observation) of OBX ${sequence} "${clip(observed)}" is not an HL7 date and time`, { segment: 'OBX', sequence, field: 14 });
  }
  const result = lines.join('\n').replace(/\r\n?/g, '\n');
  if (!/\S/.test(result)) return refusal('AE', '101', 'no OBX has a value in OBX-5 (observation value)', { segment: 'OBX', field: 5 });
  const length = [...result].length;
  if (length > RESULT_MAX) {
    return refusal('AE', '102', `the result (OBX-5) is ${length} characters long, more than the ${RESULT_MAX} an examination result may have`, { segment: 'OBX', field: 5 });
  }
  return performedAt === undefined ? { ok: true, result } : { ok: true, result, performedAt };
}

/** One OBX's lines: its text, or its value as `name: value unit (range) [flag]`; none when OBX-5 is empty. */
function linesOf(message: Hl7Message, obx: Hl7Segment, sequence: number): string[] | Refusal {
  const repetitions = repetitionsOf(message, obx, 5);
  if (repetitions.every((r) => r === '')) return repetitions.length > 0 ? [''] : [];
  const type = textOf(message, obx, 2, 1);
  if (textTypes.has(type)) return repetitions;
  if (!valueTypes.has(type)) {
    const reason = type === '' ? 'is missing' : `is "${clip(type)}"`;
    return refusal('AE', type === '' ? '101' : '102', `OBX-2 (value type) of OBX ${sequence} ${reason}: a result is taken as text (TX, ST, FT) or as a value (NM, SN, CE, CWE)`, {
      segment: 'OBX',
      sequence,
      field: 2,
    });
  }
  const value = type === 'CE' || type === 'CWE' ? textOf(message, obx, 5, 2) || textOf(message, obx, 5, 1) : type === 'SN' ? structuredNumber(message, obx) : textOf(message, obx, 5, 1);
  const name = textOf(message, obx, 3, 2) || textOf(message, obx, 3, 1);
  const unit = textOf(message, obx, 6, 1);
  const range = textOf(message, obx, 7);
  const flag = textOf(message, obx, 8, 1);
  return [`${name === '' ? '' : `${name}: `}${value}${unit === '' ? '' : ` ${unit}`}${range === '' ? '' : ` (${range})`}${flag === '' || flag === 'N' ? '' : ` [${flag}]`}`];
}

/** SN, a comparator and numbers (`<^0.5`, `^10^-^20`, `^1^:^128`), as it reads: `<0.5`, `10-20`, `1:128`. */
function structuredNumber(message: Hl7Message, obx: Hl7Segment): string {
  return [1, 2, 3, 4].map((component) => textOf(message, obx, 5, component)).join('');
}
