import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError } from '../../api/describeError.ts';
import { ApiError } from '../../api/problem.ts';
import { devSignIn } from '../../auth/devSignIn.ts';
import { useSession } from '../../auth/SessionContext.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { checkText, hasErrors } from '../../forms/validation.ts';

/** Username and password against the gateway's development identity provider (authMode "dev"). */
export function DevSignInForm() {
  const { t } = useTranslation();
  const { signIn } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  const [failure, setFailure] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = {
      username: checkText(username, { required: true, max: 255 }, t),
      password: checkText(password, { required: true, max: 1024 }, t),
    };
    setErrors(found);
    setFailure(undefined);
    if (hasErrors(found)) return;
    setBusy(true);
    try {
      const token = await devSignIn(username.trim(), password);
      if (!signIn(token)) setFailure(t('signIn.failed'));
    } catch (error) {
      // A 401 is the provider saying no to these credentials: said in the reader's language, not
      // its English detail. Anything else (a 429, the gateway down) keeps its own explanation.
      setFailure(error instanceof ApiError && error.status === 401 ? t('signIn.wrongCredentials') : describeError(error, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card form" onSubmit={onSubmit} noValidate>
      <p className="hint">{t('signIn.devHint')}</p>
      <Field id="sign-in-username" label={t('signIn.username')} value={username} onChange={setUsername} error={errors.username} required autoComplete="username" />
      <Field id="sign-in-password" label={t('signIn.password')} value={password} onChange={setPassword} error={errors.password} required type="password" autoComplete="current-password" />
      <ErrorAlert message={failure} />
      <button type="submit" className="button primary" disabled={busy}>
        {t('signIn.submit')}
      </button>
    </form>
  );
}
