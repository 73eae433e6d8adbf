import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';

/**
 * The waiting room's pages speak to patients of every language the hospital sees: each text in
 * Korean first and English beside it, whatever language the console was set to. Each part is
 * marked with its `lang`, so a screen reader reads each in its own voice.
 */
export function useBothLanguages(): { ko: TFunction; en: TFunction } {
  const { i18n } = useTranslation();
  return useMemo(() => ({ ko: i18n.getFixedT('ko'), en: i18n.getFixedT('en') }), [i18n]);
}

/** Two texts given as they are (a department's names, say): Korean, then English. */
export function Both({ ko, en, className }: { ko: string; en: string; className?: string }) {
  return (
    <span className={className ? `both ${className}` : 'both'}>
      <span lang="ko">{ko}</span>
      {en !== ko && (
        <>
          {' '}
          <span lang="en" className="both-en">
            {en}
          </span>
        </>
      )}
    </span>
  );
}

/** A message of the waiting room's files (`display.*`, `ticket.*`) in both languages. */
export function Bilingual({ k, values = {}, className }: { k: string; values?: Record<string, string | number>; className?: string }) {
  const { ko, en } = useBothLanguages();
  return <Both ko={ko(k, values)} en={en(k, values)} className={className} />;
}
