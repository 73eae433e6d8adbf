import { useTranslation } from 'react-i18next';
import type { PrescriptionView } from '../../api/types.ts';
import { StatusText } from '../../components/StatusText.tsx';
import { AttachmentList } from './AttachmentList.tsx';
import { TableScroller } from '../../components/TableScroller.tsx';

/** The diagnosis's prescriptions with their status, result and, once performed, the examination's attachments. */
export function PrescriptionList({ prescriptions, liveRound }: { prescriptions: PrescriptionView[]; liveRound: number }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="prescriptions-heading">
      <h3 id="prescriptions-heading">{t('doctor.prescriptions.heading')}</h3>
      {prescriptions.length === 0 ? (
        <p className="empty">{t('doctor.prescriptions.empty')}</p>
      ) : (
        <TableScroller labelledBy="prescriptions-heading">
          <table aria-labelledby="prescriptions-heading">
            <thead>
              <tr>
                <th scope="col">{t('doctor.prescriptions.examinationType')}</th>
                <th scope="col">{t('doctor.prescriptions.instructions')}</th>
                <th scope="col">{t('doctor.prescriptions.status')}</th>
                <th scope="col">{t('doctor.prescriptions.result')}</th>
                <th scope="col">{t('doctor.prescriptions.attachments')}</th>
              </tr>
            </thead>
            <tbody>
              {prescriptions.map((prescription) => (
                <tr
                  key={prescription.prescriptionId}
                  data-prescription-id={prescription.prescriptionId}
                  data-examination-id={prescription.examinationId}
                  data-status={prescription.status}
                >
                  <th scope="row">{prescription.examinationType}</th>
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
            </tbody>
          </table>
        </TableScroller>
      )}
    </section>
  );
}
