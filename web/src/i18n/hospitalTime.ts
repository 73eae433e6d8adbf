import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useConsoleConfig } from '../config/ConfigContext.tsx';

/** Intl's locale for each console language. */
function locale(language: string): string {
  return language === 'en' ? 'en-GB' : 'ko-KR';
}

/**
 * Formats instants as the hospital reads them: in its time zone (the config's), whatever zone
 * the workstation is set to, in the console's current language.
 */
export function useHospitalTime(): { dateTime: (iso: string) => string; time: (iso: string) => string } {
  const { timeZone } = useConsoleConfig();
  const { i18n } = useTranslation();
  return useMemo(() => {
    const dateTime = new Intl.DateTimeFormat(locale(i18n.language), { timeZone, dateStyle: 'medium', timeStyle: 'short' });
    const time = new Intl.DateTimeFormat(locale(i18n.language), { timeZone, hour: '2-digit', minute: '2-digit' });
    return { dateTime: (iso) => dateTime.format(new Date(iso)), time: (iso) => time.format(new Date(iso)) };
  }, [timeZone, i18n.language]);
}

/** The calendar day (YYYY-MM-DD) of an instant in the given zone: what "today" means at the hospital. */
export function hospitalDay(instant: Date | string, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(instant));
}

/** The day after a calendar day (YYYY-MM-DD), by the calendar alone. */
export function nextDay(day: string): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
}

/** How far the zone's clock is ahead of UTC at an instant, in milliseconds. */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' })
      .formatToParts(new Date(instant))
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<string, number>;
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a hospital day begins in its zone (its local midnight), as the read model counts
 * days (HOSPITAL_TIME_ZONE): the offset at a first guess, then at the instant it gives, which
 * differ only across a daylight-saving change.
 */
export function startOfHospitalDay(day: string, timeZone: string): Date {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const midnightAsUtc = Date.UTC(year, month - 1, date);
  const guess = midnightAsUtc - zoneOffsetMs(midnightAsUtc, timeZone);
  return new Date(midnightAsUtc - zoneOffsetMs(guess, timeZone));
}
