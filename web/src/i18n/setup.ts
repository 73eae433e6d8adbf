import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from '../messages/en.json';
import ko from '../messages/ko.json';
import waitingRoomEn from '../messages/waiting-room.en.json';
import waitingRoomKo from '../messages/waiting-room.ko.json';

/** The console's languages; Korean is the default, the staff's working language. */
export const languages = ['ko', 'en'] as const;
export type Language = (typeof languages)[number];

const STORAGE_KEY = 'console.language';

function storedLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === 'en' ? 'en' : 'ko';
}

export function otherLanguage(language: string): Language {
  return language === 'en' ? 'ko' : 'en';
}

/** The document follows the language: `<html lang>` for screen readers, the title for the tab. */
function applyToDocument(language: string): void {
  document.documentElement.lang = language;
  document.title = i18next.t('app.title');
}

type Messages = { [key: string]: string | Messages };

/**
 * The messages of one language from its files: the staff console's and the waiting room's
 * (`display.*`, `ticket.*`), merged key by key, so a section both name keeps the texts of both.
 */
function mergeMessages(...files: Messages[]): Messages {
  const merged: Messages = {};
  for (const file of files) {
    for (const [key, value] of Object.entries(file)) {
      const present = merged[key];
      merged[key] = typeof value === 'object' && typeof present === 'object' ? mergeMessages(present, value) : value;
    }
  }
  return merged;
}

export async function setupI18n(): Promise<void> {
  await i18next.use(initReactI18next).init({
    resources: { ko: { translation: mergeMessages(ko, waitingRoomKo) }, en: { translation: mergeMessages(en, waitingRoomEn) } },
    lng: storedLanguage(),
    fallbackLng: 'ko',
    supportedLngs: [...languages],
    // React escapes what it renders; escaping here too would show `&amp;` in names.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  applyToDocument(i18next.language);
  i18next.on('languageChanged', (language) => {
    localStorage.setItem(STORAGE_KEY, language);
    applyToDocument(language);
  });
}
