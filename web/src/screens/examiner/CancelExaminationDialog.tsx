import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { cancelExamination } from '../../api/endpoints.ts';
import type { ExaminationView } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText, optionalText } from '../../forms/validation.ts';

/** Cancels a requested examination, with an optional reason. */
export function CancelExaminationDialog({ examination, onClose, onDone }: { examination: ExaminationView; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation();
  const notify = useToast();
  const submission = useSubmission();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string>();

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = checkText(reason, { required: false, max: limits.clinicalText }, t);
    setError(found);
    if (found) return;
    const cancelled = await submission.submit((key) => cancelExamination(examination.id, optionalText(reason), key));
    if (!cancelled) return;
    notify(t('examiner.cancelled', { id: examination.id }));
    onDone();
  }

  return (
    <Dialog title={t('examiner.cancelDialog.title', { type: examination.examinationType, name: examination.patientName, id: examination.id })} onClose={onClose}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <Field id="cancel-examination-reason" multiline label={t('examiner.cancelDialog.reason')} value={reason} onChange={setReason} error={error ?? submission.fieldErrors.reason} />
        <ErrorAlert message={submission.error} />
        <button type="submit" className="button danger" disabled={submission.submitting}>
          {t('examiner.cancelDialog.submit')}
        </button>
      </form>
    </Dialog>
  );
}
