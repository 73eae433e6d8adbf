import { useTranslation } from 'react-i18next';
import type { PrescriptionView } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { ExaminationName } from '../../components/ExaminationName.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import { AttachmentList } from './AttachmentList.tsx';

/** The diagnosis's prescriptions with their status, result and, once performed, the examination's attachments. */
export function PrescriptionList({ prescriptions, liveRound }: { prescriptions: PrescriptionView[]; liveRound: number }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="prescriptions-heading">
      <h3 id="prescriptions-heading">{t('doctor.prescriptions.heading')}</h3>
      {prescriptions.length === 0 ? (
        <p className="empty">{t('doctor.prescriptions.empty')}</p>
      ) : (
        <DataTable
          labelledBy="prescriptions-heading"
          columns={[
            t('doctor.prescriptions.examinationType'),
            t('doctor.prescriptions.instructions'),
            t('doctor.prescriptions.status'),
            t('doctor.prescriptions.result'),
            t('doctor.prescriptions.attachments'),
          ]}
        >
          {prescriptions.map((prescription) => (
            <tr
              key={prescription.prescriptionId}
              data-prescription-id={prescription.prescriptionId}
              data-examination-id={prescription.examinationId}
              data-status={prescription.status}
            >
              <th scope="row">
                <ExaminationName examinationType={prescription.examinationType} />
              </th>
              <td className="clinical-text">{prescription.instructions ?? ''}</td>
              <td>
                <StatusText kind="examination" status={prescription.status} />
              </td>
              <td className="clinical-text">{prescription.result ?? prescription.cancelReason ?? ''}</td>
              <td>
                {prescription.status === 'PERFORMED' && prescription.examinationId !== undefined && (
                  <AttachmentList examinationId={prescription.examinationId} examinationType={prescription.examinationType} liveRound={liveRound} />
                )}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
