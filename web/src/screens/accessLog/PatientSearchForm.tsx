import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../../components/Field.tsx';
import { limits } from '../../forms/limits.ts';
import { checkText } from '../../forms/validation.ts';

/**
 * The patient whose access log to show, by their ID as the desk registered it (sent as typed, but
 * for the spaces around it). Submitting again reloads it: records arrive within moments of a request.
 */
export function PatientSearchForm({ onSearch }: { onSearch: (patientId: string) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const invalid = checkText(text, { required: true, max: limits.patientId }, t);
    setError(invalid);
    if (!invalid) onSearch(text.trim());
  }

  return (
    <form className="card form access-search" role="search" aria-labelledby="access-log-search-heading" onSubmit={onSubmit} noValidate>
      <h2 id="access-log-search-heading">{t('accessLog.search.heading')}</h2>
      <div className="access-search-row">
        <Field
          id="access-log-patient-id"
          required
          label={t('accessLog.search.patientId')}
          hint={t('accessLog.search.hint')}
          value={text}
          onChange={setText}
          error={error}
          autoComplete="off"
        />
        <button type="submit" className="button primary">
          {t('accessLog.search.submit')}
        </button>
      </div>
    </form>
  );
}
