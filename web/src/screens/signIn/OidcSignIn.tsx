import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { completeOidcSignIn, startOidcSignIn } from '../../auth/oidc.ts';
import { useSession } from '../../auth/SessionContext.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import type { ConsoleConfig } from '../../config/consoleConfig.ts';

/**
 * The redirect back from the provider is completed once per page load, even when React runs the
 * effect twice (StrictMode): the code is single-use.
 */
let completion: Promise<string | null> | undefined;
function completeOnce(config: ConsoleConfig): Promise<string | null> {
  completion ??= completeOidcSignIn(config);
  return completion;
}

/** Sign-in with the hospital account (authMode "oidc"): one button, and the redirect back handled on load. */
export function OidcSignIn() {
  const { t } = useTranslation();
  const config = useConsoleConfig();
  const { signIn } = useSession();
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let active = true;
    completeOnce(config).then(
      (token) => {
        if (active && token && !signIn(token)) setFailure(t('signIn.failed'));
      },
      (error: unknown) => {
        if (active) setFailure(t('signIn.oidcFailed', { detail: error instanceof Error ? error.message : String(error) }));
      },
    );
    return () => {
      active = false;
    };
  }, [config, signIn, t]);

  async function start() {
    setBusy(true);
    setFailure(undefined);
    try {
      await startOidcSignIn(config);
    } catch (error) {
      setFailure(t('signIn.oidcFailed', { detail: error instanceof Error ? error.message : String(error) }));
      setBusy(false);
    }
  }

  return (
    <div className="card form">
      <p>{t('signIn.oidcIntro')}</p>
      <ErrorAlert message={failure} />
      <button type="button" className="button primary" onClick={() => void start()} disabled={busy}>
        {t('signIn.oidcButton')}
      </button>
    </div>
  );
}
