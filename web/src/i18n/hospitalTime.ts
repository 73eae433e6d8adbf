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
