import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { listRequestedExaminations } from '../../api/endpoints.ts';
import type { ExaminationView } from '../../api/types.ts';
import { ExaminationName } from '../../components/ExaminationName.tsx';
import { WorklistTable } from '../../components/WorklistTable.tsx';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { CancelExaminationDialog } from './CancelExaminationDialog.tsx';
import { PerformExaminationDialog } from './PerformExaminationDialog.tsx';

type Pending = { action: 'perform' | 'cancel'; examination: ExaminationView };

/** The examination room: the requested examinations, each performed (result, attachment) or cancelled. */
export function ExaminerScreen() {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const worklist = useLoader(listRequestedExaminations, []);
  const [pending, setPending] = useState<Pending | null>(null);
  // New prescriptions and automatic cancellations arrive through the stream.
  useLiveEvents(useDebounced(worklist.reload));
  const done = () => {
    setPending(null);
    worklist.reload();
  };
  const rowLabel = (action: string, examination: ExaminationView) =>
    t('common.rowAction', { action, name: examination.patientName, id: examination.id });

  return (
    <div className="screen examiner-screen">
      <h1>{t('screens.examiner')}</h1>
      <WorklistTable
        headingId="examiner-worklist-heading"
        heading={t('examiner.worklist.heading')}
        columns={[
          t('examiner.worklist.id'),
          t('examiner.worklist.type'),
          t('examiner.worklist.patient'),
          t('examiner.worklist.diagnosis'),
          t('examiner.worklist.reception'),
          t('examiner.worklist.instructions'),
          t('examiner.worklist.requestedAt'),
          t('examiner.worklist.actions'),
        ]}
        list={worklist}
        empty={t('examiner.worklist.empty')}
        renderRow={(examination) => (
          <tr
            key={examination.id}
            data-examination-id={examination.id}
            data-diagnosis-id={examination.diagnosisId}
            data-reception-id={examination.receptionId}
            data-status={examination.status}
          >
            <th scope="row">#{examination.id}</th>
            <td>
              <ExaminationName examinationType={examination.examinationType} />
            </td>
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
        )}
      />
      {pending?.action === 'perform' && <PerformExaminationDialog examination={pending.examination} onClose={() => setPending(null)} onDone={done} />}
      {pending?.action === 'cancel' && <CancelExaminationDialog examination={pending.examination} onClose={() => setPending(null)} onDone={done} />}
    </div>
  );
}
