import { useTranslation } from 'react-i18next';
import { describeError } from '../../api/describeError.ts';
import type { DiagnosisView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import type { Loaded } from '../../hooks/useLoader.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { TableScroller } from '../../components/TableScroller.tsx';

type WorklistProps = { worklist: Loaded<DiagnosisView[]>; selectedId: number | null; onSelect: (id: number) => void };

/** Diagnoses waiting for the doctor (registered, examinations prescribed or done), oldest first. */
export function DiagnosisWorklist({ worklist, selectedId, onSelect }: WorklistProps) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const loadError = worklist.error ? t('common.loadFailed', { detail: describeError(worklist.error, t) }) : undefined;
  return (
    <section className="card" aria-labelledby="doctor-worklist-heading">
      <h2 id="doctor-worklist-heading">{t('doctor.worklist.heading')}</h2>
      <ErrorAlert message={loadError} />
      <TableScroller labelledBy="doctor-worklist-heading">
        <table aria-labelledby="doctor-worklist-heading" aria-busy={worklist.loading || undefined}>
          <thead>
            <tr>
              <th scope="col">{t('doctor.worklist.id')}</th>
              <th scope="col">{t('doctor.worklist.patient')}</th>
              <th scope="col">{t('doctor.worklist.status')}</th>
              <th scope="col">{t('doctor.worklist.updatedAt')}</th>
              <th scope="col">{t('doctor.worklist.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {worklist.data?.map((diagnosis) => (
              <tr
                key={diagnosis.id}
                data-diagnosis-id={diagnosis.id}
                data-reception-id={diagnosis.receptionId}
                data-status={diagnosis.status}
                className={diagnosis.id === selectedId ? 'selected' : undefined}
              >
                <th scope="row">#{diagnosis.id}</th>
                <td>
                  <span className="primary-text">{diagnosis.patientName}</span>
                  <span className="secondary-text">{diagnosis.patientId}</span>
                </td>
                <td>
                  <StatusText kind="diagnosis" status={diagnosis.status} />
                </td>
                <td>{time(diagnosis.updatedAt)}</td>
                <td>
                  <button
                    type="button"
                    className="button secondary"
                    aria-pressed={diagnosis.id === selectedId}
                    aria-label={t('common.rowAction', { action: t('common.select'), name: diagnosis.patientName, id: diagnosis.id })}
                    onClick={() => onSelect(diagnosis.id)}
                  >
                    {t('common.select')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroller>
      {worklist.data?.length === 0 && <p className="empty">{t('doctor.worklist.empty')}</p>}
    </section>
  );
}
