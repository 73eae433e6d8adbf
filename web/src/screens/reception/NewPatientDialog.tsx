import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { registerPatient } from '../../api/endpoints.ts';
import { possibleDuplicatesOf } from '../../api/problem.ts';
import { patientSexes, type PatientSex, type PatientView } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { SelectField } from '../../components/SelectField.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkBirthDate, checkPhone, checkText, hasErrors, normalizeDate, optionalText } from '../../forms/validation.ts';
import { hospitalDay } from '../../i18n/hospitalTime.ts';
import { DuplicateCandidates } from './DuplicateCandidates.tsx';

type Values = { name: string; birthDate: string; sex: PatientSex | ''; phone: string };
export type NewPatientPrefill = Partial<Pick<Values, 'name' | 'birthDate'>>;

/**
 * What a search that found nobody already says about the new patient: the name typed, or the birth
 * date. Digits (a number or a phone's) and initials say nothing to fill in.
 */
export function prefillFrom(query: string): NewPatientPrefill {
  const text = query.trim();
  const date = normalizeDate(text);
  if (/^\d{4}-\d{2}-\d{2}$/.test(date)) return { birthDate: date };
  if (text === '' || /\d/.test(text) || /^[ㄱ-ㅎ\s]+$/.test(text)) return {};
  return { name: text };
}

type NewPatientDialogProps = {
  prefill: NewPatientPrefill;
  onClose: () => void;
  /** The patient registered, or the one already registered the desk chose instead. */
  onChosen: (patient: PatientView) => void;
};

/**
 * Registers a patient once (POST /patients): name, birth date (required, typed in the hospital's
 * format), sex, phone (optional). A look-alike already registered is shown instead of a second
 * registration, to be chosen, or registered anyway as a different person.
 */
export function NewPatientDialog({ prefill, onClose, onChosen }: NewPatientDialogProps) {
  const { t } = useTranslation();
  const { timeZone } = useConsoleConfig();
  const notify = useToast();
  const submission = useSubmission();
  const [values, setValues] = useState<Values>({ name: prefill.name ?? '', birthDate: prefill.birthDate ?? '', sex: '', phone: '' });
  const [errors, setErrors] = useState<Partial<Record<keyof Values, string>>>({});
  const form = useRef<HTMLFormElement>(null);
  const candidates = possibleDuplicatesOf(submission.failure);
  // The look-alikes were found for what was typed: a change asks the registry again.
  const set = (field: keyof Values) => (value: string) => {
    setValues((current) => ({ ...current, [field]: value }));
    if (candidates) submission.reset();
  };

  async function register(notADuplicate: boolean) {
    const birthDate = normalizeDate(values.birthDate);
    if (birthDate !== values.birthDate) setValues((current) => ({ ...current, birthDate }));
    const found = {
      name: checkText(values.name, { required: true, max: limits.patientName }, t),
      birthDate: birthDate === '' ? t('validation.required') : checkBirthDate(birthDate, hospitalDay(new Date(), timeZone), t),
      sex: values.sex === '' ? t('validation.required') : undefined,
      phone: checkPhone(values.phone, t),
    };
    setErrors(found);
    // (A sex not chosen is among the errors; asked again so that `values.sex` is one from here on.)
    if (hasErrors(found) || values.sex === '') {
      submission.reset();
      // After React has marked the fields invalid.
      requestAnimationFrame(() => form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    const body = { name: values.name.trim(), birthDate, sex: values.sex, phone: optionalText(values.phone), ...(notADuplicate ? { notADuplicate } : {}) };
    const patient = await submission.submit((key) => registerPatient(body, key));
    if (!patient) return;
    notify(t('reception.newPatient.registered', { name: patient.name, patientId: patient.patientId }));
    onChosen(patient);
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void register(false);
  }

  const fieldError = (field: keyof Values) => errors[field] ?? submission.fieldErrors[field];
  // The look-alikes say it themselves, in the desk's language.
  const formError = candidates ? undefined : (submission.error ?? (hasErrors(errors) ? t('validation.formHasErrors') : undefined));
  const sexes = [{ value: '', label: t('reception.newPatient.sexChoose') }, ...patientSexes.map((sex) => ({ value: sex, label: t(`reception.patient.sex.${sex}`) }))];

  return (
    <Dialog title={t('reception.newPatient.title')} onClose={onClose}>
      <form ref={form} className="form" onSubmit={onSubmit} noValidate>
        <Field id="new-patient-name" required label={t('reception.newPatient.name')} value={values.name} onChange={set('name')} error={fieldError('name')} autoComplete="off" maxLength={limits.patientName} />
        {/* Text, not type="date": a date input shows the browser's locale (04/12/1987 on an
            English Windows), and the hospital writes 1987-04-12 on every screen and paper. */}
        <Field
          id="new-patient-birth-date"
          required
          label={t('reception.form.birthDate')}
          hint={t('reception.form.birthDateHint')}
          value={values.birthDate}
          onChange={set('birthDate')}
          onBlur={() => setValues((current) => ({ ...current, birthDate: normalizeDate(current.birthDate) }))}
          error={fieldError('birthDate')}
          inputMode="numeric"
          autoComplete="off"
          maxLength={10}
        />
        <div className="form-row">
          <SelectField id="new-patient-sex" required label={t('reception.newPatient.sex')} value={values.sex} onChange={set('sex')} options={sexes} error={fieldError('sex')} />
          <Field id="new-patient-phone" label={t('reception.newPatient.phone')} hint={t('reception.newPatient.phoneHint')} value={values.phone} onChange={set('phone')} error={fieldError('phone')} inputMode="tel" autoComplete="off" maxLength={limits.phone} />
        </div>
        <ErrorAlert message={formError} />
        {candidates ? (
          <DuplicateCandidates candidates={candidates} submitting={submission.submitting} onChoose={onChosen} onRegisterAnyway={() => void register(true)} />
        ) : (
          <button type="submit" className="button primary" disabled={submission.submitting}>
            {t('reception.newPatient.submit')}
          </button>
        )}
      </form>
    </Dialog>
  );
}
