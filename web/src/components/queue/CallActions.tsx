import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../ErrorAlert.tsx';
import { useToast } from '../Toasts.tsx';
import { useSubmission } from '../../forms/useSubmission.ts';
import { isCalled, type QueueState } from './queueState.ts';

/** A write of the submission (useSubmission): its Idempotency-Key, and how to replace it after a break-glass refusal. */
type Write<T> = (idempotencyKey: string, newKey: () => string) => Promise<T>;

type CallActionsProps<T extends QueueState> = {
  state: QueueState;
  patientName: string;
  /** In a worklist's row, the record's id: the buttons are then named for the row ("Call — 김민지 (#12)"). */
  rowId?: number;
  call: Write<T>;
  noShow: Write<T>;
  /** The answer, once the server accepted the call or the mark. */
  onDone: (answer: T) => void;
};

/**
 * Calling a patient in: Call while not yet called, Recall once called (a patient who did not come
 * is called again the same way, which clears the mark), and No-show once called and not yet
 * marked. Each press is a submission of its own (a recall is a new call, not a retry); a refusal
 * (a 409: the diagnosis was completed meanwhile, say) shows under the buttons.
 */
export function CallActions<T extends QueueState>({ state, patientName, rowId, call, noShow, onDone }: CallActionsProps<T>) {
  const { t } = useTranslation();
  const notify = useToast();
  const calling = useSubmission();
  const marking = useSubmission();
  const called = isCalled(state);
  const busy = calling.submitting || marking.submitting;
  const named = (action: string) => (rowId === undefined ? undefined : t('common.rowAction', { action, name: patientName, id: rowId }));

  async function send(submission: typeof calling, write: Write<T>, done: string) {
    const answer = await submission.submit(write);
    if (!answer) return;
    (submission === calling ? marking : calling).reset();
    notify(done);
    onDone(answer);
  }

  const callLabel = called ? t('queue.recall') : t('queue.call');
  return (
    <>
      <button
        type="button"
        className={`button ${called ? 'secondary' : 'primary'}`}
        disabled={busy}
        aria-label={named(callLabel)}
        data-action={called ? 'recall' : 'call'}
        onClick={() => void send(calling, call, t('queue.calledToast', { name: patientName }))}
      >
        {callLabel}
      </button>
      {called && state.noShowAt === undefined && (
        <button
          type="button"
          className="button secondary"
          disabled={busy}
          aria-label={named(t('queue.noShow'))}
          data-action="no-show"
          onClick={() => void send(marking, noShow, t('queue.noShowToast', { name: patientName }))}
        >
          {t('queue.noShow')}
        </button>
      )}
      <ErrorAlert message={calling.error ?? marking.error} />
    </>
  );
}
