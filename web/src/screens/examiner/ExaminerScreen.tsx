import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { listRequestedExaminations } from '../../api/endpoints.ts';
import { describeError } from '../../api/describeError.ts';
import type { ExaminationView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { CancelExaminationDialog } from './CancelExaminationDialog.tsx';
import { PerformExaminationDialog } from './PerformExaminationDialog.tsx';
import { TableScroller } from '../../components/TableScroller.tsx';

type Pending = { action: 'perform' | 'cancel'; examination: ExaminationView };

/** The examination room: the requested examinations, each performed (result, attachment) or cancelled. */
export function ExaminerScreen() {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const worklist = useLoader(listRequestedExaminations, []);
  const [pending, setPending] = useState<Pending | null>(null);
  // New prescriptions and automatic cancellations arrive through the stream.
  useLiveEvents(useDebounced(worklist.reload));
  const loadError = worklist.error ? t('common.loadFailed', { detail: describeError(worklist.error, t) }) : undefined;
  const done = () => {
    setPending(null);
    worklist.reload();
  };
  const rowLabel = (action: string, examination: ExaminationView) =>
    t('common.rowAction', { action, name: examination.patientName, id: examination.id });

  return (
    <div className="screen examiner-screen">
      <h1>{t('screens.examiner')}</h1>
      <section className="card wide" aria-labelledby="examiner-worklist-heading">
        <h2 id="examiner-worklist-heading">{t('examiner.worklist.heading')}</h2>
        <ErrorAlert message={loadError} />
        <TableScroller labelledBy="examiner-worklist-heading">
          <table aria-labelledby="examiner-worklist-heading" aria-busy={worklist.loading || undefined}>
            <thead>
              <tr>
                <th scope="col">{t('examiner.worklist.id')}</th>
                <th scope="col">{t('examiner.worklist.type')}</th>
                <th scope="col">{t('examiner.worklist.patient')}</th>
                <th scope="col">{t('examiner.worklist.diagnosis')}</th>
                <th scope="col">{t('examiner.worklist.reception')}</th>
                <th scope="col">{t('examiner.worklist.instructions')}</th>
                <th scope="col">{t('examiner.worklist.requestedAt')}</th>
                <th scope="col">{t('examiner.worklist.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {worklist.data?.map((examination) => (
                <tr
                  key={examination.id}
                  data-examination-id={examination.id}
                  data-diagnosis-id={examination.diagnosisId}
                  data-reception-id={examination.receptionId}
                  data-status={examination.status}
                >
                  <th scope="row">#{examination.id}</th>
                  <td>{examination.examinationType}</td>
                  <td>
                    <span className="primary-text">{examination.patientName}</span>
                    <span className="secondary-text">{examination.patientId}</span>
                  </td>
                  <td>#{examination.diagnosisId}</td>
                  <td>#{examination.receptionId}</td>
                  <td className="clinical-text">{examination.instructions ?? ''}</td>
                  <td>{time(examination.createdAt)}</td>
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="button primary"
                        aria-label={rowLabel(t('examiner.perform'), examination)}
                        onClick={() => setPending({ action: 'perform', examination })}
                      >
                        {t('examiner.perform')}
                      </button>
                      <button
                        type="button"
                        className="button danger"
                        aria-label={rowLabel(t('examiner.cancel'), examination)}
                        onClick={() => setPending({ action: 'cancel', examination })}
                      >
                        {t('examiner.cancel')}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroller>
        {worklist.data?.length === 0 && <p className="empty">{t('examiner.worklist.empty')}</p>}
      </section>
      {pending?.action === 'perform' && <PerformExaminationDialog examination={pending.examination} onClose={() => setPending(null)} onDone={done} />}
      {pending?.action === 'cancel' && <CancelExaminationDialog examination={pending.examination} onClose={() => setPending(null)} onDone={done} />}
    </div>
  );
}
