import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { callExamination, listRequestedExaminations, markExaminationNoShow } from '../../api/endpoints.ts';
import type { ExaminationView } from '../../api/types.ts';
import { ExaminationName } from '../../components/ExaminationName.tsx';
import { CallActions } from '../../components/queue/CallActions.tsx';
import { CallState } from '../../components/queue/CallState.tsx';
import { QueueNumber } from '../../components/queue/QueueNumber.tsx';
import { RoomField } from '../../components/queue/RoomField.tsx';
import { WorklistTable } from '../../components/WorklistTable.tsx';
import { useCallRoom } from '../../hooks/useCallRoom.ts';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useDepartments } from '../../i18n/departments.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { CancelExaminationDialog } from './CancelExaminationDialog.tsx';
import { PerformExaminationDialog } from './PerformExaminationDialog.tsx';

type Pending = { action: 'perform' | 'cancel'; examination: ExaminationView };

/**
 * The examination room: the requested examinations, each patient called in by their queue number
 * (their visit's department's, named beside the patient when it is not the room's own), then each
 * examination performed (result, attachment) or cancelled.
 */
export function ExaminerScreen() {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const departments = useDepartments();
  const room = useCallRoom('examiner');
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
        tools={<RoomField id="examiner-room" label={t('queue.room.examination')} hint={t('queue.room.hint')} room={room} />}
        columns={[
          t('queue.number'),
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
            data-queue-number={examination.queueNumber}
          >
            <td className="queue-number-cell">
              <QueueNumber number={examination.queueNumber} />
            </td>
            <th scope="row">#{examination.id}</th>
            <td>
              <ExaminationName examinationType={examination.examinationType} />
            </td>
            <td>
              <span className="primary-text">{examination.patientName}</span>
              <span className="secondary-text">{examination.patientId}</span>
              {/* The room calls every department's patients: 내과 12 is not 외과 12. Beside the patient, where the column is wide anyway. */}
              {examination.visitDepartment && examination.queueNumber !== undefined && (
                <span className="secondary-text queue-from">{t('queue.from', { department: departments.name(examination.visitDepartment) })}</span>
              )}
              <CallState state={examination} roomKind="examination" />
            </td>
            <td>#{examination.diagnosisId}</td>
            <td>#{examination.receptionId}</td>
            <td className="clinical-text">{examination.instructions ?? ''}</td>
            <td>{time(examination.createdAt)}</td>
            <td>
              <div className="row-actions">
                <CallActions
                  state={examination}
                  patientName={examination.patientName}
                  rowId={examination.id}
                  call={(key) => callExamination(examination.id, room.sent, key)}
                  noShow={(key) => markExaminationNoShow(examination.id, key)}
                  onDone={worklist.reload}
                />
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
