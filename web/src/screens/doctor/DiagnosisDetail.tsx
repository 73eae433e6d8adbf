import { useTranslation } from 'react-i18next';
import { completeDiagnosis, rejectDiagnosis } from '../../api/endpoints.ts';
import { describeError } from '../../api/describeError.ts';
import { openDiagnosisStatuses, type DiagnosisView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { StatusText } from '../../components/StatusText.tsx';
import type { Loaded } from '../../hooks/useLoader.ts';
import { PrescribeForm } from './PrescribeForm.tsx';
import { PrescriptionList } from './PrescriptionList.tsx';
import { RequiredTextForm } from './RequiredTextForm.tsx';

type DetailProps = { detail: Loaded<DiagnosisView | undefined>; selectedId: number | null; liveRound: number; onChanged: () => void };

/** The selected diagnosis: the patient, the prescriptions with results and attachments, and the doctor's decisions. */
export function DiagnosisDetail({ detail, selectedId, liveRound, onChanged }: DetailProps) {
  const { t } = useTranslation();
  const diagnosis = detail.data && detail.data.id === selectedId ? detail.data : undefined;
  const loadError = detail.error ? describeError(detail.error, t) : undefined;

  if (selectedId === null || !diagnosis) {
    return (
      <section className="card wide" aria-labelledby="diagnosis-heading">
        <h2 id="diagnosis-heading">{t('doctor.detail.title')}</h2>
        <ErrorAlert message={loadError} />
        <p className="empty">{selectedId === null ? t('doctor.detail.none') : t('doctor.detail.loading')}</p>
      </section>
    );
  }

  const open = (openDiagnosisStatuses as readonly string[]).includes(diagnosis.status);
  return (
    <section className="card wide" aria-labelledby="diagnosis-heading" data-diagnosis-id={diagnosis.id}>
      <h2 id="diagnosis-heading">{t('doctor.detail.heading', { id: diagnosis.id, name: diagnosis.patientName })}</h2>
      <ErrorAlert message={loadError} />
      <dl className="facts">
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
      <PrescriptionList prescriptions={diagnosis.prescriptions} liveRound={liveRound} />
      {open && (
        <div className="decisions">
          <PrescribeForm diagnosisId={diagnosis.id} onPrescribed={onChanged} />
          <RequiredTextForm
            id="complete"
            heading={t('doctor.complete.heading')}
            label={t('doctor.complete.opinion')}
            submitLabel={t('doctor.complete.submit')}
            field="opinion"
            write={(opinion, key) => completeDiagnosis(diagnosis.id, opinion, key)}
            doneMessage={t('doctor.complete.done', { id: diagnosis.id })}
            onDone={onChanged}
          />
          <RequiredTextForm
            id="reject"
            heading={t('doctor.reject.heading')}
            label={t('doctor.reject.reason')}
            submitLabel={t('doctor.reject.submit')}
            field="reason"
            danger
            write={(reason, key) => rejectDiagnosis(diagnosis.id, reason, key)}
            doneMessage={t('doctor.reject.done', { id: diagnosis.id })}
            onDone={onChanged}
          />
        </div>
      )}
    </section>
  );
}
