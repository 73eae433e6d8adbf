import { useTranslation } from 'react-i18next';
import { useLiveStatus } from '../live/LiveContext.tsx';

/**
 * The stream's state in words ("실시간" / "재연결 중"), the dot only repeating it. A polite live
 * region but not role=status, which belongs to the toasts alone.
 */
export function LiveIndicator() {
  const { t } = useTranslation();
  const status = useLiveStatus();
  return (
    <p className={`live live-${status}`} aria-live="polite" data-live-status={status}>
      <span className="visually-hidden">{t('live.label')}: </span>
      <span className="live-dot" aria-hidden="true" />
      {t(`live.${status}`)}
    </p>
  );
}
