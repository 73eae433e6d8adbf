import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { cancelReception } from '../../api/endpoints.ts';
import type { ReceptionView } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText, optionalText } from '../../forms/validation.ts';

/** Cancels a visit still RECEIVED, with an optional reason. */
export function CancelReceptionDialog({ reception, onClose, onCancelled }: { reception: ReceptionView; onClose: () => void; onCancelled: () => void }) {
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
    const cancelled = await submission.submit((key) => cancelReception(reception.id, optionalText(reason), key));
    if (!cancelled) return;
    notify(t('reception.cancelled', { id: reception.id }));
    onCancelled();
  }

  return (
    <Dialog title={t('reception.cancelDialog.title', { name: reception.patientName, id: reception.id })} onClose={onClose}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <Field id="cancel-reception-reason" multiline label={t('reception.cancelDialog.reason')} value={reason} onChange={setReason} error={error ?? submission.fieldErrors.reason} />
        <ErrorAlert message={submission.error} />
        <button type="submit" className="button danger" disabled={submission.submitting}>
          {t('reception.cancelDialog.submit')}
        </button>
      </form>
    </Dialog>
  );
}
