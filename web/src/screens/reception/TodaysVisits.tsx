import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { confirmReception } from '../../api/endpoints.ts';
import { confirmableReceptionStatuses, type ReceptionView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { QueueNumber } from '../../components/queue/QueueNumber.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { WorklistTable } from '../../components/WorklistTable.tsx';
import { useSubmission } from '../../forms/useSubmission.ts';
import type { Loaded } from '../../hooks/useLoader.ts';
import { useDepartments } from '../../i18n/departments.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { CancelReceptionDialog } from './CancelReceptionDialog.tsx';
import { hasTicket } from './QueueTicket.tsx';

type TodaysVisitsProps = {
  visits: Loaded<ReceptionView[]>;
  /** Shows a waiting visit's ticket again, to print it (a ticket lost, the printer out of paper). */
  onTicket: (reception: ReceptionView) => void;
};

/** Today's visits, newest on top, each with its queue number, and the desk's actions on the rows that allow them. */
export function TodaysVisits({ visits, onTicket }: TodaysVisitsProps) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const departments = useDepartments();
  const [cancelling, setCancelling] = useState<ReceptionView | null>(null);

  return (
    <WorklistTable
      headingId="todays-visits-heading"
      heading={t('reception.list.heading')}
      columns={[
        t('queue.number'),
        t('reception.list.id'),
        t('reception.list.receivedAt'),
        t('reception.list.patient'),
        t('reception.list.department'),
        t('reception.list.status'),
        t('reception.list.outcome'),
        t('reception.list.actions'),
      ]}
      list={visits}
      empty={t('reception.list.empty')}
      renderRow={(reception) => (
        <tr key={reception.id} data-reception-id={reception.id} data-status={reception.status} data-queue-number={reception.queueNumber}>
          <td className="queue-number-cell">
            <QueueNumber number={reception.queueNumber} />
          </td>
          <th scope="row">#{reception.id}</th>
          <td>{time(reception.receivedAt ?? reception.createdAt)}</td>
          <td>
            <span className="primary-text">{reception.patientName}</span>
            <span className="secondary-text">{reception.patientId}</span>
          </td>
          <td>{departments.name(reception.department)}</td>
          <td>
            <StatusText kind="reception" status={reception.status} />
          </td>
          <td className="clinical-text">{reception.diagnosisOpinion ?? reception.diagnosisRejectReason ?? reception.cancelReason ?? ''}</td>
          <td>
            <div className="row-actions">
              {reception.status === 'RECEIVED' && hasTicket(reception) && (
                <button
                  type="button"
                  className="button secondary"
                  aria-label={t('common.rowAction', { action: t('reception.ticket.show'), name: reception.patientName, id: reception.id })}
                  onClick={() => onTicket(reception)}
                >
                  {t('reception.ticket.show')}
                </button>
              )}
              {reception.status === 'RECEIVED' && (
                <button
                  type="button"
                  className="button danger"
                  aria-label={t('common.rowAction', { action: t('reception.cancel'), name: reception.patientName, id: reception.id })}
                  onClick={() => setCancelling(reception)}
                >
                  {t('reception.cancel')}
                </button>
              )}
              {(confirmableReceptionStatuses as readonly string[]).includes(reception.status) && (
                <ConfirmButton reception={reception} onConfirmed={visits.reload} />
              )}
            </div>
          </td>
        </tr>
      )}
    >
      {cancelling && (
        <CancelReceptionDialog
          reception={cancelling}
          onClose={() => setCancelling(null)}
          onCancelled={() => {
            setCancelling(null);
            visits.reload();
          }}
        />
      )}
    </WorklistTable>
  );
}

/** Confirms the doctor's outcome of one visit; its failure (a 409, say) shows under the button. */
function ConfirmButton({ reception, onConfirmed }: { reception: ReceptionView; onConfirmed: () => void }) {
  const { t } = useTranslation();
  const notify = useToast();
  const submission = useSubmission();
  async function confirm() {
    const confirmed = await submission.submit((key) => confirmReception(reception.id, key));
    if (!confirmed) return;
    notify(t('reception.confirmed', { id: reception.id }));
    onConfirmed();
  }
  return (
    <>
      <button
        type="button"
        className="button primary"
        disabled={submission.submitting}
        aria-label={t('common.rowAction', { action: t('reception.confirm'), name: reception.patientName, id: reception.id })}
        onClick={() => void confirm()}
      >
        {t('reception.confirm')}
      </button>
      <ErrorAlert message={submission.error} />
    </>
  );
}
