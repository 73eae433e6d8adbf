import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { breakGlassReasonMax } from '../api/breakGlass.ts';
import { checkText } from '../forms/validation.ts';
import { useDepartments } from '../i18n/departments.ts';
import { Dialog } from './Dialog.tsx';
import { Field } from './Field.tsx';

type BreakGlassDialogProps = {
  diagnosisId: number;
  /** The diagnosis's department code, as the refusal named it. */
  department: string | undefined;
  /** The reason given before for the same diagnosis, offered again. */
  initialReason: string;
  /** The reason, trimmed: the request goes again with it. */
  onConfirm: (reason: string) => void;
  /** Escape, Close or Cancel: the request stays refused, nothing changes. */
  onCancel: () => void;
};

/**
 * Asks a doctor whether to break the glass: the diagnosis belongs to another department (named
 * in the console's language), opening it anyway is an emergency access that is recorded and
 * reviewed, and the reason is required (1 to 500 characters).
 */
export function BreakGlassDialog({ diagnosisId, department, initialReason, onConfirm, onCancel }: BreakGlassDialogProps) {
  const { t } = useTranslation();
  const departments = useDepartments();
  const [reason, setReason] = useState(initialReason);
  const [error, setError] = useState<string>();
  const explanationId = 'break-glass-explanation';

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = checkText(reason, { required: true, max: breakGlassReasonMax }, t);
    setError(found);
    if (!found) onConfirm(reason.trim());
  }

  return (
    <Dialog title={t('doctor.breakGlass.title', { id: diagnosisId })} describedBy={explanationId} onClose={onCancel}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <div id={explanationId} className="break-glass-explanation">
          <p>{department ? t('doctor.breakGlass.outside', { department: departments.name(department) }) : t('doctor.breakGlass.outsideUnnamed')}</p>
          <p>{t('doctor.breakGlass.recorded')}</p>
        </div>
        <Field
          id="break-glass-reason"
          multiline
          required
          label={t('doctor.breakGlass.reason')}
          hint={t('doctor.breakGlass.reasonHint', { max: breakGlassReasonMax })}
          value={reason}
          onChange={setReason}
          error={error}
        />
        <div className="row-actions">
          <button type="submit" className="button danger">
            {t('doctor.breakGlass.confirm')}
          </button>
          <button type="button" className="button secondary" onClick={onCancel}>
            {t('doctor.breakGlass.cancel')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
