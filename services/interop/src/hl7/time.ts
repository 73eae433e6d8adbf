/**
 * HL7 v2 dates and times (DT, DTM) to and from the ISO 8601 of the records and the API.
 * @medplum/core's formatHl7DateTime writes UTC without saying so (no offset) and its
 * parseHl7DateTime reads fractions of a second wrongly and rolls a month 13 over into the next
 * year, so both directions are here: what is sent always carries its offset, what is read is checked.
 */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** An instant as DTM to the second, in UTC with its offset said (`20261207093000+0000`), so no receiver has to guess the zone. */
export function hl7Timestamp(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) throw new RangeError(`not an instant: ${iso}`);
  const date = `${pad(t.getUTCFullYear(), 4)}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}`;
  return `${date}${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}${pad(t.getUTCSeconds())}+0000`;
}

/** A calendar date (`1990-04-01`, a birth date) as DT (`19900401`): a date has no zone. */
export function hl7Date(day: string): string {
  return day.replaceAll('-', '');
}

const DTM = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/;

/**
 * A DTM as an ISO 8601 instant, or undefined when it is not one (a month 13, a 25th hour,
 * letters). Missing parts are the start of the period (`202612` is the first of December,
 * midnight). A time written without an offset is the sender's local time: read in `timeZone`
 * (an IANA zone; the hospital's, as the lead configures it), UTC when none is given.
 */
export function instantOfHl7(text: string, timeZone = 'UTC'): string | undefined {
  const match = DTM.exec(text.trim());
  if (match === null) return undefined;
  const [year, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((part) => (part === undefined ? undefined : Number(part)));
  const millisecond = match[7] === undefined ? 0 : Math.floor(Number(`0.${match[7]}`) * 1000);
  const wall = Date.UTC(year ?? 0, month - 1, day, hour, minute, second, millisecond);
  const check = new Date(wall);
  // Date.UTC rolls a 13th month or a 32nd day over into the next (and years below 100 into the
  // 1900s); the text meant no such date.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = match[8] === undefined ? zoneOffsetMs(wall, timeZone) : offsetMs(match[8]);
  if (offset === undefined) return undefined;
  return new Date(wall - offset).toISOString();
}

/** `+0930` as milliseconds ahead of UTC; undefined past 14 hours or 59 minutes. */
function offsetMs(text: string): number | undefined {
  const hours = Number(text.slice(1, 3));
  const minutes = Number(text.slice(3, 5));
  if (hours > 14 || minutes > 59) return undefined;
  return (text.startsWith('-') ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}

/** How far `timeZone`'s clock is ahead of UTC when its wall clock reads `wall` (taken as if UTC). */
function zoneOffsetMs(wall: number, timeZone: string): number {
  // The offset at the wall time read as UTC, then at the instant that gives: they differ only across a change.
  const first = offsetAt(wall, timeZone);
  return offsetAt(wall - first, timeZone);
}

function offsetAt(instant: number, timeZone: string): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  // `GMT+09:00`, or `GMT` itself for a zero offset.
  const match = /^GMT([+-])(\d{2}):(\d{2})$/.exec(name);
  if (match === null) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) * 60_000;
}
