import { useTranslation } from 'react-i18next';
import { cancelReception } from '../../api/endpoints.ts';
import type { ReceptionView } from '../../api/types.ts';
import { ReasonDialog } from '../../components/ReasonDialog.tsx';

/** Cancels a visit still RECEIVED, with an optional reason. */
export function CancelReceptionDialog({ reception, onClose, onCancelled }: { reception: ReceptionView; onClose: () => void; onCancelled: () => void }) {
  const { t } = useTranslation();
  return (
    <ReasonDialog
      title={t('reception.cancelDialog.title', { name: reception.patientName, id: reception.id })}
      fieldId="cancel-reception-reason"
      label={t('reception.cancelDialog.reason')}
      submitLabel={t('reception.cancelDialog.submit')}
      doneMessage={t('reception.cancelled', { id: reception.id })}
      submit={(reason, key) => cancelReception(reception.id, reason, key)}
      onClose={onClose}
      onDone={onCancelled}
    />
  );
}
