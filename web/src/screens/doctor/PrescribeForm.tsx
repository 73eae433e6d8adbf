import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { prescribe } from '../../api/endpoints.ts';
import type { DiagnosisView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText, hasErrors, optionalText } from '../../forms/validation.ts';

type PrescribeFormProps = {
  diagnosisId: number;
  /** Sends the prescription with the submission's key (again with the doctor's reason if it is another department's diagnosis). */
  decide: (key: string, newKey: () => string, send: (key: string, reason?: string) => Promise<DiagnosisView>) => Promise<DiagnosisView>;
  onPrescribed: (view: DiagnosisView) => void;
};

/** Prescribes an examination on the diagnosis: its type (required) and instructions for the examiner. */
export function PrescribeForm({ diagnosisId, decide, onPrescribed }: PrescribeFormProps) {
  const { t } = useTranslation();
  const notify = useToast();
  const submission = useSubmission();
  const [examinationType, setExaminationType] = useState('');
  const [instructions, setInstructions] = useState('');
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = {
      examinationType: checkText(examinationType, { required: true, max: limits.examinationType }, t),
      instructions: checkText(instructions, { required: false, max: limits.clinicalText }, t),
    };
    setErrors(found);
    if (hasErrors(found)) {
      submission.reset();
      return;
    }
    const type = examinationType.trim();
    const body = { examinationType: type, instructions: optionalText(instructions) };
    const answer = await submission.submit((key, newKey) => decide(key, newKey, (sent, reason) => prescribe(diagnosisId, body, sent, reason)));
    if (!answer) return;
    notify(t('doctor.prescribe.done', { type }));
    setExaminationType('');
    setInstructions('');
    onPrescribed(answer);
  }

  return (
    <form className="form sub-card" aria-labelledby="prescribe-heading" onSubmit={onSubmit} noValidate>
      <h3 id="prescribe-heading">{t('doctor.prescribe.heading')}</h3>
      <Field id="prescribe-examinationType" required label={t('doctor.prescribe.examinationType')} value={examinationType} onChange={setExaminationType} error={errors.examinationType ?? submission.fieldErrors.examinationType} autoComplete="off" />
      <Field id="prescribe-instructions" multiline label={t('doctor.prescribe.instructions')} value={instructions} onChange={setInstructions} error={errors.instructions ?? submission.fieldErrors.instructions} />
      <ErrorAlert message={submission.error} />
      <button type="submit" className="button primary" disabled={submission.submitting}>
        {t('doctor.prescribe.submit')}
      </button>
    </form>
  );
}
