import { useEffect, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../../auth/SessionContext.tsx';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { SignInScreen } from '../../screens/signIn/SignInScreen.tsx';
import { Bilingual, Both } from '../Bilingual.tsx';
import { displayPathStore, isDisplayOnly } from '../routes.ts';
import { CallScreen } from './CallScreen.tsx';

/**
 * `/display/{department}`: the console's sign-in (the display's account, or any member of staff),
 * then the call screen. The path is kept for the session, so the hospital's sign-in, which
 * returns to `/`, brings the screen back here (DisplaySessionGuard).
 */
export function DisplayApp({ department }: { department: string }) {
  const { session } = useSession();
  useEffect(() => {
    displayPathStore.save(location.pathname);
  }, []);
  if (!session) return <SignInScreen />;
  return <CallScreen department={department} />;
}

/**
 * Around the staff console at `/`: a display's session shows only its call screen, the one this
 * tab showed (back from the hospital's sign-in), or else a choice of the department to show.
 */
export function DisplaySessionGuard({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const displayOnly = session !== null && isDisplayOnly(session.roles);
  const target = displayOnly ? displayPathStore.load() : null;
  useEffect(() => {
    if (target) location.replace(target);
  }, [target]);
  if (!displayOnly) return children;
  if (target) return null;
  return <ChooseDepartment />;
}

function ChooseDepartment() {
  const { t } = useTranslation();
  const { departments } = useConsoleConfig();
  const { signOut } = useSession();
  return (
    <main id="main" className="main">
      <h1>{t('app.title')}</h1>
      <p>
        <Bilingual k="display.accountOnly" />
      </p>
      <nav aria-labelledby="display-departments">
        <h2 id="display-departments">
          <Bilingual k="display.chooseDepartment" />
        </h2>
        <ul>
          {departments.map((department) => (
            <li key={department.code}>
              <a href={`/display/${encodeURIComponent(department.code)}`}>
                <Both ko={department.name.ko} en={department.name.en} />
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <button type="button" className="button secondary" onClick={signOut}>
        {t('app.signOut')}
      </button>
    </main>
  );
}
