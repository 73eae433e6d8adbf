import { useTranslation } from 'react-i18next';

type StatusKind = 'reception' | 'diagnosis' | 'examination';

/**
 * A status as words (translated), with a tone class for the border: the colour only repeats
 * what the text says, so nobody needs to tell colours apart.
 */
export function StatusText({ kind, status }: { kind: StatusKind; status: string }) {
  const { t } = useTranslation();
  return <span className={`status status-${status.toLowerCase().replace(/_/g, '-')}`}>{t(`status.${kind}.${status}`)}</span>;
}

export function StageText({ stage }: { stage: string }) {
  const { t } = useTranslation();
  return <span className={`status status-${stage.toLowerCase().replace(/_/g, '-')}`}>{t(`stage.${stage}`)}</span>;
}
