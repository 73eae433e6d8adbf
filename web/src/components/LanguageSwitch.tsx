import { useTranslation } from 'react-i18next';
import { otherLanguage } from '../i18n/setup.ts';

/** Switches between Korean and English; labelled in the language it switches to ("English" / "한국어"). */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const target = otherLanguage(i18n.language);
  return (
    <button type="button" className="button secondary" lang={target} onClick={() => void i18n.changeLanguage(target)}>
      {t('app.languageSwitch')}
    </button>
  );
}
