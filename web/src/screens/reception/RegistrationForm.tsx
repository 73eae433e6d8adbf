import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { registerReception } from '../../api/endpoints.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { SelectField } from '../../components/SelectField.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkBirthDate, checkText, hasErrors, normalizeDate, optionalText } from '../../forms/validation.ts';
import { useDepartments } from '../../i18n/departments.ts';
import { hospitalDay } from '../../i18n/hospitalTime.ts';

type Values = { patientId: string; patientName: string; birthDate: string; department: string; symptom: string };

/** A blank form, its department the hospital's default (none when the gateway lists no departments). */
function blank(defaultDepartment: string | null): Values {
  return { patientId: '', patientName: '', birthDate: '', department: defaultDepartment ?? '', symptom: '' };
}

/**
 * Registers a visit (접수): patient id and name required, the department chosen from the
 * hospital's (its code is sent), the rest optional, checked as the API checks them.
 */
export function RegistrationForm({ onRegistered }: { onRegistered: () => void }) {
  const { t } = useTranslation();
  const { timeZone } = useConsoleConfig();
  const departments = useDepartments();
  const notify = useToast();
  const submission = useSubmission();
  const [values, setValues] = useState<Values>(() => blank(departments.defaultDepartment));
  const [errors, setErrors] = useState<Partial<Record<keyof Values, string>>>({});
  const firstField = useRef<HTMLFormElement>(null);
  const set = (field: keyof Values) => (value: string) => setValues((current) => ({ ...current, [field]: value }));

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const birthDate = normalizeDate(values.birthDate);
    if (birthDate !== values.birthDate) setValues((current) => ({ ...current, birthDate }));
    const found = {
      patientId: checkText(values.patientId, { required: true, max: limits.patientId }, t),
      patientName: checkText(values.patientName, { required: true, max: limits.patientName }, t),
      birthDate: checkBirthDate(birthDate, hospitalDay(new Date(), timeZone), t),
      symptom: checkText(values.symptom, { required: false, max: limits.clinicalText }, t),
    };
    setErrors(found);
    if (hasErrors(found)) {
      submission.reset();
      focusFirstInvalid(firstField.current);
      return;
    }
    const reception = await submission.submit((key) =>
      registerReception(
        {
          patientId: values.patientId.trim(),
          patientName: values.patientName.trim(),
          birthDate: optionalText(birthDate),
          department: optionalText(values.department),
          symptom: optionalText(values.symptom),
        },
        key,
      ),
    );
    if (!reception) return;
    notify(t('reception.form.registered', { name: reception.patientName, id: reception.id }));
    setValues(blank(departments.defaultDepartment));
    onRegistered();
    firstField.current?.querySelector<HTMLInputElement>('input')?.focus();
  }

  // The server's field errors show next to the fields, as the form's own do.
  const fieldError = (field: keyof Values) => errors[field] ?? submission.fieldErrors[field];
  const formError = submission.error ?? (hasErrors(errors) ? t('validation.formHasErrors') : undefined);

  return (
    <section className="card" aria-labelledby="registration-heading">
      <h2 id="registration-heading">{t('reception.form.heading')}</h2>
      <form ref={firstField} className="form" onSubmit={onSubmit} noValidate>
        <div className="form-row">
          <Field id="patientId" label={t('reception.form.patientId')} value={values.patientId} onChange={set('patientId')} error={fieldError('patientId')} required autoComplete="off" />
          <Field id="patientName" label={t('reception.form.patientName')} value={values.patientName} onChange={set('patientName')} error={fieldError('patientName')} required autoComplete="off" />
        </div>
        <div className="form-row">
          {/* Text, not type="date": a date input shows the browser's locale (04/12/1987 on an
              English Windows), and the hospital writes 1987-04-12 on every screen and paper. */}
          <Field
            id="birthDate"
            label={t('reception.form.birthDate')}
            hint={t('reception.form.birthDateHint')}
            value={values.birthDate}
            onChange={set('birthDate')}
            onBlur={() => set('birthDate')(normalizeDate(values.birthDate))}
            error={fieldError('birthDate')}
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
          />
          {departments.options.length > 0 && (
            <SelectField
              id="department"
              label={t('reception.form.department')}
              value={values.department}
              onChange={set('department')}
              options={departments.options}
              error={fieldError('department')}
              required
            />
          )}
        </div>
        <Field id="symptom" multiline label={t('reception.form.symptom')} value={values.symptom} onChange={set('symptom')} error={fieldError('symptom')} />
        <ErrorAlert message={formError} />
        <button type="submit" className="button primary" disabled={submission.submitting}>
          {t('reception.form.submit')}
        </button>
      </form>
    </section>
  );
}

function focusFirstInvalid(form: HTMLFormElement | null): void {
  // After React has marked the fields invalid.
  requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
}
