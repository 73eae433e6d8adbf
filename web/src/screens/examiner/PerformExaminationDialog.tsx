import { useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { performExamination, uploadAttachment } from '../../api/endpoints.ts';
import { attachmentContentTypes, type ExaminationView } from '../../api/types.ts';
import { Dialog } from '../../components/Dialog.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { useToast } from '../../components/Toasts.tsx';
import { limits } from '../../forms/limits.ts';
import { useSubmission } from '../../forms/useSubmission.ts';
import { checkAttachment, checkText, hasErrors } from '../../forms/validation.ts';
import { useExaminations } from '../../i18n/examinations.ts';

type PerformProps = { examination: ExaminationView; onClose: () => void; onDone: () => void };

/**
 * Records an examination's result, with an optional report or image. The attachment goes first:
 * once performed, the doctor may read the result at once and should find the file with it.
 */
export function PerformExaminationDialog({ examination, onClose, onDone }: PerformProps) {
  const { t } = useTranslation();
  const examinations = useExaminations();
  const notify = useToast();
  const upload = useSubmission();
  const perform = useSubmission();
  const [result, setResult] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  // An attachment already stored is not uploaded again when only the perform step is retried.
  const uploaded = useRef<File | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const found = { result: checkText(result, { required: true, max: limits.clinicalText }, t), file: checkAttachment(file, t) };
    setErrors(found);
    if (hasErrors(found)) return;
    if (file && uploaded.current !== file) {
      const stored = await upload.submit((key) => uploadAttachment(examination.id, file, key));
      if (!stored) return;
      uploaded.current = file;
    }
    const performed = await perform.submit((key) => performExamination(examination.id, result.trim(), key));
    if (!performed) return;
    notify(t('examiner.performed', { id: examination.id }));
    onDone();
  }

  const fileErrorId = 'perform-file-error';
  return (
    <Dialog title={t('examiner.performDialog.title', { type: examinations.name(examination.examinationType), name: examination.patientName, id: examination.id })} onClose={onClose}>
      <form className="form" onSubmit={onSubmit} noValidate>
        <Field id="perform-result" multiline required label={t('examiner.performDialog.result')} value={result} onChange={setResult} error={errors.result ?? perform.fieldErrors.result} />
        <div className={`field${errors.file ? ' field-invalid' : ''}`}>
          <label htmlFor="perform-file">
            {t('examiner.performDialog.file')} <span className="field-marker">{t('common.optional')}</span>
          </label>
          <p id="perform-file-hint" className="field-hint">
            {t('examiner.performDialog.fileHint')}
          </p>
          <input
            id="perform-file"
            name="file"
            type="file"
            accept={attachmentContentTypes.join(',')}
            aria-describedby={errors.file ? `perform-file-hint ${fileErrorId}` : 'perform-file-hint'}
            aria-invalid={errors.file ? true : undefined}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
          />
          {errors.file && (
            <p id={fileErrorId} className="field-error">
              {errors.file}
            </p>
          )}
        </div>
        {upload.submitting && <p className="hint">{t('examiner.performDialog.uploading')}</p>}
        <ErrorAlert message={upload.error ?? perform.error} />
        <button type="submit" className="button primary" disabled={upload.submitting || perform.submitting}>
          {t('examiner.performDialog.submit')}
        </button>
      </form>
    </Dialog>
  );
}
