import { useTranslation } from 'react-i18next';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';
import { isCalled, type QueueState } from './queueState.ts';

/** Which kind of room a call names: the doctor's consulting room, or an examination room. */
export type RoomKind = 'consulting' | 'examination';

/**
 * How a patient stands in the queue, in words under their status: "Called 10:32 · room 3",
 * "Recalled 10:40 (2 calls) · room 3", "No-show 10:45". Nothing while not yet called.
 */
export function CallState({ state, roomKind }: { state: QueueState; roomKind: RoomKind }) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  if (!isCalled(state)) return null;
  const count = Math.max(state.callCount ?? 1, 1);
  const noShow = state.noShowAt;
  const parts = [
    noShow !== undefined
      ? t('queue.state.noShow', { time: time(noShow) })
      : count > 1
        ? t('queue.state.recalled', { time: time(state.calledAt), count })
        : t('queue.state.called', { time: time(state.calledAt) }),
  ];
  if (state.room && noShow === undefined) parts.push(t(`queue.state.${roomKind}Room`, { room: state.room }));
  return (
    <span className={`secondary-text call-state${noShow !== undefined ? ' call-state-no-show' : ''}`} data-call-count={count} data-no-show={noShow !== undefined || undefined}>
      {parts.join(' · ')}
    </span>
  );
}
