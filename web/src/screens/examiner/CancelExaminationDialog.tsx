import { useTranslation } from 'react-i18next';
import { cancelExamination } from '../../api/endpoints.ts';
import type { ExaminationView } from '../../api/types.ts';
import { ReasonDialog } from '../../components/ReasonDialog.tsx';
import { useExaminations } from '../../i18n/examinations.ts';

/** Cancels a requested examination, with an optional reason. */
export function CancelExaminationDialog({ examination, onClose, onDone }: { examination: ExaminationView; onClose: () => void; onDone: () => void }) {
  const { t } = useTranslation();
  const examinations = useExaminations();
  return (
    <ReasonDialog
      title={t('examiner.cancelDialog.title', { type: examinations.name(examination.examinationType), name: examination.patientName, id: examination.id })}
      fieldId="cancel-examination-reason"
      label={t('examiner.cancelDialog.reason')}
      submitLabel={t('examiner.cancelDialog.submit')}
      doneMessage={t('examiner.cancelled', { id: examination.id })}
      submit={(reason, key) => cancelExamination(examination.id, reason, key)}
      onClose={onClose}
      onDone={onDone}
    />
  );
}
