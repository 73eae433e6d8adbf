import { useMemo } from 'react';
import { useConsoleConfig, useUnknownCodeNotice } from '../config/ConfigContext.tsx';

export type BilingualName = { ko: string; en: string };

/**
 * A department's names in both languages, by its code, from the catalog of the console's
 * settings. A code the catalog lacks (a department added since the page loaded) is shown as it is
 * and asks for the catalog again, as the staff screens do (i18n/departments.ts).
 */
export function useDepartmentNames(): (code: string) => BilingualName {
  const { departments } = useConsoleConfig();
  const noticeUnknown = useUnknownCodeNotice();
  return useMemo(() => {
    const byCode = new Map(departments.map((department) => [department.code, department.name]));
    return (code) => {
      const known = byCode.get(code);
      if (known) return known;
      noticeUnknown(code);
      return { ko: code, en: code };
    };
  }, [departments, noticeUnknown]);
}
