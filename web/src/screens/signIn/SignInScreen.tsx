import { useTranslation } from 'react-i18next';
import { useSession } from '../../auth/SessionContext.tsx';
import { LanguageSwitch } from '../../components/LanguageSwitch.tsx';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { DevSignInForm } from './DevSignInForm.tsx';
import { OidcSignIn } from './OidcSignIn.tsx';

/** The signed-out console: the form of the configured sign-in mode, and why the last session ended. */
export function SignInScreen() {
  const { t } = useTranslation();
  const { authMode } = useConsoleConfig();
  const { expired } = useSession();
  return (
    <>
      <header className="app-header">
        <p className="app-title">{t('app.title')}</p>
        <div className="header-tools">
          <LanguageSwitch />
        </div>
      </header>
      <main id="main" className="main sign-in">
        <h1>{t('signIn.title')}</h1>
        {expired && (
          <p role="alert" className="alert">
            {t('signIn.sessionExpired')}
          </p>
        )}
        {authMode === 'oidc' ? <OidcSignIn /> : <DevSignInForm />}
      </main>
    </>
  );
}
