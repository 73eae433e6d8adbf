import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Field } from '../../components/Field.tsx';

/** A diagnosis number as staff write it ("12" or "#12"), or undefined when it is none. */
function diagnosisNumber(text: string): number | undefined {
  const match = /^\s*#?\s*(\d{1,15})\s*$/.exec(text);
  const id = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(id) && id >= 1 ? id : undefined;
}

/**
 * Opens a diagnosis by its number, whether it is on the worklist or not: the worklist holds only
 * the open diagnoses of the doctor's departments, and a colleague may ask about any other (one of
 * another department opens only by breaking the glass).
 */
export function OpenDiagnosisForm({ onOpen }: { onOpen: (id: number) => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const id = diagnosisNumber(text);
    setError(id === undefined ? (text.trim() === '' ? t('validation.required') : t('doctor.open.invalid')) : undefined);
    if (id !== undefined) onOpen(id);
  }

  return (
    <form className="form sub-card" aria-labelledby="open-diagnosis-heading" onSubmit={onSubmit} noValidate>
      <h3 id="open-diagnosis-heading">{t('doctor.open.heading')}</h3>
      <Field id="open-diagnosis-id" required label={t('doctor.open.id')} hint={t('doctor.open.hint')} value={text} onChange={setText} error={error} inputMode="numeric" autoComplete="off" />
      <button type="submit" className="button secondary">
        {t('doctor.open.submit')}
      </button>
    </form>
  );
}
