import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { completeDiagnosis, rejectDiagnosis } from '../../api/endpoints.ts';
import { describeError } from '../../api/describeError.ts';
import { ApiError } from '../../api/problem.ts';
import { openDiagnosisStatuses, type DiagnosisView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { CallState } from '../../components/queue/CallState.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import { useDepartments } from '../../i18n/departments.ts';
import { useBreakGlass } from './BreakGlass.tsx';
import { DiagnosisCallActions } from './DiagnosisCallActions.tsx';
import { PrescribeForm } from './PrescribeForm.tsx';
import { PrescriptionList } from './PrescriptionList.tsx';
import { RequiredTextForm } from './RequiredTextForm.tsx';
import type { DiagnosisDetail as Detail } from './useDiagnosisDetail.ts';

type DetailProps = {
  detail: Pick<Detail, 'selectedId' | 'shown' | 'error'>;
  liveRound: number;
  /** The room the doctor's calls name (the worklist's field), undefined when none is set. */
  room: string | undefined;
  /** A decision or a call was taken; the diagnosis as the server answered it. */
  onChanged: (view: DiagnosisView) => void;
  /** Opens the diagnosis again (one opened in an emergency: asking for the reason again). */
  onReopen: (id: number) => void;
};

/** Why the selected diagnosis could not be loaded: "no such diagnosis" in the console's words, else the server's. */
function loadFailure(error: unknown, id: number | null, t: TFunction): string | undefined {
  if (!error) return undefined;
  if (error instanceof ApiError && error.status === 404 && id !== null) return t('doctor.detail.notFound', { id });
  return describeError(error, t);
}

/** The selected diagnosis: the patient, the prescriptions with results and attachments, and the doctor's decisions. */
export function DiagnosisDetail({ detail, liveRound, room, onChanged, onReopen }: DetailProps) {
  const { t } = useTranslation();
  const departments = useDepartments();
  const breakGlass = useBreakGlass();
  const { selectedId, shown } = detail;
  const diagnosis = shown && shown.view.id === selectedId ? shown.view : undefined;
  const loadError = loadFailure(detail.error, selectedId, t);

  if (selectedId === null || !diagnosis || !shown) {
    return (
      <section className="card wide" aria-labelledby="diagnosis-heading">
        <h2 id="diagnosis-heading">{t('doctor.detail.title')}</h2>
        <ErrorAlert message={loadError} />
        {!loadError && <p className="empty">{selectedId === null ? t('doctor.detail.none') : t('doctor.detail.loading')}</p>}
      </section>
    );
  }

  // A decision on the diagnosis: sent with this form's key, and again with a new key and the
  // doctor's reason when it is another department's (the first key keeps its refusal).
  const decide = <T,>(key: string, newKey: () => string, send: (key: string, reason?: string) => Promise<T>) =>
    breakGlass(diagnosis.id, (reason) => (reason === undefined ? send(key) : send(newKey(), reason)));

  const open = (openDiagnosisStatuses as readonly string[]).includes(diagnosis.status);
  // Completion is refused while a prescription is still requested (DESIGN section 5): not offered then.
  const stillRequested = diagnosis.prescriptions.filter((p) => p.status === 'REQUESTED').length;
  return (
    <section className="card wide" aria-labelledby="diagnosis-heading" data-diagnosis-id={diagnosis.id}>
      <h2 id="diagnosis-heading">{t('doctor.detail.heading', { id: diagnosis.id, name: diagnosis.patientName })}</h2>
      <ErrorAlert message={loadError} />
      {shown.emergency && (
        <div className="emergency-notice" data-emergency="true">
          <p>{t('doctor.breakGlass.notice', { department: departments.name(diagnosis.department) || t('doctor.breakGlass.anotherDepartment') })}</p>
          {shown.changed && <p className="emergency-changed">{t('doctor.breakGlass.changed')}</p>}
          <button type="button" className="button secondary" onClick={() => onReopen(diagnosis.id)}>
            {t('doctor.breakGlass.reopen')}
          </button>
        </div>
      )}
      <dl className="facts">
        {diagnosis.queueNumber !== undefined && (
          <div>
            <dt>{t('queue.number')}</dt>
            <dd className="queue-number">{diagnosis.queueNumber}</dd>
          </div>
        )}
        <div>
          <dt>{t('doctor.detail.patientId')}</dt>
          <dd>{diagnosis.patientId}</dd>
        </div>
        <div>
          <dt>{t('doctor.detail.receptionId')}</dt>
          <dd>#{diagnosis.receptionId}</dd>
        </div>
        <div>
          <dt>{t('doctor.detail.status')}</dt>
          <dd>
            <StatusText kind="diagnosis" status={diagnosis.status} />
            <CallState state={diagnosis} roomKind="consulting" />
          </dd>
        </div>
        {diagnosis.opinion && (
          <div>
            <dt>{t('doctor.detail.opinion')}</dt>
            <dd className="clinical-text">{diagnosis.opinion}</dd>
          </div>
        )}
        {diagnosis.rejectReason && (
          <div>
            <dt>{t('doctor.detail.rejectReason')}</dt>
            <dd className="clinical-text">{diagnosis.rejectReason}</dd>
          </div>
        )}
      </dl>
      {open && (
        <div className="row-actions detail-calls">
          <DiagnosisCallActions diagnosis={diagnosis} room={room} onChanged={onChanged} />
        </div>
      )}
      <PrescriptionList prescriptions={diagnosis.prescriptions} liveRound={liveRound} />
      {open && (
        <div className="decisions">
          <PrescribeForm diagnosisId={diagnosis.id} decide={decide} onPrescribed={onChanged} />
          <RequiredTextForm
            id="complete"
            heading={t('doctor.complete.heading')}
            label={t('doctor.complete.opinion')}
            submitLabel={t('doctor.complete.submit')}
            field="opinion"
            write={(opinion, key, newKey) => decide(key, newKey, (sent, reason) => completeDiagnosis(diagnosis.id, opinion, sent, reason))}
            doneMessage={t('doctor.complete.done', { id: diagnosis.id })}
            onDone={onChanged}
            blockedReason={stillRequested > 0 ? t('doctor.complete.blocked', { count: stillRequested }) : undefined}
          />
          <RequiredTextForm
            id="reject"
            heading={t('doctor.reject.heading')}
            label={t('doctor.reject.reason')}
            submitLabel={t('doctor.reject.submit')}
            field="reason"
            danger
            write={(text, key, newKey) => decide(key, newKey, (sent, reason) => rejectDiagnosis(diagnosis.id, text, sent, reason))}
            doneMessage={t('doctor.reject.done', { id: diagnosis.id })}
            onDone={onChanged}
          />
        </div>
      )}
    </section>
  );
}
