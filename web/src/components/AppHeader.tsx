import { useTranslation } from 'react-i18next';
import type { Session } from '../auth/session.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { LiveIndicator } from './LiveIndicator.tsx';
import { ToastRegion } from './Toasts.tsx';

/**
 * The banner of a signed-in console: the app's name, the confirmations of the work (ToastRegion),
 * the live state (when a screen follows the stream), who is signed in, language and sign-out. It
 * stays at the top of the window as the page scrolls.
 */
export function AppHeader({ session, live, onSignOut }: { session: Session; live: boolean; onSignOut: () => void }) {
  const { t } = useTranslation();
  const roles = session.roles.map((role) => t(`role.${role}`)).join(', ');
  return (
    <header className="app-header">
      <p className="app-title">{t('app.title')}</p>
      <ToastRegion />
      <div className="header-tools">
        {live && <LiveIndicator />}
        <p className="user" data-testid="signed-in-user">
          <span className="visually-hidden">{t('app.user')}: </span>
          {t('app.signedInAs', { name: session.name, role: roles })}
        </p>
        <LanguageSwitch />
        <button type="button" className="button secondary" onClick={onSignOut}>
          {t('app.signOut')}
        </button>
      </div>
    </header>
  );
}
