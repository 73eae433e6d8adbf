import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { downloadAttachment, listAttachments } from '../../api/endpoints.ts';
import type { AttachmentView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useLoader } from '../../hooks/useLoader.ts';
import { useExaminations } from '../../i18n/examinations.ts';
import { AttachmentImage } from './AttachmentImage.tsx';
import { openBlob, saveBlob } from './blobActions.ts';

type AttachmentListProps = { examinationId: number; examinationType: string; liveRound: number };

/** An examination's reports and images: images inline, every file openable and downloadable. */
export function AttachmentList({ examinationId, examinationType, liveRound }: AttachmentListProps) {
  const { t, i18n } = useTranslation();
  const examinations = useExaminations();
  // liveRound: reload when the stream says something changed (an attachment may have arrived).
  const attachments = useLoader((signal) => listAttachments(examinationId, signal), [examinationId, liveRound]);
  const [fetchFailed, setFetchFailed] = useState(false);
  const fetchThen = (name: string, use: (blob: Blob) => void) => {
    setFetchFailed(false);
    downloadAttachment(examinationId, name).then(use, () => setFetchFailed(true));
  };
  if (attachments.error) return <ErrorAlert message={t('doctor.attachments.loadFailed')} />;
  if (!attachments.data) return null;
  if (attachments.data.length === 0) return <p className="secondary-text">{t('doctor.attachments.empty')}</p>;
  return (
    <>
    {fetchFailed && <ErrorAlert message={t('doctor.attachments.loadFailed')} />}
    <ul className="attachments" data-examination-id={examinationId}>
      {attachments.data.map((attachment) => (
        <li key={attachment.name} data-attachment-name={attachment.name}>
          {attachment.contentType.startsWith('image/') && (
            <AttachmentImage examinationId={examinationId} attachment={attachment} alt={t('doctor.attachments.imageAlt', { type: examinations.name(examinationType), filename: attachment.filename })} />
          )}
          <span className="attachment-name">{attachment.filename}</span>
          <span className="secondary-text">{formatSize(attachment, i18n.language)}</span>
          <div className="row-actions">
            <button
              type="button"
              className="button secondary"
              aria-label={`${t('doctor.attachments.open')} — ${attachment.filename}`}
              onClick={() => fetchThen(attachment.name, openBlob)}
            >
              {t('doctor.attachments.open')}
            </button>
            <button
              type="button"
              className="button secondary"
              aria-label={`${t('doctor.attachments.download')} — ${attachment.filename}`}
              onClick={() => fetchThen(attachment.name, (blob) => saveBlob(blob, attachment.filename))}
            >
              {t('doctor.attachments.download')}
            </button>
          </div>
        </li>
      ))}
    </ul>
    </>
  );
}

/** The size in the language's own units (Intl), not a hard-coded "KB". */
function formatSize(attachment: AttachmentView, language: string): string {
  const kib = attachment.size / 1024;
  const [value, unit] = kib < 1024 ? [Math.max(1, Math.round(kib)), 'kilobyte'] : [kib / 1024, 'megabyte'];
  return new Intl.NumberFormat(language, { style: 'unit', unit, maximumFractionDigits: 1 }).format(value);
}
