import { useRef, useState, type FormEvent, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import { registerReception } from '../../api/endpoints.ts';
import type { PatientView, ReceptionView } from '../../api/types.ts';
import { ComboboxField } from '../../components/ComboboxField.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkText, optionalText } from '../../forms/validation.ts';
import { useDepartments } from '../../i18n/departments.ts';
import { CHOSEN_PATIENT_FACTS_ID, ChosenPatient } from './ChosenPatient.tsx';

type VisitFormProps = {
  /** The patient chosen from the registry, or null until one is. */
  patient: PatientView | null;
  /** The register button: where the focus goes once a patient is chosen, so Enter registers the visit. */
  submitRef: Ref<HTMLButtonElement>;
  onChangePatient: () => void;
  /** Submitted with no patient chosen: the search is where to go. */
  onNoPatient: () => void;
  /** The visit as the server registered it: with its queue number and ticket. */
  onRegistered: (reception: ReceptionView) => void;
};

/**
 * The visit (접수) of the chosen patient: the department chosen from the hospital's (preselected to
 * its default; found by typing its name in either language, its code or an alias; the code is
 * sent) and the symptom, optional. Only the patient's number is sent: the
 * visit takes the registry's name and birth date.
 */
export function VisitForm({ patient, submitRef, onChangePatient, onNoPatient, onRegistered }: VisitFormProps) {
  const { t } = useTranslation();
  const departments = useDepartments();
  const notify = useToast();
  const submission = useSubmission();
  const [department, setDepartment] = useState(departments.defaultDepartment ?? '');
  const [symptom, setSymptom] = useState('');
  const [errors, setErrors] = useState<{ patient?: string | undefined; symptom?: string | undefined }>({});
  const form = useRef<HTMLFormElement>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = { patient: patient ? undefined : t('reception.chosen.required'), symptom: checkText(symptom, { required: false, max: limits.clinicalText }, t) };
    setErrors(found);
    if (!patient) {
      submission.reset();
      onNoPatient();
      return;
    }
    if (found.symptom) {
      submission.reset();
      form.current?.querySelector<HTMLElement>('#symptom')?.focus();
      return;
    }
    const patientId = patient.patientId;
    const reception = await submission.submit((key) => registerReception({ patientId, department: optionalText(department), symptom: optionalText(symptom) }, key));
    if (!reception) return;
    notify(t('reception.form.registered', { name: reception.patientName, patientId: reception.patientId, id: reception.id }));
    setDepartment(departments.defaultDepartment ?? '');
    setSymptom('');
    onRegistered(reception);
  }

  // A refused patient (merged, say) is named next to them; the form's alert says what the server said.
  const missingPatient = patient ? undefined : errors.patient;
  const formError = submission.error ?? missingPatient ?? (errors.symptom ? t('validation.formHasErrors') : undefined);

  return (
    <form ref={form} className="form visit-form" aria-labelledby="registration-heading" onSubmit={onSubmit} noValidate>
      {patient && <ChosenPatient patient={patient} error={submission.fieldErrors.patientId} onChange={onChangePatient} />}
      <div className="form-row">
        {departments.options.length > 0 && (
          <ComboboxField
            id="department"
            label={t('reception.form.department')}
            value={department}
            onChange={setDepartment}
            options={departments.options}
            error={submission.fieldErrors.department}
            required
          />
        )}
      </div>
      <Field id="symptom" multiline label={t('reception.form.symptom')} value={symptom} onChange={setSymptom} error={errors.symptom ?? submission.fieldErrors.symptom} />
      <ErrorAlert message={formError} />
      <button ref={submitRef} type="submit" className="button primary" disabled={submission.submitting} aria-describedby={patient ? CHOSEN_PATIENT_FACTS_ID : undefined}>
        {t('reception.form.submit')}
      </button>
    </form>
  );
}
