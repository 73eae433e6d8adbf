import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { DiagnosisView } from '../../api/types.ts';
import { CallState } from '../../components/queue/CallState.tsx';
import { QueueNumber } from '../../components/queue/QueueNumber.tsx';
import { RoomField } from '../../components/queue/RoomField.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import { WorklistTable } from '../../components/WorklistTable.tsx';
import type { CallRoom } from '../../hooks/useCallRoom.ts';
import type { Loaded } from '../../hooks/useLoader.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { DiagnosisCallActions } from './DiagnosisCallActions.tsx';

type WorklistProps = {
  worklist: Loaded<DiagnosisView[]>;
  selectedId: number | null;
  onSelect: (id: number) => void;
  /** The room the doctor's calls name, as the field above the table holds it. */
  room: CallRoom;
  /** A call or a no-show was taken; the diagnosis as the server answered it. */
  onChanged: (view: DiagnosisView) => void;
  children?: ReactNode;
};

/**
 * Diagnoses waiting for the doctor (registered, examinations prescribed or done), oldest first,
 * each with its queue number and whether it was called; the patient is called in from their row.
 * `children` below the table.
 */
export function DiagnosisWorklist({ worklist, selectedId, onSelect, room, onChanged, children }: WorklistProps) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  return (
    <WorklistTable
      className="card"
      headingId="doctor-worklist-heading"
      heading={t('doctor.worklist.heading')}
      tools={<RoomField id="doctor-room" label={t('queue.room.consulting')} hint={t('queue.room.hint')} room={room} />}
      columns={[t('queue.number'), t('doctor.worklist.id'), t('doctor.worklist.patient'), t('doctor.worklist.status'), t('doctor.worklist.updatedAt'), t('doctor.worklist.actions')]}
      list={worklist}
      empty={t('doctor.worklist.empty')}
      renderRow={(diagnosis) => (
        <tr
          key={diagnosis.id}
          data-diagnosis-id={diagnosis.id}
          data-reception-id={diagnosis.receptionId}
          data-status={diagnosis.status}
          data-queue-number={diagnosis.queueNumber}
          className={diagnosis.id === selectedId ? 'selected' : undefined}
        >
          <td className="queue-number-cell">
            <QueueNumber number={diagnosis.queueNumber} />
          </td>
          <th scope="row">#{diagnosis.id}</th>
          <td>
            <span className="primary-text">{diagnosis.patientName}</span>
            <span className="secondary-text">{diagnosis.patientId}</span>
          </td>
          <td>
            <StatusText kind="diagnosis" status={diagnosis.status} />
            <CallState state={diagnosis} roomKind="consulting" />
          </td>
          <td>{time(diagnosis.updatedAt)}</td>
          <td>
            <div className="row-actions">
              <button
                type="button"
                className="button secondary"
                aria-pressed={diagnosis.id === selectedId}
                aria-label={t('common.rowAction', { action: t('common.select'), name: diagnosis.patientName, id: diagnosis.id })}
                onClick={() => onSelect(diagnosis.id)}
              >
                {t('common.select')}
              </button>
              <DiagnosisCallActions diagnosis={diagnosis} room={room.sent} inRow onChanged={onChanged} />
            </div>
          </td>
        </tr>
      )}
    >
      {children}
    </WorklistTable>
  );
}
