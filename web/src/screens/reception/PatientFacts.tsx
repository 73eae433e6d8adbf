import { useTranslation } from 'react-i18next';
import type { PatientView } from '../../api/types.ts';

/** The last four digits of a phone number: enough for the desk to tell two patients apart, without showing the whole number on a screen others may see. */
function phoneEnding(phone: string): string {
  return phone.replace(/[^0-9]/g, '').slice(-4);
}

/**
 * Who a patient of the registry is, as the desk tells patients apart: the number and the name, then
 * the birth date, sex and the phone's last digits. The parts are spaced in the text itself, so a
 * screen reader, reading an option or a button's description as one string, reads them apart.
 */
export function PatientFacts({ patient }: { patient: PatientView }) {
  const { t } = useTranslation();
  const details = [
    patient.birthDate ?? t('reception.patient.noBirthDate'),
    t(`reception.patient.sex.${patient.sex}`),
    ...(patient.phone ? [t('reception.patient.phoneEnding', { digits: phoneEnding(patient.phone) })] : []),
  ];
  return (
    <span className="patient-facts">
      <span className="patient-number">{patient.patientId}</span>{' '}
      <span className="patient-name">{patient.name}</span>{' '}
      <span className="patient-details">{details.join(' · ')}</span>
      {patient.status === 'MERGED' && (
        <>
          {' '}
          <span className="patient-merged">{t('reception.search.merged', { patientId: patient.mergedInto ?? '' })}</span>
        </>
      )}
    </span>
  );
}

/** Whether a visit can be registered for the patient: a merged number only points to the patient kept. */
export function isChoosable(patient: PatientView): boolean {
  return patient.status === 'ACTIVE';
}
