import { Hl7Context } from '@medplum/core';

/**
 * HL7 v2 escape sequences (v2.5.1 section 2.7) for the text put into a field and read out of one.
 * @medplum/core joins and splits at the delimiters but neither escapes nor unescapes, so a result
 * holding `|` or a newline would otherwise split the field or end the segment. Every value of a
 * built message passes through `escapeText`; every text read from an inbound one through `unescapeText`.
 */

/** The standard delimiters (`|^~\&`, segments ended by CR): what every message this service builds uses. */
export const standardContext = new Hl7Context();

/**
 * A text as field content: each delimiter and the escape character as its sequence (`\F\`, `\S\`,
 * `\T\`, `\R\`, `\E\`), and every control character, line breaks included, as hexadecimal data
 * (`\X0A\`), so nothing in it can end a segment or an MLLP frame.
 */
export function escapeText(value: string, context: Hl7Context = standardContext): string {
  const e = context.escapeCharacter;
  const named = new Map([
    [e, 'E'],
    [context.fieldSeparator, 'F'],
    [context.componentSeparator, 'S'],
    [context.subcomponentSeparator, 'T'],
    [context.repetitionSeparator, 'R'],
  ]);
  let escaped = '';
  for (const char of value) {
    const name = named.get(char);
    if (name !== undefined) escaped += `${e}${name}${e}`;
    else if (char.charCodeAt(0) < 0x20 || char === '\x7f') escaped += `${e}X${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}${e}`;
    else escaped += char;
  }
  return escaped;
}

/**
 * Field content as text: the delimiter sequences back to their characters, hexadecimal data
 * decoded as UTF-8, the formatted-text line break `\.br\` as a newline, highlighting (`\H\`, `\N\`)
 * dropped. A sequence it does not know (a character set switch, a local `\Z..\`) stays as it was
 * written, and so does an escape character left unclosed.
 */
export function unescapeText(text: string, context: Hl7Context = standardContext): string {
  const e = context.escapeCharacter;
  if (e === '' || !text.includes(e)) return text;
  const named: Record<string, string> = {
    F: context.fieldSeparator,
    S: context.componentSeparator,
    T: context.subcomponentSeparator,
    R: context.repetitionSeparator,
    E: e,
    '.br': '\n',
    H: '',
    N: '',
  };
  let plain = '';
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf(e, at);
    const close = open === -1 ? -1 : text.indexOf(e, open + 1);
    if (close === -1) return plain + text.slice(at);
    const sequence = text.slice(open + 1, close);
    plain += text.slice(at, open) + (named[sequence] ?? hexData(sequence) ?? text.slice(open, close + 1));
    at = close + 1;
  }
  return plain;
}

/** `Xhhhh…`: the bytes, as UTF-8; undefined when it is not hexadecimal data. */
function hexData(sequence: string): string | undefined {
  if (!/^X(?:[0-9A-Fa-f]{2})+$/.test(sequence)) return undefined;
  return Buffer.from(sequence.slice(1), 'hex').toString('utf8');
}
