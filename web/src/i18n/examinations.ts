import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { ComboboxOption } from '../components/matchOptions.ts';
import type { CatalogExamination } from '../config/consoleConfig.ts';
import { useConsoleConfig, useUnknownCodeNotice } from '../config/ConfigContext.tsx';

/** A bilingual text of the catalog in the console's language: Korean, or English when English is chosen. */
export function inLanguage(text: { ko: string; en: string }, language: string): string {
  return language === 'en' ? text.en : text.ko;
}

/** An examination code's form (contracts' ExaminationCode): free text of old prescriptions ("X-RAY", "혈액검사") is not one. */
const examinationCode = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

export type Examinations = {
  /** What the doctor chooses from, in the catalog's order: the code is the value; found by code, either name or an alias. */
  options: readonly ComboboxOption[];
  /** The examination's name in the console's language; old free text (or a code the catalog lacks) as it is. */
  name: (examinationType: string) => string;
  /** The catalog's entry of a code, if it has one. */
  entry: (examinationType: string) => CatalogExamination | undefined;
};

/**
 * The hospital's examinations as the console shows them, in its current language. A prescription
 * carries the examination's code; one written before the codes existed carries free text, shown as
 * it is. A code the catalog lacks (added since the console loaded) is shown as it is too, and asks
 * for the catalog again.
 */
export function useExaminations(): Examinations {
  const { examinations } = useConsoleConfig();
  const noticeUnknown = useUnknownCodeNotice();
  const { i18n } = useTranslation();
  const language = i18n.language;
  return useMemo(() => {
    const byCode = new Map(examinations.map((examination) => [examination.code, examination]));
    return {
      options: examinations.map((examination) => ({
        value: examination.code,
        label: inLanguage(examination.name, language),
        terms: [examination.code, examination.name.ko, examination.name.en, ...(examination.aliases ?? [])],
      })),
      name: (examinationType) => {
        const known = byCode.get(examinationType);
        if (known) return inLanguage(known.name, language);
        if (examinationCode.test(examinationType)) noticeUnknown(examinationType);
        return examinationType;
      },
      entry: (examinationType) => byCode.get(examinationType),
    };
  }, [examinations, language, noticeUnknown]);
}
