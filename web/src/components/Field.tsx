import { useTranslation } from 'react-i18next';

type FieldProps = {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** When the field loses the focus (a value tidied into its format, say). */
  onBlur?: () => void;
  error?: string | undefined;
  hint?: string;
  required?: boolean;
  multiline?: boolean;
  type?: 'text' | 'password' | 'search';
  autoComplete?: string;
  maxLength?: number;
  inputMode?: 'text' | 'numeric' | 'tel';
  /** Whether the label says "(required)"/"(optional)"; a search box is neither. */
  marker?: boolean;
};

/**
 * A labelled text field with its hint and error tied to it (aria-describedby, aria-invalid), so
 * a screen reader reads the error with the field. The label says "(required)"/"(optional)".
 */
export function Field({ id, label, value, onChange, onBlur, error, hint, required = false, multiline = false, type = 'text', autoComplete, maxLength, inputMode, marker = true }: FieldProps) {
  const { t } = useTranslation();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: id,
    value,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
    'aria-required': required || undefined,
    maxLength,
  } as const;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {marker && <span className="field-marker"> {required ? t('common.required') : t('common.optional')}</span>}
      </label>
      {hint && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
      {multiline ? (
        <textarea {...common} rows={3} onChange={(event) => onChange(event.target.value)} />
      ) : (
        <input {...common} type={type} autoComplete={autoComplete} inputMode={inputMode} onChange={(event) => onChange(event.target.value)} onBlur={onBlur} />
      )}
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
