import { useTranslation } from 'react-i18next';
import type { PageOf } from '@medical/contracts/api';
import { describeLoadFailure } from '../../api/describeError.ts';
import type { AccessLogEntry } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { Pager } from './Pager.tsx';

type AccessLogTableProps = {
  /** The patient searched for, or undefined before the first search. */
  patientId: string | undefined;
  /** The page of that patient's log, once it has loaded. */
  answer: PageOf<AccessLogEntry> | undefined;
  loading: boolean;
  error: unknown;
  onPage: (page: number) => void;
};

const columns = ['at', 'who', 'role', 'action', 'request', 'status', 'visit', 'breakGlass', 'requestId'] as const;

/** One page of the access log as a table, with the pages around it. */
export function AccessLogTable({ patientId, answer, loading, error, onPage }: AccessLogTableProps) {
  const { t } = useTranslation();
  return (
    <section className="card access-log" aria-labelledby="access-log-heading" data-patient-id={patientId}>
      <h2 id="access-log-heading">{patientId === undefined ? t('accessLog.title') : t('accessLog.heading', { patientId })}</h2>
      <ErrorAlert message={describeLoadFailure(error, t)} />
      {patientId === undefined && <p className="empty">{t('accessLog.notSearched')}</p>}
      {patientId !== undefined && !answer && loading && <p className="empty">{t('accessLog.loading')}</p>}
      {answer && answer.total === 0 && <p className="empty">{t('accessLog.empty')}</p>}
      {answer && answer.total > 0 && (
        <>
          <DataTable labelledBy="access-log-heading" columns={columns.map((column) => t(`accessLog.columns.${column}`))} busy={loading}>
            {answer.items.map((entry, index) => (
              // One request may be two lines (two visits it showed); the index keeps keys apart.
              <AccessLogRow key={`${entry.requestId}:${entry.receptionId ?? ''}:${index}`} entry={entry} />
            ))}
          </DataTable>
          <Pager page={answer.page} size={answer.size} total={answer.total} onPage={onPage} />
        </>
      )}
    </section>
  );
}

function AccessLogRow({ entry }: { entry: AccessLogEntry }) {
  const { t } = useTranslation();
  const { dateTime } = useHospitalTime();
  const none = <span className="secondary-text">{t('accessLog.noValue')}</span>;
  return (
    <tr
      data-request-id={entry.requestId}
      data-action={entry.action}
      data-subject={entry.subject}
      data-reception-id={entry.receptionId}
      className={entry.action === 'refused' ? 'access-refused' : undefined}
    >
      <th scope="row">
        <time dateTime={entry.at}>{dateTime(entry.at)}</time>
      </th>
      <td>
        <span className="primary-text">{entry.name ?? entry.subject}</span>
        {entry.name !== undefined && <span className="secondary-text">{entry.subject}</span>}
      </td>
      <td>{t(`role.${entry.role}`)}</td>
      <td>
        {/* The words say refused; the mark only repeats them. */}
        <span className={`status access-action-${entry.action}`}>{t(`accessLog.actions.${entry.action}`)}</span>
      </td>
      <td>
        <code className="request-route">
          {entry.method} {entry.route}
        </code>
      </td>
      <td>
        <span className="primary-text">{entry.status}</span>
        <span className="secondary-text">{t(`accessLog.services.${entry.service}`, { defaultValue: entry.service })}</span>
      </td>
      <td>{entry.receptionId === undefined ? none : `#${entry.receptionId}`}</td>
      <td>{entry.breakGlassReason === undefined ? none : <span className="break-glass-reason">{entry.breakGlassReason}</span>}</td>
      <td>
        <code className="request-id">{entry.requestId}</code>
      </td>
    </tr>
  );
}
