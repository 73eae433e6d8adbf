import { useTranslation } from 'react-i18next';
import { useSession } from './auth/SessionContext.tsx';
import { AppHeader } from './components/AppHeader.tsx';
import { ScreenNav } from './components/ScreenNav.tsx';
import { useHashRoute } from './hooks/useHashRoute.ts';
import { LiveProvider } from './live/LiveContext.tsx';
import { screensFor } from './screens/registry.ts';
import { SignInScreen } from './screens/signIn/SignInScreen.tsx';

/** Signed out: the sign-in screen. Signed in: the header, the role's screens as navigation, the current one. */
export function App() {
  const { t } = useTranslation();
  const { session, signOut } = useSession();
  const route = useHashRoute();
  if (!session) return <SignInScreen />;

  const available = screensFor(session.roles);
  const current = available.find((screen) => screen.id === route) ?? available[0];
  const live = available.some((screen) => screen.live);
  return (
    <LiveProvider enabled={live}>
      <AppHeader session={session} live={live} onSignOut={signOut} />
      {available.length > 1 && current && <ScreenNav ids={available.map((screen) => screen.id)} current={current.id} />}
      <main id="main" className="main">
        {current ? (
          <current.component key={current.id} />
        ) : (
          <>
            <h1>{t('app.title')}</h1>
            <p role="alert">{t('app.noScreens')}</p>
          </>
        )}
      </main>
    </LiveProvider>
  );
}
