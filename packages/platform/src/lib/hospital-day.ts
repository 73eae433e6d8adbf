import { ConfigError, type Env } from './env.ts';

/**
 * The hospital's day, in its own time zone (HOSPITAL_TIME_ZONE): what a queue number counts in, what
 * a ticket is valid for, and the hour a waiting time is charted by. A day is a calendar date there
 * (`2026-12-07`), whatever the zone of the server or the database.
 */
export const DEFAULT_TIME_ZONE = 'Asia/Seoul';

/** HOSPITAL_TIME_ZONE, checked: an IANA zone the runtime knows. */
export function readTimeZone(env: Env): string {
  const timeZone = env.HOSPITAL_TIME_ZONE?.trim() || DEFAULT_TIME_ZONE;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    throw new ConfigError(`HOSPITAL_TIME_ZONE must be an IANA time zone such as Asia/Seoul, got "${timeZone}"`);
  }
  return timeZone;
}

type LocalTime = { year: number; month: number; day: number; hour: number; minute: number; second: number };

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let found = formatters.get(timeZone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, found);
  }
  return found;
}

function localTime(instant: Date, timeZone: string): LocalTime {
  const parts = Object.fromEntries(formatter(timeZone).formatToParts(instant).map((p) => [p.type, p.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), second: Number(parts.second) };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The hospital day an instant falls on: `2026-12-07`. */
export function hospitalDayOf(instant: Date | string, timeZone: string): string {
  const t = localTime(new Date(instant), timeZone);
  return `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`;
}

/** The hour of the hospital's clock (0-23) at an instant. */
export function hospitalHourOf(instant: Date | string, timeZone: string): number {
  return localTime(new Date(instant), timeZone).hour;
}

/** How far the zone's clock is ahead of UTC at an instant, in milliseconds. */
function offsetMs(instant: Date, timeZone: string): number {
  const t = localTime(instant, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

/**
 * The instant a hospital day begins: its local midnight, or the first instant after it where a
 * daylight-saving change skips midnight.
 */
export function startOfHospitalDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const midnightAsUtc = Date.UTC(year, month - 1, date);
  // The offset at a first guess, then at the instant it gives: they differ only across a change.
  let start = midnightAsUtc - offsetMs(new Date(midnightAsUtc), timeZone);
  start = midnightAsUtc - offsetMs(new Date(start), timeZone);
  while (hospitalDayOf(new Date(start), timeZone) < day) start += 15 * 60_000;
  return new Date(start);
}

/** The instant a hospital day ends: the start of the next one. */
export function endOfHospitalDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(year, month - 1, date + 1));
  return startOfHospitalDay(next.toISOString().slice(0, 10), timeZone);
}
