import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText } from '../../forms/validation.ts';

type RequiredTextFormProps<T> = {
  id: string;
  heading: string;
  label: string;
  submitLabel: string;
  /** The body's field, to show the server's validation error for it. */
  field: string;
  danger?: boolean;
  /** The toast once the server accepted. */
  doneMessage: string;
  /** The call, given the trimmed text, the submission's key and how to replace it (useSubmission). */
  write: (text: string, idempotencyKey: string, newKey: () => string) => Promise<T>;
  /** The server's answer, once it accepted. */
  onDone: (answer: T) => void;
  /**
   * Why the decision cannot be taken now (the state machine would refuse it): shown under the
   * button, which is disabled meanwhile. The text can still be written, to be sent once allowed.
   */
  blockedReason?: string;
};

/**
 * A decision that needs one clinical text (the opinion to complete, the reason to reject). It is
 * offered only when the state allows it: otherwise its button is disabled and `blockedReason` says
 * why. The server's refusal (a 409, should the state have changed meanwhile) shows under the button.
 */
export function RequiredTextForm<T>({ id, heading, label, submitLabel, field, danger = false, doneMessage, write, onDone, blockedReason }: RequiredTextFormProps<T>) {
  const { t } = useTranslation();
  const notify = useToast();
  const submission = useSubmission();
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const headingId = `${id}-heading`;
  const blockedId = `${id}-blocked`;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = checkText(text, { required: true, max: limits.clinicalText }, t);
    setError(found);
    if (found) {
      submission.reset();
      return;
    }
    if (blockedReason) return;
    const answer = await submission.submit((key, newKey) => write(text.trim(), key, newKey));
    if (answer === undefined) return;
    setText('');
    notify(doneMessage);
    onDone(answer);
  }

  return (
    <form className="form sub-card" aria-labelledby={headingId} onSubmit={onSubmit} noValidate>
      <h3 id={headingId}>{heading}</h3>
      <Field id={`${id}-${field}`} multiline required label={label} value={text} onChange={setText} error={error ?? submission.fieldErrors[field]} />
      <ErrorAlert message={submission.error} />
      {blockedReason && (
        <p id={blockedId} className="hint" data-blocked="true">
          {blockedReason}
        </p>
      )}
      <button
        type="submit"
        className={`button ${danger ? 'danger' : 'primary'}`}
        disabled={submission.submitting || Boolean(blockedReason)}
        aria-describedby={blockedReason ? blockedId : undefined}
      >
        {submitLabel}
      </button>
    </form>
  );
}
