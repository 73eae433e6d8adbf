import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { limits } from '../forms/limits.ts';
import { useSubmission } from '../forms/useSubmission.ts';
import { checkText, optionalText } from '../forms/validation.ts';
import { Dialog } from './Dialog.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';
import { Field } from './Field.tsx';
import { useToast } from './Toasts.tsx';

type ReasonDialogProps = {
  title: string;
  fieldId: string;
  label: string;
  submitLabel: string;
  /** The toast once the server accepted. */
  doneMessage: string;
  /** The call, given the trimmed reason (undefined when blank) and the idempotency key. */
  submit: (reason: string | undefined, idempotencyKey: string) => Promise<unknown>;
  onClose: () => void;
  onDone: () => void;
};

/**
 * Cancels something from a row's dialog with an optional clinical reason; the server's field
 * error shows under the reason, any other refusal under the form.
 */
export function ReasonDialog({ title, fieldId, label, submitLabel, doneMessage, submit, onClose, onDone }: ReasonDialogProps) {
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
    const accepted = await submission.submit((key) => submit(optionalText(reason), key));
    if (!accepted) return;
    notify(doneMessage);
    onDone();
  }

  return (
    <Dialog title={title} onClose={onClose}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <Field id={fieldId} multiline label={label} value={reason} onChange={setReason} error={error ?? submission.fieldErrors.reason} />
        <ErrorAlert message={submission.error} />
        <button type="submit" className="button danger" disabled={submission.submitting}>
          {submitLabel}
        </button>
      </form>
    </Dialog>
  );
}
