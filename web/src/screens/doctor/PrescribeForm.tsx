import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { prescribe } from '../../api/endpoints.ts';
import type { DiagnosisView } from '../../api/types.ts';
import { ComboboxField } from '../../components/ComboboxField.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText, hasErrors, optionalText } from '../../forms/validation.ts';
import { inLanguage, useExaminations } from '../../i18n/examinations.ts';

type PrescribeFormProps = {
  diagnosisId: number;
  /** Sends the prescription with the submission's key (again with the doctor's reason if it is another department's diagnosis). */
  decide: (key: string, newKey: () => string, send: (key: string, reason?: string) => Promise<DiagnosisView>) => Promise<DiagnosisView>;
  onPrescribed: (view: DiagnosisView) => void;
};

/**
 * Prescribes an examination on the diagnosis: one of the hospital's catalog (required; its code is
 * sent, the server refuses anything else) and instructions for the examiner, which start as the
 * examination's default ones. A gateway that predates the catalog sends none: the type is then
 * typed as free text, as that gateway's services take it.
 */
export function PrescribeForm({ diagnosisId, decide, onPrescribed }: PrescribeFormProps) {
  const { t, i18n } = useTranslation();
  const examinations = useExaminations();
  const notify = useToast();
  const submission = useSubmission();
  const [examinationType, setExaminationType] = useState('');
  const [instructions, setInstructions] = useState('');
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  // The instructions the form filled in itself: replaced when another examination is chosen, unlike the doctor's own.
  const filledIn = useRef('');
  const catalog = examinations.options.length > 0;
  const chosen = examinations.entry(examinationType);

  function choose(code: string) {
    setExaminationType(code);
    if (instructions.trim() !== '' && instructions !== filledIn.current) return;
    const defaults = examinations.entry(code)?.defaultInstructions;
    filledIn.current = defaults ? inLanguage(defaults, i18n.language) : '';
    setInstructions(filledIn.current);
  }

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = {
      examinationType: catalog
        ? (chosen ? undefined : t('doctor.prescribe.chooseExamination'))
        : checkText(examinationType, { required: true, max: limits.examinationType }, t),
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
    notify(t('doctor.prescribe.done', { type: examinations.name(type) }));
    setExaminationType('');
    setInstructions('');
    filledIn.current = '';
    onPrescribed(answer);
  }

  const typeError = errors.examinationType ?? submission.fieldErrors.examinationType;
  return (
    <form className="form sub-card" aria-labelledby="prescribe-heading" onSubmit={onSubmit} noValidate>
      <h3 id="prescribe-heading">{t('doctor.prescribe.heading')}</h3>
      {catalog ? (
        <ComboboxField
          id="prescribe-examinationType"
          required
          label={t('doctor.prescribe.examinationType')}
          value={examinationType}
          onChange={choose}
          options={examinations.options}
          error={typeError}
          note={chosen && t('doctor.prescribe.expected', { minutes: chosen.expectedMinutes })}
        />
      ) : (
        <Field id="prescribe-examinationType" required label={t('doctor.prescribe.examinationType')} value={examinationType} onChange={setExaminationType} error={typeError} autoComplete="off" />
      )}
      <Field id="prescribe-instructions" multiline label={t('doctor.prescribe.instructions')} value={instructions} onChange={setInstructions} error={errors.instructions ?? submission.fieldErrors.instructions} />
      <ErrorAlert message={submission.error} />
      <button type="submit" className="button primary" disabled={submission.submitting}>
        {t('doctor.prescribe.submit')}
      </button>
    </form>
  );
}
