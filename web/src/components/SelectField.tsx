import { useTranslation } from 'react-i18next';

type SelectFieldProps = {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  /** The choices, in the order shown: the value sent, and the text the user reads. */
  options: readonly { value: string; label: string }[];
  error?: string | undefined;
  required?: boolean;
};

/**
 * A labelled list to choose from (a native <select>, so the keyboard, screen readers and tablets
 * handle it as they do everywhere), with its error tied to it as Field ties a text field's, and the
 * label's "(required)"/"(optional)" marker.
 */
export function SelectField({ id, label, value, onChange, options, error, required = false }: SelectFieldProps) {
  const { t } = useTranslation();
  const errorId = `${id}-error`;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        <span className="field-marker"> {required ? t('common.required') : t('common.optional')}</span>
      </label>
      <select
        id={id}
        name={id}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        aria-required={required || undefined}
        onChange={(event) => onChange(event.target.value)}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {error && (
        <p id={errorId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
