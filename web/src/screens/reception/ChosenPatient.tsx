import { useTranslation } from 'react-i18next';
import type { PatientView } from '../../api/types.ts';
import { PatientFacts } from './PatientFacts.tsx';

export const CHOSEN_PATIENT_FACTS_ID = 'chosen-patient-facts';

type ChosenPatientProps = {
  patient: PatientView;
  /** The server's refusal of the patient (a merged one, say), next to them. */
  error: string | undefined;
  onChange: () => void;
};

/** The patient the visit is for, as the registry has them, and the way back to the search. */
export function ChosenPatient({ patient, error, onChange }: ChosenPatientProps) {
  const { t } = useTranslation();
  return (
    <section className={`chosen-patient${error ? ' field-invalid' : ''}`} aria-labelledby="chosen-patient-heading" data-patient-id={patient.patientId}>
      <div>
        <h3 id="chosen-patient-heading">{t('reception.chosen.heading')}</h3>
        <p id={CHOSEN_PATIENT_FACTS_ID} className="chosen-patient-facts">
          <PatientFacts patient={patient} />
        </p>
        {error && <p className="field-error">{error}</p>}
      </div>
      <button type="button" className="button secondary" onClick={onChange}>
        {t('reception.chosen.change')}
      </button>
    </section>
  );
}
